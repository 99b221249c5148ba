//! [`Sleeper`]: where a parked processor blocks when another processor watches the I/O.
//!
//! A runtime of several processors has one thread at a time blocked in the poller watch
//! (see `Processor::park`); the other parked processors block here, each in its own, until
//! their earliest timer, an unpark, or an offer of the watch (its holder left it to run
//! a long poll: see `Shared::offer_watch`). Like an eventfd, a wake or an offer is remembered
//! until the next sleep consumes it, so one that comes before the sleep is not lost.

use parking_lot::{Condvar, Mutex};
use std::time::Duration;

#[derive(Default)]
pub(crate) struct Sleeper {
    state: Mutex<Signals>,
    wake: Condvar,
}

#[derive(Default)]
struct Signals {
    woken: bool,
    watch_offered: bool,
}

/// Why a [`Sleeper::sleep`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SleepEnd {
    /// [`Sleeper::wake`] (an unpark), or the timeout.
    Woken,
    /// Only [`Sleeper::offer_watch`]: the poller watch has no waiter.
    WatchOffered,
}

impl Sleeper {
    /// Blocks until [`Sleeper::wake`], [`Sleeper::offer_watch`] or the timeout (`None`:
    /// none), then forgets them. A wake wins over an offer.
    pub(crate) fn sleep(&self, timeout: Option<Duration>) -> SleepEnd {
        let mut signals = self.state.lock();
        if !signals.woken && !signals.watch_offered {
            match timeout {
                Some(timeout) => {
                    self.wake.wait_for(&mut signals, timeout);
                }
                None => self.wake.wait(&mut signals),
            }
        }
        let end = if signals.watch_offered && !signals.woken {
            SleepEnd::WatchOffered
        } else {
            SleepEnd::Woken
        };
        *signals = Signals::default();
        end
    }

    /// Ends the current sleep, or the next one at once.
    pub(crate) fn wake(&self) {
        self.state.lock().woken = true;
        self.wake.notify_one();
    }

    /// Tells the sleeping processor that the poller watch is free, so it waits there.
    pub(crate) fn offer_watch(&self) {
        self.state.lock().watch_offered = true;
        self.wake.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_before_the_sleep_are_remembered_and_a_wake_wins() {
        let sleeper = Sleeper::default();
        sleeper.offer_watch();
        assert_eq!(sleeper.sleep(None), SleepEnd::WatchOffered);
        sleeper.offer_watch();
        sleeper.wake();
        assert_eq!(sleeper.sleep(None), SleepEnd::Woken);
        assert_eq!(
            sleeper.sleep(Some(Duration::from_millis(1))),
            SleepEnd::Woken,
            "a timeout"
        );
    }
}
