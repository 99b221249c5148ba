//! The owner word of a lock held exclusively (a `Mutex`, an `RwLock` writer) and the count
//! of the lock's *watchers*: the lock-free part of `track.rs`.
//!
//! An unlock should not take the side mutex, yet the deadlock walk, which proves a cycle
//! with the side mutex held, must not see a lock granted to a waiter behind its back. The
//! two meet on these two words:
//!
//! * unlock: `clear` swaps the owner to 0 (a read-modify-write), then loads `watchers`; if
//!   anyone watches, the caller gives the lock back under the side mutex;
//! * a watcher `watch`es before it reads the owner with a read-modify-write (`get`) under
//!   the side mutex, and `unwatch`es once done. The walk's proof watches every lock it
//!   checks; waiters that are listed in the side state (`RwLock`, `Semaphore`) watch for as
//!   long as they wait. A `Mutex` waiter does not: the contended `Mutex`, the common case,
//!   then hands its lock over without the side mutex and with no shared counter written by
//!   every waiter (cache lines that ping-pong between cores).
//!
//! If the walk reads owner H, its read-modify-write comes before H's swap in the owner's
//! modification order, and H's swap reads from it (acquire/release): the walk's `watch`
//! happens before H's load of `watchers`, which therefore sees it, and H gives the lock
//! back under the side mutex: not while the walk holds it. (Plain SeqCst stores and
//! loads would do on paper; loom models SeqCst as acquire/release and finds the
//! store-buffering outcome, so the protocol is written in the terms loom checks.) The
//! unlock costs an `xchg` and a plain load; the read-modify-writes are on the walk's side.
//! `loom-tests` checks this file (`models::lock_owner`), and fails without the `watch`.
//!
//! This file takes its atomics from `crate::sync::atomic`, so `goro-loom-tests` can compile
//! it against loom's.

use crate::sync::atomic::{
    AtomicU64, AtomicUsize,
    Ordering::{AcqRel, Acquire, Relaxed},
};

/// See the module docs.
pub(crate) struct OwnerWord {
    /// The owning task's id; 0: not held exclusively, or by an unknown task.
    owner: AtomicU64,
    /// Walks in their proof, and waiters listed in the side state.
    watchers: AtomicUsize,
}

impl OwnerWord {
    pub(crate) fn new() -> OwnerWord {
        OwnerWord {
            owner: AtomicU64::new(0),
            watchers: AtomicUsize::new(0),
        }
    }

    /// The lock was just granted exclusively to `task` (0: unknown).
    #[inline]
    pub(crate) fn set(&self, task: u64) {
        self.owner.store(task, Relaxed);
    }

    /// The owner now (0: none or unknown); a watcher reads it under the side mutex.
    #[inline]
    pub(crate) fn get(&self) -> u64 {
        self.owner.fetch_add(0, AcqRel)
    }

    /// The owner as a hint (it may be changing as it is read); writes nothing.
    #[inline]
    pub(crate) fn peek(&self) -> u64 {
        self.owner.load(Acquire)
    }

    /// A guard is used by `task` (it may have moved there): `task` owns the lock now.
    #[inline]
    pub(crate) fn touch(&self, task: u64) {
        if task != 0 && self.owner.load(Relaxed) != task {
            self.owner.store(task, Relaxed);
        }
    }

    /// The owner lets go. Returns whether anyone watches: then the caller must give the
    /// lock back under the side mutex.
    #[inline]
    pub(crate) fn clear(&self) -> bool {
        self.owner.swap(0, AcqRel);
        self.watchers.load(Acquire) != 0
    }

    /// A watcher starts (before it reads the owner with [`get`](OwnerWord::get)).
    pub(crate) fn watch(&self) {
        self.watchers.fetch_add(1, AcqRel);
    }

    /// A watcher is done.
    pub(crate) fn unwatch(&self) {
        self.watchers.fetch_sub(1, AcqRel);
    }
}
