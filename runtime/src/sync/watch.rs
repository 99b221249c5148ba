//! A channel that keeps the latest value (tokio's `watch`), with the waits named
//! `watch::Receiver::changed` and `watch::Sender::closed`.
//!
//! ```
//! # goro::Runtime::new().unwrap().block_on(async {
//! let (tx, mut rx) = goro::sync::watch::channel("starting");
//! goro::spawn(async move { tx.send("ready").unwrap() });
//! rx.changed().await.unwrap();
//! assert_eq!(*rx.borrow_and_update(), "ready");
//! # });
//! ```

use super::leaf::{leaf, Leaf};
use goro_stats::WaitOp;
use std::future::Future;

pub use tokio::sync::watch::{error, Ref};

/// A new channel holding `init`.
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    let (tx, rx) = tokio::sync::watch::channel(init);
    (Sender { inner: tx }, Receiver { inner: rx })
}

/// Publishes values; clone it for more publishers.
#[derive(Debug)]
pub struct Sender<T> {
    inner: tokio::sync::watch::Sender<T>,
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender {
            inner: self.inner.clone(),
        }
    }
}

impl<T: Default> Default for Sender<T> {
    fn default() -> Self {
        Sender::new(T::default())
    }
}

impl<T> Sender<T> {
    /// A channel holding `init` with no receiver yet ([`subscribe`](Sender::subscribe)
    /// makes them).
    ///
    /// ```
    /// let tx = goro::sync::watch::Sender::new(1);
    /// let rx = tx.subscribe();
    /// tx.send_replace(2);
    /// assert_eq!(*rx.borrow(), 2);
    /// ```
    pub fn new(init: T) -> Sender<T> {
        Sender {
            inner: tokio::sync::watch::Sender::new(init),
        }
    }

    /// Publishes `value`; fails (giving it back) if no receiver is left.
    pub fn send(&self, value: T) -> Result<(), error::SendError<T>> {
        self.inner.send(value)
    }

    /// Changes the value in place and notifies the receivers, even with none left.
    pub fn send_modify(&self, modify: impl FnOnce(&mut T)) {
        self.inner.send_modify(modify);
    }

    /// Changes the value in place; notifies the receivers if `modify` returns `true`.
    pub fn send_if_modified(&self, modify: impl FnOnce(&mut T) -> bool) -> bool {
        self.inner.send_if_modified(modify)
    }

    /// Replaces the value, returning the old one, and notifies the receivers.
    pub fn send_replace(&self, value: T) -> T {
        self.inner.send_replace(value)
    }

    /// The current value.
    pub fn borrow(&self) -> Ref<'_, T> {
        self.inner.borrow()
    }

    /// A new receiver that has seen the current value.
    pub fn subscribe(&self) -> Receiver<T> {
        Receiver {
            inner: self.inner.subscribe(),
        }
    }

    /// Receivers alive now.
    pub fn receiver_count(&self) -> usize {
        self.inner.receiver_count()
    }

    /// Senders alive now (clones included).
    pub fn sender_count(&self) -> usize {
        self.inner.sender_count()
    }

    /// Whether both senders publish into the same channel.
    ///
    /// ```
    /// let (tx, _rx) = goro::sync::watch::channel(0);
    /// let tx2 = tx.clone();
    /// assert!(tx.same_channel(&tx2));
    /// assert_eq!(tx.sender_count(), 2);
    /// ```
    pub fn same_channel(&self, other: &Self) -> bool {
        self.inner.same_channel(&other.inner)
    }

    /// Whether every receiver is gone.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Waits (as `watch::Sender::closed`) until every receiver is gone.
    #[track_caller]
    pub fn closed(&self) -> Leaf<impl Future<Output = ()> + '_> {
        leaf(WaitOp::WatchClosed, self.inner.closed())
    }
}

/// Observes values; clone it for more observers.
#[derive(Debug)]
pub struct Receiver<T> {
    inner: tokio::sync::watch::Receiver<T>,
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        Receiver {
            inner: self.inner.clone(),
        }
    }
}

impl<T> Receiver<T> {
    /// The current value, without marking it seen.
    pub fn borrow(&self) -> Ref<'_, T> {
        self.inner.borrow()
    }

    /// The current value, marking it seen.
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        self.inner.borrow_and_update()
    }

    /// Whether a value not yet seen was published; fails if the sender is gone.
    pub fn has_changed(&self) -> Result<bool, error::RecvError> {
        self.inner.has_changed()
    }

    /// Whether every sender is gone.
    ///
    /// ```
    /// let (tx, rx) = goro::sync::watch::channel(0);
    /// assert!(!rx.is_closed());
    /// drop(tx);
    /// assert!(rx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Marks the current value as not seen.
    pub fn mark_changed(&mut self) {
        self.inner.mark_changed();
    }

    /// Marks the current value as seen.
    pub fn mark_unchanged(&mut self) {
        self.inner.mark_unchanged();
    }

    /// Waits (as `watch::Receiver::changed`) for a value not yet seen; fails once the
    /// sender is gone.
    #[track_caller]
    pub fn changed(&mut self) -> Leaf<impl Future<Output = Result<(), error::RecvError>> + '_> {
        leaf(WaitOp::WatchChanged, self.inner.changed())
    }

    /// Waits (as `watch::Receiver::changed`) until the value satisfies `f`.
    #[track_caller]
    pub fn wait_for<'a>(
        &'a mut self,
        f: impl FnMut(&T) -> bool + 'a,
    ) -> Leaf<impl Future<Output = Result<Ref<'a, T>, error::RecvError>> + 'a> {
        leaf(WaitOp::WatchChanged, self.inner.wait_for(f))
    }

    /// Whether both receivers observe the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        self.inner.same_channel(&other.inner)
    }
}
