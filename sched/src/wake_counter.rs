//! A waker that counts its wakes, for the unit tests of what wakes tasks (timers, the
//! cooperative budget).

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Wake, Waker};

/// Counts the wakes of the wakers made by [`WakeCounter::waker`].
#[derive(Default)]
pub(crate) struct WakeCounter(AtomicUsize);

impl WakeCounter {
    /// A new counter at 0.
    pub(crate) fn new() -> Arc<WakeCounter> {
        Arc::default()
    }

    /// A waker that adds one to this counter per wake.
    pub(crate) fn waker(self: &Arc<Self>) -> Waker {
        Waker::from(self.clone())
    }

    /// Wakes so far.
    pub(crate) fn wakes(&self) -> usize {
        self.0.load(SeqCst)
    }
}

impl Wake for WakeCounter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}
