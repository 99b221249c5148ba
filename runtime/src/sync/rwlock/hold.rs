//! A guard's hold on an [`RwLock`]: the lock (borrowed or behind an `Arc`), the record of
//! the holder and the permits to give back, given back when dropped.
//!
//! Every guard keeps one. The guards themselves only point at (a part of) the data, so a
//! guard is mapped (`RwLockReadGuard::map`, ...) or downgraded by moving its hold into a
//! new guard: the holder stays recorded all along, until the last guard drops. A borrowed
//! guard's hold keeps the lock's parts ([`Parts`]) rather than the `RwLock<T>`, so a
//! mapped guard need not know `T`.

use super::super::track::{Held, Track};
use super::RwLock;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// What a hold needs of its lock.
pub(crate) trait LockRef {
    /// The lock's holders and waiters.
    fn track(&self) -> &Track;
    /// The lock's semaphore.
    fn sem(&self) -> &Semaphore;
}

/// The parts of a borrowed [`RwLock`] a hold needs.
pub(crate) struct Parts<'a> {
    pub(super) track: &'a Track,
    pub(super) sem: &'a Semaphore,
}

impl LockRef for Parts<'_> {
    fn track(&self) -> &Track {
        self.track
    }
    fn sem(&self) -> &Semaphore {
        self.sem
    }
}

impl<T: ?Sized> LockRef for Arc<RwLock<T>> {
    fn track(&self) -> &Track {
        self.track.get()
    }
    fn sem(&self) -> &Semaphore {
        &self.sem
    }
}

/// A hold of `permits` permits of `lock`, recorded as `held`; see the module docs.
pub(crate) struct Hold<L: LockRef> {
    pub(super) lock: L,
    held: Held,
    permits: u32,
}

impl<L: LockRef> Hold<L> {
    /// Takes over `permits` permits of `lock`, recorded as `held`.
    pub(super) fn new(lock: L, held: Held, permits: u32) -> Hold<L> {
        Hold {
            lock,
            held,
            permits,
        }
    }

    /// The write hold becomes a read hold, without letting a writer in between; `known`:
    /// whether the reader is known to be the task that wrote.
    pub(super) fn downgrade(&mut self, known: bool) {
        let give_back = self.permits as usize - 1;
        self.held = self
            .lock
            .track()
            .downgrade(self.lock.sem(), give_back, known);
        self.permits = 1;
    }
}

impl<L: LockRef> Drop for Hold<L> {
    fn drop(&mut self) {
        let (track, sem) = (self.lock.track(), self.lock.sem());
        track.release(sem, self.held, self.permits as usize);
    }
}
