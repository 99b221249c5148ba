//! The synchronization primitives the readiness protocol uses.
//!
//! `readiness.rs` imports its atomics and its lock from `crate::sync`, never from `std` or
//! `parking_lot` directly, so that the `goro-loom-tests` crate can compile that same file
//! against a `sync` module of its own that maps to `loom`'s types (the code loom checks is the
//! code that ships). Such a module must provide:
//!
//! * `atomic::{AtomicU64, Ordering}` with `load` and `compare_exchange_weak`;
//! * `Mutex<T>` with `Mutex::new(value)` (need not be `const`) and `lock()` returning a guard directly
//!   (parking_lot style, no `LockResult`): wrap `loom::sync::Mutex` and `unwrap()` there.

pub(crate) mod atomic {
    pub(crate) use std::sync::atomic::{AtomicU64, Ordering};
}

pub(crate) use parking_lot::Mutex;
