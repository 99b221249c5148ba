//! The owner word of a lock held exclusively (a `Mutex`, an `RwLock` writer) and the count
//! of the lock's registered waiters: the lock-free part of `track.rs`.
//!
//! An uncontended unlock must not take the side mutex, yet the deadlock walk, which proves
//! a cycle with the side mutex held, must not see a lock granted to a waiter behind its
//! back. The two meet on these two words:
//!
//! * unlock: `clear` swaps the owner to 0 (a read-modify-write), then loads `waiting`; if
//!   a waiter is registered, the caller gives the lock back under the side mutex;
//! * a waiter `add_waiter`s under the side mutex, and the walk later reads the owner with a
//!   read-modify-write (`get`) under the side mutex.
//!
//! If the walk reads owner H, its read-modify-write comes before H's swap in the owner's
//! modification order, and H's swap reads from it (acquire/release): the waiter's increment
//! happens before H's load of `waiting`, which therefore sees the waiter, and H gives the
//! lock back under the side mutex: not while the walk holds it. (Plain SeqCst stores and
//! loads would do on paper; loom models SeqCst as acquire/release and finds the
//! store-buffering outcome, so the protocol is written in the terms loom checks.) The
//! unlock costs an `xchg` and a plain load; the read-modify-write is on the walk's side.
//! `loom-tests` checks this file (`models::lock_owner`).
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
    /// Waiters registered on the lock.
    waiting: AtomicUsize,
}

impl OwnerWord {
    pub(crate) fn new() -> OwnerWord {
        OwnerWord {
            owner: AtomicU64::new(0),
            waiting: AtomicUsize::new(0),
        }
    }

    /// The lock was just granted exclusively to `task` (0: unknown).
    #[inline]
    pub(crate) fn set(&self, task: u64) {
        self.owner.store(task, Relaxed);
    }

    /// The owner now (0: none or unknown); the walk reads it under the side mutex.
    #[inline]
    pub(crate) fn get(&self) -> u64 {
        self.owner.fetch_add(0, AcqRel)
    }

    /// A guard is used by `task` (it may have moved there): `task` owns the lock now.
    #[inline]
    pub(crate) fn touch(&self, task: u64) {
        if task != 0 && self.owner.load(Relaxed) != task {
            self.owner.store(task, Relaxed);
        }
    }

    /// The owner lets go. Returns whether a waiter is registered: then the caller must give
    /// the lock back under the side mutex.
    #[inline]
    pub(crate) fn clear(&self) -> bool {
        self.owner.swap(0, AcqRel);
        self.waiting.load(Acquire) != 0
    }

    /// A waiter registers (caller holds the side mutex).
    pub(crate) fn add_waiter(&self) {
        self.waiting.fetch_add(1, AcqRel);
    }

    /// A waiter leaves (caller holds the side mutex).
    pub(crate) fn remove_waiter(&self) {
        self.waiting.fetch_sub(1, AcqRel);
    }
}
