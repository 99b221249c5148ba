//! [`Sleeper`]: where a parked processor blocks when another processor watches the I/O.
//!
//! A runtime of several processors has one thread at a time blocked in the poller watch
//! (see `Processor::park`); the other parked processors block here, each in its own, until
//! their earliest timer or an unpark. Like an eventfd, a wake is remembered until the next
//! sleep consumes it, so a wake that comes before the sleep is not lost.

use parking_lot::{Condvar, Mutex};
use std::time::Duration;

#[derive(Default)]
pub(crate) struct Sleeper {
    woken: Mutex<bool>,
    wake: Condvar,
}

impl Sleeper {
    /// Blocks until [`Sleeper::wake`] or the timeout (`None`: none), then forgets the wake.
    pub(crate) fn sleep(&self, timeout: Option<Duration>) {
        let mut woken = self.woken.lock();
        if !*woken {
            match timeout {
                Some(timeout) => {
                    self.wake.wait_for(&mut woken, timeout);
                }
                None => self.wake.wait(&mut woken),
            }
        }
        *woken = false;
    }

    /// Ends the current sleep, or the next one at once.
    pub(crate) fn wake(&self) {
        *self.woken.lock() = true;
        self.wake.notify_one();
    }
}
