//! Park and unpark of one processor, without lost or needless wake-ups.
//!
//! A parked processor blocks in one of three places ([`ParkedIn`], see `processor/mod.rs`): its
//! own poller (`epoll_wait`; woken by writing the poller's eventfd), the runtime's poller
//! watch (woken by the watch's eventfd), or its sleeper (a condition variable). A wake costs a
//! system call, so [`ParkState`] tracks whether the processor is really blocked, and where,
//! and only then asks for it:
//!
//! ```text
//!            begin_park (CAS)               end_park (swap)
//!   EMPTY ─────────────────────► PARKED ───────────────────────► EMPTY
//!     ▲  ◄──── end_park ─────┐     │ unpark: swap → "signal the poller"
//!     │                      │     ▼
//!     └── begin_park ─── NOTIFIED ◄── unpark (from EMPTY: no signal needed)
//! ```
//!
//! * `unpark` swaps in NOTIFIED. Only if the previous state was PARKED must it signal, in
//!   the place PARKED names.
//! * `begin_park` consumes a pending NOTIFIED (returns `false`: do not block) or moves EMPTY
//!   to PARKED with the place (returns `true`: block there).
//! * `end_park` goes back to EMPTY after the blocking call returns, for whatever reason.
//! * `move_park` changes the place of a PARKED processor (CAS): a processor asleep in its
//!   sleeper that takes the poller watch it was offered blocks there next. If an unpark
//!   swapped in NOTIFIED first, the CAS fails and the processor leaves the park as woken;
//!   an unpark after the CAS finds the new place and signals there.
//!
//! An unpark that lands between the blocking call's return and `end_park` signals
//! needlessly; the next park there then returns at once. That is a spurious wake-up, which
//! the scheduler loop tolerates; a *lost* wake-up cannot happen, because every place
//! remembers a signal until the next blocking call. The watch is shared: a signal meant for
//! its previous holder may end the next holder's wait, which is again only spurious (the
//! processor it was meant for learns of its unpark from `end_park`).

use crate::sync::atomic::{AtomicUsize, Ordering::*};

const EMPTY: usize = 0;
const NOTIFIED: usize = 1;
/// `PARKED + place as usize`: parked, and where.
const PARKED: usize = 2;

/// Where a parked processor blocks, and so how `unpark` must signal it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ParkedIn {
    /// Its own poller (a runtime of one processor): write the poller's eventfd.
    Poller = 0,
    /// The runtime's poller watch, for every processor's I/O: wake the watch.
    Watch = 1,
    /// Its sleeper, away from any poller (another processor watches the I/O).
    Sleeper = 2,
}

pub(crate) struct ParkState {
    state: AtomicUsize,
}

impl ParkState {
    pub(crate) fn new() -> ParkState {
        ParkState {
            state: AtomicUsize::new(EMPTY),
        }
    }

    /// Returns whether the caller must block now in `place` (`false`: a wake-up is already
    /// pending).
    pub(crate) fn begin_park(&self, place: ParkedIn) -> bool {
        match self
            .state
            .compare_exchange(EMPTY, PARKED + place as usize, SeqCst, SeqCst)
        {
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

    /// The processor, parked in `from`, moves to block in `to` instead (a sleeper took the
    /// poller watch it was offered). Returns `false` if an unpark came first: it signalled
    /// `from`, and the caller must leave the park as woken.
    pub(crate) fn move_park(&self, from: ParkedIn, to: ParkedIn) -> bool {
        self.state
            .compare_exchange(PARKED + from as usize, PARKED + to as usize, SeqCst, SeqCst)
            .is_ok()
    }

    /// The blocking call returned. Returns whether an unpark was received.
    pub(crate) fn end_park(&self) -> bool {
        self.state.swap(EMPTY, SeqCst) == NOTIFIED
    }

    /// Where the processor is parked right now, if it is (a racy hint).
    pub(crate) fn parked_in(&self) -> Option<ParkedIn> {
        place(self.state.load(Relaxed))
    }

    /// Returns where the processor is blocked if the caller must signal it there.
    pub(crate) fn unpark(&self) -> Option<ParkedIn> {
        place(self.state.swap(NOTIFIED, SeqCst))
    }
}

fn place(state: usize) -> Option<ParkedIn> {
    match state.checked_sub(PARKED)? {
        0 => Some(ParkedIn::Poller),
        1 => Some(ParkedIn::Watch),
        _ => Some(ParkedIn::Sleeper),
    }
}
