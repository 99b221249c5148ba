//! The task waker: a hand-written `RawWakerVTable` over the task header.
//!
//! A waker is a pointer to the header plus one reference and one place in the waker count
//! (see `state.rs`). The waker lent to `poll` is not counted: it is built by [`waker_ref`]
//! and never dropped.

use super::raw::{Header, Notified, RawTask};
use super::state::{WakeAction, WakerDropped};
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable, Waker};

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

/// The uncounted waker passed to a task's `poll`. Clones of it are counted.
pub(super) fn waker_ref(raw: RawTask) -> ManuallyDrop<Waker> {
    let raw_waker = RawWaker::new(raw.as_ptr().as_ptr() as *const (), &VTABLE);
    // SAFETY: the vtable functions below uphold the `RawWaker` contract; `ManuallyDrop`
    // keeps the uncounted waker from being dropped (which would decrement the counts).
    ManuallyDrop::new(unsafe { Waker::from_raw(raw_waker) })
}

/// # Safety
/// `ptr` comes from a waker of a live task.
unsafe fn raw(ptr: *const ()) -> RawTask {
    // SAFETY: wakers are built from non-null header pointers; a waker holds a reference.
    unsafe { RawTask::from_raw(NonNull::new_unchecked(ptr as *mut Header)) }
}

unsafe fn clone(ptr: *const ()) -> RawWaker {
    // SAFETY: called on a live waker.
    unsafe { raw(ptr) }.header().state.clone_waker();
    RawWaker::new(ptr, &VTABLE)
}

unsafe fn wake(ptr: *const ()) {
    // SAFETY: called on a live waker, whose reference this call consumes.
    let raw = unsafe { raw(ptr) };
    note_wake(raw);
    match raw.header().state.transition_to_notified_by_val() {
        WakeAction::Nothing => {}
        WakeAction::Dealloc => raw.dealloc(),
        WakeAction::Submit => submit(raw),
    }
}

unsafe fn wake_by_ref(ptr: *const ()) {
    // SAFETY: called on a live waker.
    let raw = unsafe { raw(ptr) };
    note_wake(raw);
    if raw.header().state.transition_to_notified_by_ref() == WakeAction::Submit {
        submit(raw);
    }
}

unsafe fn drop_waker(ptr: *const ()) {
    // SAFETY: called on a live waker, whose reference this call releases.
    let raw = unsafe { raw(ptr) };
    match raw.header().state.drop_waker() {
        WakerDropped::Done => {}
        WakerDropped::Dealloc => raw.dealloc(),
        WakerDropped::Orphaned => {
            raw.header().shared.task_orphaned(raw);
            raw.drop_reference();
        }
    }
}

#[inline]
fn note_wake(raw: RawTask) {
    raw.header().record.wake(raw.id());
}

fn submit(raw: RawTask) {
    // SAFETY: the transition to NOTIFIED accounted a reference for this `Notified`.
    let notified = unsafe { Notified::from_raw(raw) };
    raw.header().shared.schedule(notified);
}
