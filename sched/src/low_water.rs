//! Retiring the idle threads a pool does not need: the spare machines (`machine.rs`) and
//! the blocking pool (`blocking.rs`).
//!
//! Both pools park idle threads on a condition variable and wake one per piece of work.
//! parking_lot's condition variable wakes the longest waiter first, so the idle threads are
//! used in turn: with work arriving every few hundred milliseconds, no idle thread ever
//! waits a whole keep-alive, and a pool that grew in a burst (four stuck polls at once,
//! a blocking call queued while the previous one's thread was still on its way back to
//! idle) kept its peak size forever. A soak at 2 processors showed it: 7 machines, 5 of
//! them spare, and the process's threads creeping from 13 to 20 in a minute.
//!
//! So a pool does not ask whether one thread waited a whole keep-alive, but whether some
//! of its threads were not needed during one: its *low-water mark*, the fewest idle threads
//! available at any moment of the window. That many threads were idle all along, whichever
//! ones they were; at the end of the window, all of them but the ones the pool keeps
//! (`keep`: one spare machine, so that a handoff never waits for a new thread; no blocking
//! thread) retire, each the next time it is about to wait. Every idle thread wakes at least
//! once a window (it waits with the keep-alive as its timeout), so the retirements happen
//! within two windows of the burst.

use std::time::{Duration, Instant};

/// The low-water mark of a pool's idle threads over windows of one keep-alive.
pub(crate) struct LowWater {
    period: Duration,
    window_start: Instant,
    /// The fewest idle threads available since `window_start`.
    low: usize,
    /// Threads still to retire, found surplus at the end of the last window.
    retire: usize,
}

impl LowWater {
    /// Windows of `period` (the pool's keep-alive).
    pub(crate) fn new(period: Duration) -> LowWater {
        LowWater {
            period,
            window_start: Instant::now(),
            low: 0,
            retire: 0,
        }
    }

    /// Work claimed an idle thread: `available` are left.
    pub(crate) fn claimed(&mut self, available: usize) {
        self.low = self.low.min(available);
    }

    /// An idle thread is about to wait at `now`, with `others` idle threads available
    /// besides it. Returns whether it should exit instead, as a surplus the pool does not
    /// need (never leaving fewer than `keep` available).
    pub(crate) fn should_retire(&mut self, now: Instant, others: usize, keep: usize) -> bool {
        if now.saturating_duration_since(self.window_start) >= self.period {
            self.retire = self.low.saturating_sub(keep);
            self.window_start = now;
            self.low = others + 1;
        }
        if self.retire > 0 && others >= keep {
            self.retire -= 1;
            self.low = self.low.min(others);
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERIOD: Duration = Duration::from_secs(10);

    /// A pool of `n` idle threads, each about to wait at `at`; how many retire.
    fn retirements(w: &mut LowWater, at: Instant, n: usize, keep: usize) -> usize {
        let mut left = n;
        for _ in 0..n {
            if w.should_retire(at, left - 1, keep) {
                left -= 1;
            }
        }
        n - left
    }

    #[test]
    fn threads_used_in_turn_still_retire_when_fewer_would_do() {
        let mut w = LowWater::new(PERIOD);
        let start = w.window_start;
        // Five spares; every 250 ms one is claimed and another comes back: never fewer
        // than four available, although no spare waits a whole period.
        assert_eq!(retirements(&mut w, start + PERIOD, 5, 1), 0);
        let mut t = start + PERIOD;
        while t < start + 2 * PERIOD {
            w.claimed(4);
            assert!(!w.should_retire(t, 4, 1));
            t += Duration::from_millis(250);
        }
        // Four were idle all window long; three go, the spare that is kept stays.
        assert_eq!(retirements(&mut w, start + 2 * PERIOD, 5, 1), 3);
        assert_eq!(retirements(&mut w, start + 2 * PERIOD, 2, 1), 0);
    }

    #[test]
    fn a_pool_that_needs_all_its_threads_keeps_them() {
        let mut w = LowWater::new(PERIOD);
        let start = w.window_start;
        assert_eq!(retirements(&mut w, start + PERIOD, 4, 0), 0);
        // Once in the window, all four were busy at the same time.
        w.claimed(0);
        assert_eq!(retirements(&mut w, start + 2 * PERIOD, 4, 0), 0);
        // The next window nobody came: all four retire (the blocking pool keeps none).
        assert_eq!(retirements(&mut w, start + 3 * PERIOD, 4, 0), 4);
    }
}
