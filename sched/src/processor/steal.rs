//! Searching for work on other processors: stealing half of a victim's local queue, a
//! stuck victim's `runnext` task, and (in `timers.rs`) its overdue timers. A searching
//! processor counts as *spinning* in the idle protocol (`idle.rs`), and at most half of the
//! processors spin at once, as in Go's `findrunnable`.

use super::Processor;
use crate::task::Notified;
use crossbeam_deque::Steal;
use std::time::{Duration, Instant};

/// At most this many tasks move in one steal (on top of the half-the-queue limit).
const STEAL_BATCH_MAX: usize = 1024;

/// Rounds over all victims before a spinning processor gives up.
const STEAL_ROUNDS: usize = 4;

/// How long a victim must stay in the same poll before its `runnext` task is stolen.
const RUNNEXT_STEAL_DELAY: Duration = Duration::from_micros(5);

impl Processor {
    pub(super) fn stop_spinning(&self) {
        self.spinning.set(false);
        if self.shared().idle.end_spinning() {
            // The last spinner found work; there may be more: wake another searcher.
            self.shared().notify_work();
        }
    }

    /// Spins looking for work on other processors and the injector. Returns `None` when
    /// there is nothing, or when too many processors already spin.
    pub(crate) fn search(&self) -> Option<Notified> {
        if !self.spinning.get() {
            if !self.shared().idle.try_begin_spinning() {
                return None;
            }
            self.spinning.set(true);
        }
        if self.steal_timers() > 0 {
            if let Some(task) = self.take_woken() {
                return Some(task);
            }
        }
        let n = self.shared().procs.len();
        for round in 0..STEAL_ROUNDS {
            let start = self.next_rand() as usize % n;
            for i in 0..n {
                let victim = (start + i) % n;
                if victim == self.index {
                    continue;
                }
                if let Some(task) = self.steal_half(victim) {
                    return Some(task);
                }
                if round == STEAL_ROUNDS - 1 {
                    if let Some(task) = self.steal_runnext(victim) {
                        return Some(task);
                    }
                }
            }
            if let Some(task) = self.pop_injector() {
                return Some(task);
            }
        }
        None
    }

    /// Steals half of `victim`'s local queue (crossbeam never takes more than half,
    /// rounded up) into ours and returns one of the tasks.
    pub(super) fn steal_half(&self, victim: usize) -> Option<Notified> {
        let stealer = &self.shared().procs[victim].stealer;
        if stealer.is_empty() {
            // Two loads; a steal attempt pins crossbeam's epoch, which costs time in the
            // number of threads (thousands, with thousands of processors).
            return None;
        }
        loop {
            match stealer.steal_batch_with_limit_and_pop(&self.local, STEAL_BATCH_MAX) {
                Steal::Success(task) => {
                    let counters = self.counters();
                    counters.steal_ops.incr();
                    counters.steals.add(1 + self.local.len() as u64);
                    return Some(task);
                }
                Steal::Empty => return None,
                Steal::Retry => continue,
            }
        }
    }

    /// Takes `victim`'s `runnext` task if the victim stays inside one poll for
    /// [`RUNNEXT_STEAL_DELAY`] (it would not get to the task soon), like Go's `runqsteal`.
    pub(super) fn steal_runnext(&self, victim: usize) -> Option<Notified> {
        let v = &self.shared().procs[victim];
        if !v.runnext.is_occupied() {
            return None;
        }
        let polls_at_start = v.counters.polls.get();
        let until = Instant::now() + RUNNEXT_STEAL_DELAY;
        while Instant::now() < until {
            std::hint::spin_loop();
        }
        if v.counters.polls.get() != polls_at_start {
            return None;
        }
        let task = v.runnext.take()?;
        self.counters().steals.incr();
        Some(task)
    }
}
