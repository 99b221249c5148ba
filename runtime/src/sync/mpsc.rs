//! Multi-producer, single-consumer channels (tokio's `mpsc`), bounded and unbounded, with
//! the waits named `mpsc::Receiver::recv` and `mpsc::Sender::send` (on a full channel).
//!
//! Every type wraps tokio's of the same name, so that each wait is a goro leaf (budget,
//! named suspension point) and every sender handed back (`WeakSender::upgrade`,
//! `OwnedPermit::send`, ...) is goro's. The `blocking_*` methods block a plain thread
//! through `goro_sched::block_thread_on` and panic inside the runtime, as tokio's do.
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
use std::time::Duration;

pub use tokio::sync::mpsc::{error, Permit, PermitIterator};

/// `Debug` for each wrapper `$name<T>`, as tokio's (for any `T`, not only `T: Debug`).
macro_rules! debug_as_tokio {
    ($($name:ident),*) => {$(
        impl<T> std::fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.inner.fmt(f)
            }
        }
    )*};
}

debug_as_tokio!(
    Sender,
    Receiver,
    WeakSender,
    OwnedPermit,
    UnboundedSender,
    UnboundedReceiver,
    WeakUnboundedSender
);

/// `downgrade`, `strong_count` and `weak_count` of a sender whose weak kind is `$weak`.
macro_rules! sender_counts {
    ($weak:ident) => {
        /// A sender of the same channel that does not keep it open.
        pub fn downgrade(&self) -> $weak<T> {
            $weak {
                inner: self.inner.downgrade(),
            }
        }

        /// How many senders (of this kind, not weak) the channel has.
        pub fn strong_count(&self) -> usize {
            self.inner.strong_count()
        }

        /// How many weak senders the channel has.
        pub fn weak_count(&self) -> usize {
            self.inner.weak_count()
        }
    };
}

