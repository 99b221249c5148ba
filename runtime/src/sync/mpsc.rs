//! Multi-producer, single-consumer channels (tokio's `mpsc`), bounded and unbounded, with
//! the waits named `mpsc::Receiver::recv` and `mpsc::Sender::send` (on a full channel).
//!
//! ```
//! # goro::Runtime::new().unwrap().block_on(async {
//! let (tx, mut rx) = goro::sync::mpsc::channel(8);
//! for i in 0..3 {
//!     let tx = tx.clone();
//!     goro::spawn(async move { tx.send(i).await.unwrap() });
//! }
//! drop(tx);
//! let mut sum = 0;
//! while let Some(i) = rx.recv().await {
//!     sum += i;
//! }
//! assert_eq!(sum, 3);
//! # });
//! ```

use super::leaf::{leaf, poll_wait, Leaf};
use goro_stats::WaitOp;
use std::future::Future;
use std::panic::Location;
use std::task::{Context, Poll};

pub use tokio::sync::mpsc::{error, OwnedPermit, Permit};

/// A bounded channel of `buffer` messages; `send` waits while it is full.
///
/// # Panics
/// If `buffer` is 0 (as tokio's).
#[track_caller]
pub fn channel<T>(buffer: usize) -> (Sender<T>, Receiver<T>) {
    assert!(
        buffer > 0,
        "goro::sync::mpsc::channel: buffer must be at least 1"
    );
    let (tx, rx) = tokio::sync::mpsc::channel(buffer);
    (Sender { inner: tx }, Receiver { inner: rx })
}

/// An unbounded channel: `send` never waits.
pub fn unbounded_channel<T>() -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    (
        UnboundedSender { inner: tx },
        UnboundedReceiver { inner: rx },
    )
}

/// Sends into a bounded channel; clone it for more producers.
#[derive(Debug)]
pub struct Sender<T> {
    inner: tokio::sync::mpsc::Sender<T>,
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender {
            inner: self.inner.clone(),
        }
    }
}

impl<T> Sender<T> {
    /// Sends `value`, waiting (as `mpsc::Sender::send`) while the channel is full; gives it
    /// back if the receiver is gone.
    #[track_caller]
    pub fn send(
        &self,
        value: T,
    ) -> Leaf<impl Future<Output = Result<(), error::SendError<T>>> + '_> {
        leaf(WaitOp::MpscSend, self.inner.send(value))
    }

    /// Sends `value` if there is room.
    pub fn try_send(&self, value: T) -> Result<(), error::TrySendError<T>> {
        self.inner.try_send(value)
    }

    /// Waits (as `mpsc::Sender::send`) for room for one message, and reserves it.
    #[track_caller]
    pub fn reserve(
        &self,
    ) -> Leaf<impl Future<Output = Result<Permit<'_, T>, error::SendError<()>>> + '_> {
        leaf(WaitOp::MpscSend, self.inner.reserve())
    }

    /// [`reserve`](Sender::reserve), keeping a clone of the sender in the permit.
    #[track_caller]
    pub fn reserve_owned(
        self,
    ) -> Leaf<impl Future<Output = Result<OwnedPermit<T>, error::SendError<()>>>> {
        leaf(WaitOp::MpscSend, self.inner.reserve_owned())
    }

    /// Reserves room for one message if there is some.
    pub fn try_reserve(&self) -> Result<Permit<'_, T>, error::TrySendError<()>> {
        self.inner.try_reserve()
    }

    /// Waits (as `mpsc::Sender::closed`) until the receiver is dropped or closed.
    #[track_caller]
    pub fn closed(&self) -> Leaf<impl Future<Output = ()> + '_> {
        leaf(WaitOp::MpscClosed, self.inner.closed())
    }

    /// Whether the receiver is gone.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Room left now.
    pub fn capacity(&self) -> usize {
        self.inner.capacity()
    }

    /// The channel's buffer size.
    pub fn max_capacity(&self) -> usize {
        self.inner.max_capacity()
    }

    /// Whether both senders send into the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        self.inner.same_channel(&other.inner)
    }
}

/// Receives from a bounded channel.
#[derive(Debug)]
pub struct Receiver<T> {
    inner: tokio::sync::mpsc::Receiver<T>,
}

/// The methods both receivers share, on `$inner` (tokio's receiver of the same kind).
macro_rules! receiver_methods {
    () => {
        /// Waits (as `mpsc::Receiver::recv`) for the next message; `None` once every
        /// sender is gone and the buffer is empty.
        #[track_caller]
        pub fn recv(&mut self) -> Leaf<impl Future<Output = Option<T>> + '_> {
            leaf(WaitOp::MpscRecv, self.inner.recv())
        }

        /// Waits for at least one message and moves up to `limit` into `buffer`; returns
        /// how many (0: the channel is closed and empty, or `limit` is 0).
        #[track_caller]
        pub fn recv_many<'a>(
            &'a mut self,
            buffer: &'a mut Vec<T>,
            limit: usize,
        ) -> Leaf<impl Future<Output = usize> + 'a> {
            leaf(WaitOp::MpscRecv, self.inner.recv_many(buffer, limit))
        }

        /// Takes the next message if there is one.
        pub fn try_recv(&mut self) -> Result<T, error::TryRecvError> {
            self.inner.try_recv()
        }

        /// Polls for the next message.
        #[track_caller]
        pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
            let at = Location::caller();
            poll_wait(cx, WaitOp::MpscRecv, at, |cx| self.inner.poll_recv(cx))
        }

        /// Refuses further messages; the buffered ones can still be received.
        pub fn close(&mut self) {
            self.inner.close();
        }

        /// Whether the channel is closed.
        pub fn is_closed(&self) -> bool {
            self.inner.is_closed()
        }

        /// Messages in the buffer.
        pub fn len(&self) -> usize {
            self.inner.len()
        }

        /// Whether the buffer is empty.
        pub fn is_empty(&self) -> bool {
            self.inner.is_empty()
        }
    };
}

impl<T> Receiver<T> {
    receiver_methods!();
}

/// Sends into an unbounded channel; clone it for more producers.
#[derive(Debug)]
pub struct UnboundedSender<T> {
    inner: tokio::sync::mpsc::UnboundedSender<T>,
}

impl<T> Clone for UnboundedSender<T> {
    fn clone(&self) -> Self {
        UnboundedSender {
            inner: self.inner.clone(),
        }
    }
}

impl<T> UnboundedSender<T> {
    /// Sends `value` (never waits); gives it back if the receiver is gone.
    pub fn send(&self, value: T) -> Result<(), error::SendError<T>> {
        self.inner.send(value)
    }

    /// Waits (as `mpsc::Sender::closed`) until the receiver is dropped or closed.
    #[track_caller]
    pub fn closed(&self) -> Leaf<impl Future<Output = ()> + '_> {
        leaf(WaitOp::MpscClosed, self.inner.closed())
    }

    /// Whether the receiver is gone.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Whether both senders send into the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        self.inner.same_channel(&other.inner)
    }
}

/// Receives from an unbounded channel.
#[derive(Debug)]
pub struct UnboundedReceiver<T> {
    inner: tokio::sync::mpsc::UnboundedReceiver<T>,
}

impl<T> UnboundedReceiver<T> {
    receiver_methods!();
}
