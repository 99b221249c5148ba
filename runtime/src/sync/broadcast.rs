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
}