/// The methods of the weak sender `$weak` of the sender `$strong`.
macro_rules! weak_sender {
    ($weak:ident, $strong:ident) => {
        impl<T> Clone for $weak<T> {
            fn clone(&self) -> Self {
                $weak {
                    inner: self.inner.clone(),
                }
            }
        }

        impl<T> $weak<T> {
            /// A sender of the channel, if it still has one (else `None`).
            pub fn upgrade(&self) -> Option<$strong<T>> {
                self.inner.upgrade().map(|inner| $strong { inner })
            }

            /// How many senders (not weak) the channel has.
            pub fn strong_count(&self) -> usize {
                self.inner.strong_count()
            }

            /// How many weak senders the channel has.
            pub fn weak_count(&self) -> usize {
                self.inner.weak_count()
            }
        }
    };
}

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

    /// Sends `value`, waiting (as `mpsc::Sender::send`) at most `timeout` for room; gives it
    /// back in [`SendTimeoutError::Timeout`](error::SendTimeoutError::Timeout) if the time
    /// ran out, in `Closed` if the receiver is gone. Timed by goro's timers.
    ///
    /// # Panics
    /// When polled outside a goro runtime (as tokio's panics outside a runtime with a
    /// timer); it may be made anywhere.
    ///
    /// ```
    /// use goro::sync::mpsc::{self, error::SendTimeoutError};
    /// use std::time::Duration;
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let (tx, mut rx) = mpsc::channel(1);
    /// tx.send_timeout(1, Duration::from_millis(5)).await.unwrap();
    /// let full = tx.send_timeout(2, Duration::from_millis(5)).await;
    /// assert_eq!(full, Err(SendTimeoutError::Timeout(2)));
    /// assert_eq!(rx.recv().await, Some(1));
    /// # });
    /// ```
    #[track_caller]
    pub fn send_timeout(
        &self,
        value: T,
        timeout: Duration,
    ) -> impl Future<Output = Result<(), error::SendTimeoutError<T>>> + '_ {
        let room = leaf(WaitOp::MpscSend, self.inner.reserve());
        async move {
            match crate::time::timeout(timeout, room).await {
                Ok(Ok(permit)) => {
                    permit.send(value);
                    Ok(())
                }
                Ok(Err(_)) => Err(error::SendTimeoutError::Closed(value)),
                Err(_) => Err(error::SendTimeoutError::Timeout(value)),
            }
        }
    }

    /// Sends `value` from outside the runtime, blocking this thread while the channel is
    /// full (tokio's `blocking_send`); gives it back if the receiver is gone.
    ///
    /// # Panics
    /// When called inside a goro task or `block_on` (see
    /// [`Mutex::blocking_lock`](super::Mutex::blocking_lock)); use `.await` there.
    ///
    /// ```
    /// let (tx, mut rx) = goro::sync::mpsc::channel(1);
    /// let producer = std::thread::spawn(move || {
    ///     tx.blocking_send(1).unwrap();
    ///     tx.blocking_send(2).unwrap(); // waits until 1 is received
    /// });
    /// goro::Runtime::new().unwrap().block_on(async move {
    ///     assert_eq!(rx.recv().await, Some(1));
    ///     assert_eq!(rx.recv().await, Some(2));
    /// });
    /// producer.join().unwrap();
    /// ```
    #[track_caller]
    pub fn blocking_send(&self, value: T) -> Result<(), error::SendError<T>> {
        goro_sched::block_thread_on("mpsc::Sender::blocking_send", self.inner.send(value))
    }

    /// [`reserve`](Sender::reserve), keeping a clone of the sender in the permit.
    #[track_caller]
    pub fn reserve_owned(
        self,
    ) -> Leaf<impl Future<Output = Result<OwnedPermit<T>, error::SendError<()>>>> {
        leaf(WaitOp::MpscSend, async move {
            let inner = self.inner.reserve_owned().await?;
            Ok(OwnedPermit { inner })
        })
    }

    /// Waits (as `mpsc::Sender::send`) for room for `n` messages, and reserves it all at
    /// once; the iterator yields `n` permits.
    ///
    /// ```
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let (tx, mut rx) = goro::sync::mpsc::channel(3);
    /// let mut permits = tx.reserve_many(2).await.unwrap();
    /// assert_eq!(tx.capacity(), 1);
    /// permits.next().unwrap().send("a");
    /// permits.next().unwrap().send("b");
    /// assert!(permits.next().is_none());
    /// assert_eq!(rx.recv().await, Some("a"));
    /// # });
    /// ```
    #[track_caller]
    pub fn reserve_many(
        &self,
        n: usize,
    ) -> Leaf<impl Future<Output = Result<PermitIterator<'_, T>, error::SendError<()>>> + '_> {
        leaf(WaitOp::MpscSend, self.inner.reserve_many(n))
    }

    /// Reserves room for one message if there is some.
    pub fn try_reserve(&self) -> Result<Permit<'_, T>, error::TrySendError<()>> {
        self.inner.try_reserve()
    }

    /// Reserves room for `n` messages if there is room for all of them.
    ///
    /// ```
    /// let (tx, _rx) = goro::sync::mpsc::channel::<u8>(2);
    /// assert!(tx.try_reserve_many(3).is_err());
    /// assert_eq!(tx.try_reserve_many(2).unwrap().len(), 2);
    /// ```
    pub fn try_reserve_many(
        &self,
        n: usize,
    ) -> Result<PermitIterator<'_, T>, error::TrySendError<()>> {
        self.inner.try_reserve_many(n)
    }

    /// [`try_reserve`](Sender::try_reserve), keeping the sender in the permit; gives the
    /// sender back in the error.
    ///
    /// ```
    /// let (tx, mut rx) = goro::sync::mpsc::channel(1);
    /// let permit = tx.try_reserve_owned().unwrap();
    /// let tx = permit.send(5);
    /// assert!(tx.clone().try_reserve_owned().is_err()); // full
    /// assert_eq!(rx.try_recv(), Ok(5));
    /// ```
    pub fn try_reserve_owned(self) -> Result<OwnedPermit<T>, error::TrySendError<Self>> {
        use error::TrySendError::{Closed, Full};
        match self.inner.try_reserve_owned() {
            Ok(inner) => Ok(OwnedPermit { inner }),
            Err(Full(inner)) => Err(Full(Sender { inner })),
            Err(Closed(inner)) => Err(Closed(Sender { inner })),
        }
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

    sender_counts!(WeakSender);
}

