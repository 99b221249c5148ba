//! One armed timer: the state shared by a `Sleep` and the timer queue holding it.
//!
//! ```text
//!   ARMED ──fire()──► FIRED       (the queue popped it at or after its deadline)
//!     │
//!     └──cancel()──► CANCELLED    (the Sleep was dropped or reset first)
//! ```
//!
//! Exactly one of `fire` and `cancel` wins the CAS out of ARMED. The waker slot is a small
//! mutex: `fire` takes the waker after winning, the `Sleep` stores its waker and then checks
//! the state again, so a fire that races the store is never lost (either the fire takes the
//! new waker, or the `Sleep` sees FIRED on its re-check).
//!
//! An entry outlives its `Sleep` in the queue until the queue drops it (a cancelled entry is
//! skipped lazily, see `queue.rs`); the queue then keeps it for the next arm instead of
//! freeing it ([`TimerEntry::rearm`]), once it holds the only reference.

use crate::sync::atomic::{AtomicUsize, Ordering::*};
use crate::sync::Mutex;
use std::task::Waker;

const ARMED: usize = 0;
const FIRED: usize = 1;
const CANCELLED: usize = 2;

pub(crate) struct TimerEntry {
    state: AtomicUsize,
    waker: Mutex<Option<Waker>>,
}

impl TimerEntry {
    pub(crate) fn new(waker: Waker) -> TimerEntry {
        TimerEntry {
            state: AtomicUsize::new(ARMED),
            waker: Mutex::new(Some(waker)),
        }
    }

    /// The deadline passed: returns the waker to wake, if the timer was still armed.
    pub(crate) fn fire(&self) -> Option<Waker> {
        self.state
            .compare_exchange(ARMED, FIRED, AcqRel, Acquire)
            .ok()?;
        self.waker.lock().take()
    }

    /// Cancels an armed timer; returns whether it was armed (so it still sits in a queue).
    pub(crate) fn cancel(&self) -> bool {
        if self
            .state
            .compare_exchange(ARMED, CANCELLED, AcqRel, Acquire)
            .is_err()
        {
            return false;
        }
        // Dropped after the lock is released: a waker's drop may run arbitrary code.
        let waker = self.waker.lock().take();
        drop(waker);
        true
    }

    /// Makes a spent entry (fired or cancelled) armed again for `waker`. Taking `&mut`
    /// means the caller holds the only reference (`Arc::get_mut`), so no `fire`, `cancel`
    /// or `set_waker` can race it.
    pub(crate) fn rearm(&mut self, waker: Waker) {
        self.state.store(ARMED, Relaxed);
        *self.waker.lock() = Some(waker);
    }

    pub(crate) fn is_fired(&self) -> bool {
        self.state.load(Acquire) == FIRED
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.state.load(Acquire) == CANCELLED
    }

    /// Stores the waker to wake on fire (if it differs from the stored one). The caller must
    /// check [`TimerEntry::is_fired`] afterwards.
    pub(crate) fn set_waker(&self, waker: &Waker) {
        let mut slot = self.waker.lock();
        if slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
            return;
        }
        let old = slot.replace(waker.clone());
        drop(slot);
        // Dropped after the lock is released: a waker's drop may run arbitrary code.
        drop(old);
    }
}
