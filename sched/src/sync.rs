//! The synchronization primitives the concurrent protocols use.
//!
//! Protocol files (`task/state.rs`, `runnext.rs`, `idle.rs`, `park.rs`, `ownership.rs`,
//! `time/entry.rs`) import their atomics and locks from `crate::sync`, never from `std` or
//! `parking_lot` directly. The
//! `goro-loom-tests` crate compiles those same files with its own `sync` module that maps to
//! `loom`'s types, so the code that loom checks is the code that ships.

pub(crate) mod atomic {
    pub(crate) use std::sync::atomic::{
        fence, AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering,
    };
}

pub(crate) mod hint {
    pub(crate) use std::hint::spin_loop;
}

pub(crate) use parking_lot::Mutex;
