//! A multi-producer, multi-consumer channel where every receiver sees every value
//! (tokio's `broadcast`), with the wait named `broadcast::Receiver::recv`.
//!
//! ```
//! # goro::Runtime::new().unwrap().block_on(async {
//! let (tx, mut rx1) = goro::sync::broadcast::channel(16);
//! let mut rx2 = tx.subscribe();
//! tx.send(7).unwrap();
//! assert_eq!(rx1.recv().await.unwrap(), 7);
//! assert_eq!(rx2.recv().await.unwrap(), 7);
//! # });
//! ```

use super::leaf::{leaf, Leaf};
use goro_stats::WaitOp;
use std::future::Future;

pub use tokio::sync::broadcast::error;

/// A new channel keeping the last `capacity` values for slow receivers.
///
/// # Panics
/// If `capacity` is 0 or too large (as tokio's).
#[track_caller]
pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(
        capacity > 0,
        "goro::sync::broadcast::channel: capacity must be at least 1"
    );
    let (tx, rx) = tokio::sync::broadcast::channel(capacity);
    (Sender { inner: tx }, Receiver { inner: rx })
}

/// Sends to every receiver; clone it for more producers.
#[derive(Debug)]
pub struct Sender<T> {
    inner: tokio::sync::broadcast::Sender<T>,
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender {
            inner: self.inner.clone(),
        }
    }
}

impl<T> Sender<T> {
    /// A channel keeping the last `capacity` values, with no receiver yet
    /// ([`subscribe`](Sender::subscribe) makes them).
    ///
    /// # Panics
    /// If `capacity` is 0 or too large (as tokio's).
    ///
    /// ```
    /// let tx = goro::sync::broadcast::Sender::new(4);
    /// let mut rx = tx.subscribe();
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    #[track_caller]
    pub fn new(capacity: usize) -> Sender<T> {
        assert!(
            capacity > 0,
            "goro::sync::broadcast::Sender::new: capacity must be at least 1"
        );
        Sender {
            inner: tokio::sync::broadcast::Sender::new(capacity),
        }
    }

    /// Sends `value` to every receiver alive; returns how many, or fails if none is.
    pub fn send(&self, value: T) -> Result<usize, error::SendError<T>> {
        self.inner.send(value)
    }

    /// A new receiver that sees values sent from now on.
    pub fn subscribe(&self) -> Receiver<T> {
        Receiver {
            inner: self.inner.subscribe(),
        }
    }

    /// Receivers alive now.
    pub fn receiver_count(&self) -> usize {
        self.inner.receiver_count()
    }

    /// Values not yet seen by the slowest receiver.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether every receiver has seen every value.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Whether both senders send into the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        self.inner.same_channel(&other.inner)
    }

    /// Waits (as `broadcast::Sender::closed`) until every receiver is gone.
    ///
    /// ```
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let (tx, rx) = goro::sync::broadcast::channel::<u8>(1);
    /// goro::spawn(async move { drop(rx) });
    /// tx.closed().await;
    /// assert_eq!(tx.receiver_count(), 0);
    /// # });
    /// ```
    #[track_caller]
    pub fn closed(&self) -> Leaf<impl Future<Output = ()> + '_> {
        leaf(WaitOp::BroadcastClosed, self.inner.closed())
    }

    /// A sender that does not keep the channel open ([`WeakSender::upgrade`] makes a
    /// sender of it while one is alive).
    ///
    /// ```
    /// let (tx, _rx) = goro::sync::broadcast::channel::<u8>(1);
    /// let weak = tx.downgrade();
    /// assert_eq!((tx.strong_count(), tx.weak_count()), (1, 1));
    /// assert!(weak.upgrade().is_some());
    /// drop(tx);
    /// assert!(weak.upgrade().is_none());
    /// ```
    pub fn downgrade(&self) -> WeakSender<T> {
        WeakSender {
            inner: self.inner.downgrade(),
        }
    }

    /// Senders alive now.
    pub fn strong_count(&self) -> usize {
        self.inner.strong_count()
    }

    /// Weak senders alive now.
    pub fn weak_count(&self) -> usize {
        self.inner.weak_count()
    }
}

/// A sender that does not keep the channel open ([`Sender::downgrade`]).
#[derive(Debug)]
pub struct WeakSender<T> {
    inner: tokio::sync::broadcast::WeakSender<T>,
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        WeakSender {
            inner: self.inner.clone(),
        }
    }
}

impl<T> WeakSender<T> {
    /// A sender, if one is still alive.
    pub fn upgrade(&self) -> Option<Sender<T>> {
        self.inner.upgrade().map(|inner| Sender { inner })
    }

    /// Senders alive now.
    pub fn strong_count(&self) -> usize {
        self.inner.strong_count()
    }

    /// Weak senders alive now.
    pub fn weak_count(&self) -> usize {
        self.inner.weak_count()
    }
}

/// Receives every value sent after it subscribed.
#[derive(Debug)]
pub struct Receiver<T> {
    inner: tokio::sync::broadcast::Receiver<T>,
}

impl<T: Clone> Receiver<T> {
    /// Waits (as `broadcast::Receiver::recv`) for the next value; fails with `Lagged` if
    /// values were overwritten before this receiver saw them, `Closed` once every sender
    /// is gone.
    #[track_caller]
    pub fn recv(&mut self) -> Leaf<impl Future<Output = Result<T, error::RecvError>> + '_> {
        leaf(WaitOp::BroadcastRecv, self.inner.recv())
    }

    /// Takes the next value if there is one.
    pub fn try_recv(&mut self) -> Result<T, error::TryRecvError> {
        self.inner.try_recv()
    }

    /// A new receiver on the same channel that sees values sent from now on.
    pub fn resubscribe(&self) -> Receiver<T> {
        Receiver {
            inner: self.inner.resubscribe(),
        }
    }

    /// Waits for the next value from outside the runtime, blocking this thread (tokio's
    /// `blocking_recv`).
    ///
    /// # Panics
    /// When called inside a goro task or `block_on` (see
    /// [`Mutex::blocking_lock`](super::Mutex::blocking_lock)); use `recv().await` there.
    ///
    /// ```
    /// let (tx, mut rx) = goro::sync::broadcast::channel(2);
    /// let waiter = std::thread::spawn(move || rx.blocking_recv());
    /// tx.send(5).unwrap();
    /// assert_eq!(waiter.join().unwrap(), Ok(5));
    /// ```
    #[track_caller]
    pub fn blocking_recv(&mut self) -> Result<T, error::RecvError> {
        goro_sched::block_thread_on("broadcast::Receiver::blocking_recv", self.inner.recv())
    }
}

impl<T> Receiver<T> {
    /// Values this receiver has not seen yet.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether this receiver has seen every value.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Whether every sender is gone.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Whether both receivers receive from the same channel.
    ///
    /// ```
    /// let (tx, rx) = goro::sync::broadcast::channel::<u8>(1);
    /// assert!(rx.same_channel(&tx.subscribe()));
    /// assert_eq!((rx.sender_strong_count(), rx.sender_weak_count()), (1, 0));
    /// ```
    pub fn same_channel(&self, other: &Self) -> bool {
        self.inner.same_channel(&other.inner)
    }

    /// Senders alive now.
    pub fn sender_strong_count(&self) -> usize {
        self.inner.sender_strong_count()
    }

    /// Weak senders alive now.
    pub fn sender_weak_count(&self) -> usize {
        self.inner.sender_weak_count()
    }
}