/// A sender that does not keep the channel open: [`upgrade`](WeakSender::upgrade) it to
/// send, while some [`Sender`] is left.
///
/// ```
/// let (tx, _rx) = goro::sync::mpsc::channel::<u8>(1);
/// let weak = tx.downgrade();
/// assert!(weak.upgrade().is_some());
/// drop(tx);
/// assert!(weak.upgrade().is_none());
/// ```
pub struct WeakSender<T> {
    inner: tokio::sync::mpsc::WeakSender<T>,
}

weak_sender!(WeakSender, Sender);

/// A [`Sender`] with room for one message reserved ([`Sender::reserve_owned`]).
pub struct OwnedPermit<T> {
    inner: tokio::sync::mpsc::OwnedPermit<T>,
}

impl<T> OwnedPermit<T> {
    /// Sends `value` into the reserved room, and gives the sender back.
    ///
    /// ```
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let (tx, mut rx) = goro::sync::mpsc::channel(1);
    /// let permit = tx.reserve_owned().await.unwrap();
    /// let tx: goro::sync::mpsc::Sender<u8> = permit.send(3);
    /// assert_eq!(rx.recv().await, Some(3));
    /// # drop(tx);
    /// # });
    /// ```
    pub fn send(self, value: T) -> Sender<T> {
        Sender {
            inner: self.inner.send(value),
        }
    }

    /// Gives the reserved room back without sending, and the sender.
    ///
    /// ```
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let (tx, _rx) = goro::sync::mpsc::channel::<u8>(1);
    /// let permit = tx.reserve_owned().await.unwrap();
    /// let tx = permit.release();
    /// assert_eq!(tx.capacity(), 1);
    /// # });
    /// ```
    pub fn release(self) -> Sender<T> {
        Sender {
            inner: self.inner.release(),
        }
    }

    /// Whether both permits reserve room in the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        self.inner.same_channel(&other.inner)
    }

    /// Whether the permit reserves room in `sender`'s channel.
    pub fn same_channel_as_sender(&self, sender: &Sender<T>) -> bool {
        self.inner.same_channel_as_sender(&sender.inner)
    }
}

/// Receives from a bounded channel.
pub struct Receiver<T> {
    inner: tokio::sync::mpsc::Receiver<T>,
}

