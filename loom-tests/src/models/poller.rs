//! A stand-in for a processor's `goro_netpoll::Poller` as far as parking goes.
//!
//! The poller's eventfd waker is a `Mutex<bool>` + `Condvar`: [`Poller::wake`] leaves a
//! signal that is remembered until a wait consumes it, as the eventfd's edge is until an
//! `epoll_wait` returns it. The poll lock is a separate mutex, held for the whole blocking
//! wait (as `Poller::wait` holds its `poll` lock across `epoll_wait`); [`Poller::try_poll_now`]
//! is poll stealing's entry point: it fails while the owner waits, and otherwise runs a
//! zero-timeout poll that consumes a pending signal, as `epoll_wait(0)` does.
//!
//! The same stand-in serves for the runtime's `PollerWatch` (its poll lock is the right to
//! wait, taken with [`Poller::try_claim`]) and for a processor's `Sleeper` (a remembered
//! wake; its poll lock is unused).

use loom::sync::atomic::{AtomicBool, Ordering::*};
use loom::sync::{Condvar, Mutex};

pub(crate) struct Poller {
    poll_lock: Mutex<()>,
    /// The right to wait in a watch; see [`Poller::try_claim`].
    claimed: AtomicBool,
    signaled: Mutex<bool>,
    cond: Condvar,
}

impl Poller {
    pub(crate) fn new() -> Poller {
        Poller {
            poll_lock: Mutex::new(()),
            claimed: AtomicBool::new(false),
            signaled: Mutex::new(false),
            cond: Condvar::new(),
        }
    }

    /// `Poller::wait(None)`: blocks until a signal (an unpark or an I/O event) is pending,
    /// and consumes it.
    pub(crate) fn wait(&self) {
        let _poll = self.poll_lock.lock().unwrap();
        self.wait_claimed();
    }

    /// `PollerWatch::try_claim`: the right to wait, unless another thread holds it.
    ///
    /// A flag, not `poll_lock.try_lock()`: loom blocks a thread whose next operation is a
    /// `try_lock` of a mutex another thread just locked, until that one unlocks, which
    /// would turn a holder blocked in its wait into a false deadlock.
    pub(crate) fn try_claim(&self) -> Option<Claim<'_>> {
        self.claimed
            .compare_exchange(false, true, Acquire, Relaxed)
            .ok()
            .map(|_| Claim(&self.claimed))
    }

    /// `WatchGuard::wait_then`: [`Poller::wait`] by the holder of the right to wait.
    pub(crate) fn wait_claimed(&self) {
        let mut signaled = self.signaled.lock().unwrap();
        while !*signaled {
            signaled = self.cond.wait(signaled).unwrap();
        }
        *signaled = false;
    }

    /// `Poller::wake`: the eventfd write (or an I/O event becoming ready).
    pub(crate) fn wake(&self) {
        *self.signaled.lock().unwrap() = true;
        self.cond.notify_one();
    }

    /// `Poller::try_poll_now` from another thread: `None` if the owner is polling,
    /// otherwise whether the zero-timeout poll returned (and so consumed) the wake signal.
    pub(crate) fn try_poll_now(&self) -> Option<bool> {
        let _poll = self.poll_lock.try_lock().ok()?;
        Some(std::mem::replace(
            &mut *self.signaled.lock().unwrap(),
            false,
        ))
    }

    /// Whether a signal is pending.
    pub(crate) fn is_signaled(&self) -> bool {
        *self.signaled.lock().unwrap()
    }
}

/// The right to wait in a watch, given up on drop.
pub(crate) struct Claim<'a>(&'a AtomicBool);

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.0.store(false, Release);
    }
}
