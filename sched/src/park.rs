//! Park and unpark of one processor, without lost or needless wake-ups.
//!
//! A parked processor blocks in its own poller (`epoll_wait`); another thread wakes it by
//! writing the poller's eventfd. A write costs a system call, so [`ParkState`] tracks whether
//! the processor is really blocked and only then asks for it:
//!
//! ```text
//!            begin_park (CAS)               end_park (swap)
//!   EMPTY ─────────────────────► PARKED ───────────────────────► EMPTY
//!     ▲  ◄──── end_park ─────┐     │ unpark: swap → "signal the poller"
//!     │                      │     ▼
//!     └── begin_park ─── NOTIFIED ◄── unpark (from EMPTY: no signal needed)
//! ```
//!
//! * `unpark` swaps in NOTIFIED. Only if the previous state was PARKED must it signal.
//! * `begin_park` consumes a pending NOTIFIED (returns `false`: do not block) or moves EMPTY
//!   to PARKED (returns `true`: block).
//! * `end_park` goes back to EMPTY after the blocking call returns, for whatever reason.
//!
//! An unpark that lands between the blocking call's return and `end_park` signals the
//! poller needlessly; the next park then returns at once. That is a spurious wake-up, which
//! the scheduler loop tolerates; a *lost* wake-up cannot happen, because the signal is
//! remembered by the eventfd until the next blocking call.

use crate::sync::atomic::{AtomicUsize, Ordering::*};

const EMPTY: usize = 0;
const PARKED: usize = 1;
const NOTIFIED: usize = 2;

pub(crate) struct ParkState {
    state: AtomicUsize,
}

impl ParkState {
    pub(crate) fn new() -> ParkState {
        ParkState {
            state: AtomicUsize::new(EMPTY),
        }
    }

    /// Returns whether the caller must block now (`false`: a wake-up is already pending).
    pub(crate) fn begin_park(&self) -> bool {
        match self.state.compare_exchange(EMPTY, PARKED, SeqCst, SeqCst) {
            Ok(_) => true,
            Err(actual) => {
                debug_assert_eq!(actual, NOTIFIED);
                // A swap, not a store: it reads every unpark's NOTIFIED, and so synchronizes
                // with the work each unparker published before it (a store would only
                // synchronize with the unpark the failed CAS happened to read).
                self.state.swap(EMPTY, SeqCst);
                false
            }
        }
    }

    /// The blocking call returned. Returns whether an unpark was received.
    pub(crate) fn end_park(&self) -> bool {
        self.state.swap(EMPTY, SeqCst) == NOTIFIED
    }

    /// Returns whether the caller must signal the blocked processor.
    /// Whether the processor is parked right now (for reports; may be stale at once).
    pub(crate) fn is_parked(&self) -> bool {
        self.state.load(Relaxed) == PARKED
    }

    pub(crate) fn unpark(&self) -> bool {
        self.state.swap(NOTIFIED, SeqCst) == PARKED
    }
}
