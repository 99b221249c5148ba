//! [`Notify`]: tokio's task notification, with the wait named `Notify::notified`.

use super::leaf::{leaf, Leaf};
use goro_stats::WaitOp;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Wakes one waiting task, or all of them, without passing data (tokio's `Notify`).
/// `notify_one` with no waiter stores one permit for the next `notified().await`.
///
/// ```
/// use goro::sync::Notify;
/// use std::sync::Arc;
///
/// # goro::Runtime::new().unwrap().block_on(async {
/// let notify = Arc::new(Notify::new());
/// let n = notify.clone();
/// let waiter = goro::spawn(async move { n.notified().await });
/// notify.notify_one();
/// waiter.await.unwrap();
/// # });
/// ```
#[derive(Debug, Default)]
pub struct Notify {
    inner: tokio::sync::Notify,
}

impl Notify {
    /// A `Notify` with no stored permit.
    pub fn new() -> Notify {
        Notify {
            inner: tokio::sync::Notify::new(),
        }
    }

    /// A `Notify` with no stored permit, in a `const` (for statics).
    pub const fn const_new() -> Notify {
        Notify {
            inner: tokio::sync::Notify::const_new(),
        }
    }

    /// Waits for a notification (as `Notify::notified` at the caller's line).
    #[track_caller]
    pub fn notified(&self) -> Notified<'_> {
        Notified {
            inner: leaf(WaitOp::NotifyNotified, self.inner.notified()),
        }
    }

    /// [`notified`](Notify::notified) through an `Arc`: the future keeps the `Notify`
    /// alive and borrows nothing (it can be stored, or moved into a task).
    ///
    /// ```
    /// use goro::sync::Notify;
    /// use std::sync::Arc;
    ///
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let notify = Arc::new(Notify::new());
    /// let waiter = goro::spawn(notify.clone().notified_owned());
    /// notify.notify_one();
    /// waiter.await.unwrap();
    /// # });
    /// ```
    #[track_caller]
    pub fn notified_owned(self: Arc<Self>) -> OwnedNotified {
        let notified = self.notified();
        // SAFETY: only the lifetime changes. `notified` borrows the `Notify` in the `Arc`'s
        // allocation, which does not move and lives as long as the `Arc` kept next to it;
        // `OwnedNotified` drops `inner` before `notify` (field order) and never hands the
        // `'static` borrow out.
        let inner = unsafe { std::mem::transmute::<Notified<'_>, Notified<'static>>(notified) };
        OwnedNotified {
            inner,
            _notify: self,
        }
    }

    /// Wakes one waiting task (the first), or stores a permit if none waits.
    pub fn notify_one(&self) {
        self.inner.notify_one();
    }

    /// Wakes the most recent waiting task, or stores a permit if none waits.
    pub fn notify_last(&self) {
        self.inner.notify_last();
    }

    /// Wakes every task waiting now; stores no permit.
    pub fn notify_waiters(&self) {
        self.inner.notify_waiters();
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Notify::notified`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct Notified<'a> {
        #[pin]
        inner: Leaf<tokio::sync::futures::Notified<'a>>,
    }
}

impl Notified<'_> {
    /// Registers this future as a waiter without polling it, so that `notify_waiters`
    /// wakes it; returns whether it was already notified.
    pub fn enable(self: Pin<&mut Self>) -> bool {
        self.project().inner.inner().enable()
    }
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.project().inner.poll(cx)
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Notify::notified_owned`] (a `Notify::notified` wait).
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct OwnedNotified {
        // Declared first: dropped before the `Notify` it borrows.
        #[pin]
        inner: Notified<'static>,
        _notify: Arc<Notify>,
    }
}

impl OwnedNotified {
    /// Registers this future as a waiter without polling it, so that `notify_waiters`
    /// wakes it; returns whether it was already notified.
    pub fn enable(self: Pin<&mut Self>) -> bool {
        self.project().inner.enable()
    }
}

impl Future for OwnedNotified {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.project().inner.poll(cx)
    }
}
