//! Idle processors and spinning: who sleeps, who searches, and who gets woken.
//!
//! This is Go's `pidle`/`nmspinning` protocol. A processor that runs out of work first
//! *spins* (searches other processors' queues and the injector) and only then *parks*. To
//! bound the CPU burnt on searching, at most half of the unparked processors spin at once,
//! and no more than there are CPUs (a search walks every processor, so a thousand spinners
//! on two cores would cost time in the square of the processor count).
//!
//! One atomic word holds two counts: `unparked` (processors not parked) in the high bits and
//! `spinning` in the low 16 bits. The list of parked processors (`sleepers`) is behind a lock
//! that is only taken to park, to wake, and after a wake-up.
//!
//! **No lost wakeups.** Whoever makes work available (pushes to the injector or a local queue)
//! calls [`Idle::notify_one`], which returns at once if a processor is spinning, since that
//! spinner will find the work. The race is a spinner that gives up at the same moment. It is
//! closed the way Go closes it: the producer does *push; fence; read counts* and a spinner
//! that parks does *decrement counts; fence; re-check all queues*. With both fences SeqCst,
//! either the producer sees the decremented count (and wakes a sleeper), or the parking
//! processor sees the work (and wakes a sleeper, possibly itself). Every processor that parks
//! while no spinner remains re-checks, spinning or not: a producer may have skipped the wake
//! because of a spinner that has since found other work and stopped spinning (found by the
//! loom model `idle::remote_task_while_other_processor_is_busy`).
//!
//! A processor woken by `notify_one` is counted as spinning by the waker, so that a burst of
//! work wakes one processor at a time; when a spinner finds work it stops spinning and, if it
//! was the last spinner, wakes another ([`Idle::end_spinning`] returns `true`), which then
//! searches for the rest of the burst.

use crate::sync::atomic::{fence, AtomicUsize, Ordering::*};
use crate::sync::Mutex;

const SPINNING_BITS: u32 = 16;
const SPINNING_MASK: usize = (1 << SPINNING_BITS) - 1;
const UNPARKED_ONE: usize = 1 << SPINNING_BITS;

pub(crate) struct Idle {
    /// `unparked << 16 | spinning`.
    state: AtomicUsize,
    /// Parked processors, by index.
    sleepers: Mutex<Vec<usize>>,
    num_procs: usize,
    /// At most this many processors spin at once (the number of CPUs): more cannot search
    /// in parallel, and with thousands of processors each search walks them all.
    max_spinning: usize,
}

fn spinning(state: usize) -> usize {
    state & SPINNING_MASK
}

fn unparked(state: usize) -> usize {
    state >> SPINNING_BITS
}

impl Idle {
    /// All `num_procs` processors start unparked and not spinning; at most `max_spinning`
    /// (at least 1) spin at once.
    pub(crate) fn new(num_procs: usize, max_spinning: usize) -> Idle {
        assert!(num_procs < SPINNING_MASK, "too many processors");
        Idle {
            state: AtomicUsize::new(num_procs * UNPARKED_ONE),
            sleepers: Mutex::new(Vec::with_capacity(num_procs)),
            num_procs,
            max_spinning: max_spinning.max(1),
        }
    }

    /// Work was made available: returns the index of a parked processor to wake (already
    /// removed from the sleepers and counted as unparked and spinning), or `None` if a
    /// spinner exists or nobody sleeps.
    pub(crate) fn notify_one(&self) -> Option<usize> {
        fence(SeqCst);
        if !self.should_wake(self.state.load(SeqCst)) {
            return None;
        }
        let mut sleepers = self.sleepers.lock();
        // Re-check under the lock: another producer may have woken someone meanwhile.
        if !self.should_wake(self.state.load(SeqCst)) {
            return None;
        }
        let index = sleepers.pop()?;
        self.state.fetch_add(UNPARKED_ONE + 1, SeqCst);
        Some(index)
    }

    fn should_wake(&self, state: usize) -> bool {
        spinning(state) == 0 && unparked(state) < self.num_procs
    }

    /// Asks to start spinning. Refused when half of the unparked processors, or
    /// `max_spinning`, already spin.
    pub(crate) fn try_begin_spinning(&self) -> bool {
        let state = self.state.load(SeqCst);
        if 2 * spinning(state) >= unparked(state) || spinning(state) >= self.max_spinning {
            return false;
        }
        self.state.fetch_add(1, SeqCst);
        true
    }

    /// A spinner found work. Returns whether it was the last spinner, in which case the
    /// caller must wake another processor (`notify_one`) to look for more work.
    pub(crate) fn end_spinning(&self) -> bool {
        let prev = self.state.fetch_sub(1, SeqCst);
        debug_assert!(spinning(prev) > 0);
        spinning(prev) == 1
    }

    /// Processor `index` is about to park. Returns whether no spinner remains: then the
    /// caller must re-check every queue, and call `notify_one` if it finds work.
    pub(crate) fn transition_to_parked(&self, index: usize, was_spinning: bool) -> bool {
        let mut sleepers = self.sleepers.lock();
        let dec = UNPARKED_ONE + was_spinning as usize;
        let prev = self.state.fetch_sub(dec, SeqCst);
        sleepers.push(index);
        drop(sleepers);
        // Pairs with the fence in `notify_one`: see the module docs.
        fence(SeqCst);
        spinning(prev) == was_spinning as usize
    }

    /// Processor `index` returned from park. Returns `true` if it was woken by
    /// `notify_one` (and so is now spinning), `false` if it woke for another reason, in
    /// which case it takes itself off the sleepers and counts itself unparked.
    pub(crate) fn transition_from_parked(&self, index: usize) -> bool {
        let mut sleepers = self.sleepers.lock();
        match sleepers.iter().position(|&i| i == index) {
            Some(pos) => {
                sleepers.swap_remove(pos);
                self.state.fetch_add(UNPARKED_ONE, SeqCst);
                false
            }
            None => true,
        }
    }

    /// Whether some processor is parked (a racy hint, for the monitor).
    pub(crate) fn has_parked(&self) -> bool {
        unparked(self.state.load(Relaxed)) < self.num_procs
    }

    /// (unparked, spinning) for statistics.
    pub(crate) fn counts(&self) -> (usize, usize) {
        let state = self.state.load(Relaxed);
        (unparked(state), spinning(state))
    }
}