/// The methods both receivers share, on `inner` (tokio's receiver of the same kind);
/// `$kind` names the receiver in the `blocking_*` panics. The examples use a bounded
/// channel; the unbounded receiver behaves the same.
macro_rules! receiver_methods {
    ($kind:literal) => {
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

        /// Waits for the next message from outside the runtime, blocking this thread
        /// (tokio's `blocking_recv`); `None` once every sender is gone and the buffer is
        /// empty.
        ///
        /// # Panics
        /// When called inside a goro task or `block_on` (see
        /// [`Mutex::blocking_lock`](super::Mutex::blocking_lock)); use `.await` there.
        ///
        /// ```
        /// let (tx, mut rx) = goro::sync::mpsc::channel(1);
        /// let consumer = std::thread::spawn(move || rx.blocking_recv());
        /// goro::Runtime::new().unwrap().block_on(async move {
        ///     goro::spawn(async move { tx.send(7).await.unwrap() }).await.unwrap();
        /// });
        /// assert_eq!(consumer.join().unwrap(), Some(7));
        /// ```
        #[track_caller]
        pub fn blocking_recv(&mut self) -> Option<T> {
            goro_sched::block_thread_on(
                concat!("mpsc::", $kind, "::blocking_recv"),
                self.inner.recv(),
            )
        }

        /// [`recv_many`](Self::recv_many) from outside the runtime, blocking this thread
        /// (tokio's `blocking_recv_many`).
        ///
        /// # Panics
        /// When called inside a goro task or `block_on`; use `.await` there.
        ///
        /// ```
        /// let (tx, mut rx) = goro::sync::mpsc::channel(4);
        /// tx.try_send(1).unwrap();
        /// tx.try_send(2).unwrap();
        /// let mut got = Vec::new();
        /// assert_eq!(rx.blocking_recv_many(&mut got, 8), 2);
        /// assert_eq!(got, [1, 2]);
        /// ```
        #[track_caller]
        pub fn blocking_recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
            goro_sched::block_thread_on(
                concat!("mpsc::", $kind, "::blocking_recv_many"),
                self.inner.recv_many(buffer, limit),
            )
        }

        /// Polls for the next message.
        #[track_caller]
        pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
            let at = Location::caller();
            poll_wait(cx, WaitOp::MpscRecv, at, |cx| self.inner.poll_recv(cx))
        }

        /// Polls for messages, moving up to `limit` into `buffer` once there is one; `Ready(0)`
        /// once the channel is closed and empty, or if `limit` is 0.
        ///
        /// ```
        /// # goro::Runtime::new().unwrap().block_on(async {
        /// let (tx, mut rx) = goro::sync::mpsc::channel(4);
        /// tx.send("a").await.unwrap();
        /// let mut got = Vec::new();
        /// let n = std::future::poll_fn(|cx| rx.poll_recv_many(cx, &mut got, 4)).await;
        /// assert_eq!((n, got), (1, vec!["a"]));
        /// # });
        /// ```
        #[track_caller]
        pub fn poll_recv_many(
            &mut self,
            cx: &mut Context<'_>,
            buffer: &mut Vec<T>,
            limit: usize,
        ) -> Poll<usize> {
            let at = Location::caller();
            poll_wait(cx, WaitOp::MpscRecv, at, |cx| {
                self.inner.poll_recv_many(cx, buffer, limit)
            })
        }

        /// How many senders (not weak) the channel has.
        ///
        /// ```
        /// let (tx, rx) = goro::sync::mpsc::channel::<u8>(1);
        /// let _weak = tx.downgrade();
        /// assert_eq!((rx.sender_strong_count(), rx.sender_weak_count()), (1, 1));
        /// ```
        pub fn sender_strong_count(&self) -> usize {
            self.inner.sender_strong_count()
        }

        /// How many weak senders the channel has.
        pub fn sender_weak_count(&self) -> usize {
            self.inner.sender_weak_count()
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
    receiver_methods!("Receiver");

    /// Room left in the buffer now (as [`Sender::capacity`]).
    ///
    /// ```
    /// let (tx, rx) = goro::sync::mpsc::channel(3);
    /// tx.try_send(1).unwrap();
    /// assert_eq!((rx.capacity(), rx.max_capacity()), (2, 3));
    /// ```
    pub fn capacity(&self) -> usize {
        self.inner.capacity()
    }

    /// The channel's buffer size.
    pub fn max_capacity(&self) -> usize {
        self.inner.max_capacity()
    }
}

/// Sends into an unbounded channel; clone it for more producers.
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

    sender_counts!(WeakUnboundedSender);
}

/// An unbounded sender that does not keep the channel open (as [`WeakSender`]).
///
/// ```
/// let (tx, _rx) = goro::sync::mpsc::unbounded_channel::<u8>();
/// let weak = tx.downgrade();
/// assert_eq!((tx.strong_count(), tx.weak_count()), (1, 1));
/// drop(tx);
/// assert!(weak.upgrade().is_none());
/// ```
pub struct WeakUnboundedSender<T> {
    inner: tokio::sync::mpsc::WeakUnboundedSender<T>,
}

weak_sender!(WeakUnboundedSender, UnboundedSender);

/// Receives from an unbounded channel.
pub struct UnboundedReceiver<T> {
    inner: tokio::sync::mpsc::UnboundedReceiver<T>,
}

impl<T> UnboundedReceiver<T> {
    receiver_methods!("UnboundedReceiver");
}
