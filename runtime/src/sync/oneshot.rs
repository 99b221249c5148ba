//! A channel for one value (tokio's `oneshot`), with the waits named
//! `oneshot::Receiver` and `oneshot::Sender::closed`.
//!
//! ```
//! # goro::Runtime::new().unwrap().block_on(async {
//! let (tx, rx) = goro::sync::oneshot::channel();
//! goro::spawn(async move { tx.send(42).unwrap() });
//! assert_eq!(rx.await.unwrap(), 42);
//! # });
//! ```

use super::leaf::{leaf, poll_wait, Leaf};
use goro_stats::WaitOp;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

pub use tokio::sync::oneshot::error;

/// A new channel.
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    (Sender { inner: tx }, Receiver { inner: rx })
}

/// Sends the channel's value.
#[derive(Debug)]
pub struct Sender<T> {
    inner: tokio::sync::oneshot::Sender<T>,
}

impl<T> Sender<T> {
    /// Sends `value`; gives it back if the receiver is gone.
    pub fn send(self, value: T) -> Result<(), T> {
        self.inner.send(value)
    }

    /// Waits (as `oneshot::Sender::closed`) until the receiver is dropped or closed.
    #[track_caller]
    pub fn closed(&mut self) -> Leaf<impl Future<Output = ()> + '_> {
        leaf(WaitOp::OneshotClosed, self.inner.closed())
    }

    /// Whether the receiver is gone.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Polls for the receiver closing.
    #[track_caller]
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let at = Location::caller();
        poll_wait(cx, WaitOp::OneshotClosed, at, |cx| {
            self.inner.poll_closed(cx)
        })
    }
}

/// Receives the channel's value: await it (as `oneshot::Receiver` at the `.await`).
#[derive(Debug)]
pub struct Receiver<T> {
    inner: tokio::sync::oneshot::Receiver<T>,
}

impl<T> Receiver<T> {
    /// Takes the value if it was sent.
    pub fn try_recv(&mut self) -> Result<T, error::TryRecvError> {
        self.inner.try_recv()
    }

    /// Refuses the value: a later `send` fails.
    pub fn close(&mut self) {
        self.inner.close();
    }

    /// Whether the value was sent or the sender is gone.
    pub fn is_terminated(&self) -> bool {
        self.inner.is_terminated()
    }

    /// Whether a value is waiting.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Waits for the value from outside the runtime, blocking this thread (tokio's
    /// `blocking_recv`).
    ///
    /// # Panics
    /// When called inside a goro task or `block_on` (see
    /// [`Mutex::blocking_lock`](super::Mutex::blocking_lock)); use `.await` there.
    ///
    /// ```
    /// let (tx, rx) = goro::sync::oneshot::channel();
    /// let waiter = std::thread::spawn(move || rx.blocking_recv());
    /// tx.send("done").unwrap();
    /// assert_eq!(waiter.join().unwrap(), Ok("done"));
    /// ```
    #[track_caller]
    pub fn blocking_recv(self) -> Result<T, error::RecvError> {
        goro_sched::block_thread_on("oneshot::Receiver::blocking_recv", self.inner)
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, error::RecvError>;

    /// `#[track_caller]`: the caller is the `.await`, which becomes the suspension point.
    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let at = Location::caller();
        let inner = &mut self.get_mut().inner;
        poll_wait(cx, WaitOp::OneshotRecv, at, |cx| Pin::new(inner).poll(cx))
    }
}
