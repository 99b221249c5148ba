//! The `runnext` slot of a processor.
//!
//! A task woken or spawned by the running task goes into its processor's `runnext` slot and
//! runs next, ahead of the local queue, inheriting the rest of the time slice (Go's
//! `p.runnext`). This keeps a producer and its consumer on one core, hot in cache, when they
//! hand work back and forth (channels, request/response pairs).
//!
//! The slot holds one task pointer. Only the owning processor puts a task in
//! ([`Runnext::replace`]); the previous occupant is handed back so the owner can push it to
//! the tail of its local queue. Both the owner and thieves take the task out with a `swap`
//! ([`Runnext::take`]), so a task is taken exactly once. Thieves only do that when the owner
//! looks stuck in a long poll; see `Processor::steal_from`.
//!
//! The slot stores a type-erased pointer; `T` is the task handle type, converted with
//! [`SlotItem`], so the loom model can use a simple stand-in.

use crate::sync::atomic::{AtomicPtr, Ordering::*};
use std::marker::PhantomData;
use std::ptr::{self, NonNull};

/// A value that can live in the slot as one non-null pointer.
pub(crate) trait SlotItem {
    fn into_ptr(self) -> NonNull<()>;
    /// # Safety
    /// `ptr` must come from `into_ptr` and be converted back once.
    unsafe fn from_ptr(ptr: NonNull<()>) -> Self;
}

pub(crate) struct Runnext<T: SlotItem> {
    slot: AtomicPtr<()>,
    _item: PhantomData<T>,
}

impl<T: SlotItem> Runnext<T> {
    pub(crate) fn new() -> Runnext<T> {
        Runnext {
            slot: AtomicPtr::new(ptr::null_mut()),
            _item: PhantomData,
        }
    }

    /// Owner only: puts `item` in the slot and returns the task it displaced.
    pub(crate) fn replace(&self, item: T) -> Option<T> {
        let prev = self.slot.swap(item.into_ptr().as_ptr(), AcqRel);
        // SAFETY: whatever was in the slot came from `into_ptr` and is taken out once, here.
        NonNull::new(prev).map(|p| unsafe { T::from_ptr(p) })
    }

    /// Owner or thief: takes the task out of the slot, if any.
    pub(crate) fn take(&self) -> Option<T> {
        if self.slot.load(Relaxed).is_null() {
            return None;
        }
        let prev = self.slot.swap(ptr::null_mut(), AcqRel);
        // SAFETY: as in `replace`: the swap hands the pointer to exactly one taker.
        NonNull::new(prev).map(|p| unsafe { T::from_ptr(p) })
    }

    /// Whether the slot looks occupied (a racy hint).
    pub(crate) fn is_occupied(&self) -> bool {
        !self.slot.load(Acquire).is_null()
    }
}

impl<T: SlotItem> Drop for Runnext<T> {
    fn drop(&mut self) {
        drop(self.take());
    }
}
