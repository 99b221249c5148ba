//! The typed half of a task: allocation, poll, completion, cancellation, output hand-over.
//!
//! The future and the output share one slot, a `union` ([`Stage`]): which of them it holds
//! (if any) follows from the state word, so the slot needs no tag of its own, which would
//! cost a word in every task. Exclusive access to either is given by the state word too:
//! * the future is in the slot from the spawn until the thread that holds RUNNING drops it,
//!   right before it writes the output and sets COMPLETE: it is there iff COMPLETE is clear
//!   (a task is never freed between the two, as that thread holds a reference);
//! * the output is written by that thread before it sets COMPLETE, and afterwards belongs to
//!   the `JoinHandle` if JOIN_INTEREST was set at that moment (it cannot change once the task
//!   is complete), or is dropped by the completing thread if it was not. The `JoinHandle`
//!   sets OUTPUT_TAKEN when it moves the output out or drops it, so the output is in the
//!   slot iff COMPLETE and JOIN_INTEREST are set and OUTPUT_TAKEN is clear;
//! * the join waker slot is written by the `JoinHandle` only while JOIN_WAKER is clear and the
//!   task is not complete; while JOIN_WAKER is set both sides only read it. The waker is
//!   dropped by the `JoinHandle` when it clears JOIN_WAKER, or with the allocation.

use super::raw::{Header, Notified, RawTask, Vtable};
use super::state::{ToIdle, ToRunning};
use super::waker::waker_ref;
use super::JoinError;
use std::cell::UnsafeCell;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, Waker};

/// The whole task allocation. `header` must stay first: a `*Header` is a `*Cell<F>`.
#[repr(C)]
struct Cell<F: Future> {
    header: Header,
    stage: UnsafeCell<Stage<F>>,
    join_waker: UnsafeCell<Option<Waker>>,
}

/// The future or its output, or neither; which one the state word says (see the module
/// docs).
union Stage<F: Future> {
    future: ManuallyDrop<F>,
    output: ManuallyDrop<Result<F::Output, JoinError>>,
}

pub(super) fn vtable<F, const BLOCKING: bool>() -> &'static Vtable
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    &Vtable {
        poll: poll::<F>,
        dealloc: dealloc::<F>,
        try_read_output: try_read_output::<F>,
        drop_join_handle: drop_join_handle::<F>,
        shutdown: shutdown::<F>,
        blocking: BLOCKING,
    }
}

pub(super) fn allocate<F: Future>(header: Header, future: F) -> NonNull<Header> {
    let cell = Box::new(Cell {
        header,
        stage: UnsafeCell::new(Stage {
            future: ManuallyDrop::new(future),
        }),
        join_waker: UnsafeCell::new(None),
    });
    // `Cell` is `repr(C)` with the header first, so the cast is to its first field.
    NonNull::from(Box::leak(cell)).cast()
}

impl<F: Future> Drop for Cell<F> {
    /// Drops what the slot still holds. Normally nothing: the future is dropped before the
    /// task completes, and the output by whoever owns it; this covers a task freed otherwise.
    fn drop(&mut self) {
        let state = self.header.state.load();
        let stage = self.stage.get_mut();
        if !state.is_complete() {
            // SAFETY: not complete, so the future is in the slot (module docs), and we are
            // its last owner.
            unsafe { ManuallyDrop::drop(&mut stage.future) };
        } else if state.is_join_interested() && !state.is_output_taken() {
            // SAFETY: complete, the output went to the JoinHandle, which has not taken it.
            unsafe { ManuallyDrop::drop(&mut stage.output) };
        }
    }
}

/// # Safety
/// `ptr` must be the header of a live `Cell<F>`.
unsafe fn cell<'a, F: Future>(ptr: NonNull<Header>) -> &'a Cell<F> {
    // SAFETY: per the caller; the header is the first field of the `repr(C)` cell.
    unsafe { ptr.cast::<Cell<F>>().as_ref() }
}

impl<F: Future> Cell<F> {
    fn raw(&self) -> RawTask {
        // SAFETY: `self` is a live task.
        unsafe { RawTask::from_raw(NonNull::from(&self.header)) }
    }

    /// # Safety
    /// The caller holds RUNNING, or owns the completed output.
    #[allow(clippy::mut_from_ref)]
    unsafe fn stage(&self) -> &mut Stage<F> {
        // SAFETY: exclusive per the caller (see the module docs).
        unsafe { &mut *self.stage.get() }
    }

    /// Moves the output out of the slot.
    ///
    /// # Safety
    /// The caller owns the completed output, which is in the slot; it is not afterwards.
    unsafe fn take_output(&self) -> Result<F::Output, JoinError> {
        // SAFETY: per the caller.
        unsafe { ManuallyDrop::take(&mut self.stage().output) }
    }

    /// Drops the output in the slot, with a panic in its drop swallowed (there is nobody
    /// to report it to).
    ///
    /// # Safety
    /// As for [`take_output`](Self::take_output).
    unsafe fn drop_output(&self) {
        // SAFETY: per the caller.
        let output = unsafe { self.take_output() };
        let _ = catch_unwind(AssertUnwindSafe(move || drop(output)));
    }

    /// Polls the future with panics caught. Caller holds RUNNING.
    fn poll_future(&self) -> std::thread::Result<Poll<F::Output>> {
        let waker = waker_ref(self.raw());
        let mut cx = Context::from_waker(&waker);
        let id = self.header.id;
        crate::context::with_current_task(id, || {
            catch_unwind(AssertUnwindSafe(|| {
                // SAFETY: caller holds RUNNING of a task that is not complete, so the
                // future is in the slot and ours.
                let future = unsafe { &mut *self.stage().future };
                // SAFETY: the future lives in the heap cell and is never moved until dropped.
                unsafe { Pin::new_unchecked(future) }.poll(&mut cx)
            }))
        })
    }

    /// Drops the future with panics caught; `Err` carries the panic. Caller holds RUNNING
    /// and calls [`complete`](Self::complete) next (the slot holds nothing in between).
    fn drop_future(&self) -> std::thread::Result<()> {
        // SAFETY: caller holds RUNNING of a task that is not complete: the future is in the
        // slot and ours; a panic in its drop leaves it dropped as far as it goes.
        catch_unwind(AssertUnwindSafe(|| unsafe {
            ManuallyDrop::drop(&mut self.stage().future)
        }))
    }

    /// Drops the future of a cancelled task and completes it.
    fn cancel(&self) {
        let id = self.header.id;
        let output = match self.drop_future() {
            Ok(()) if self.header.record.is_reclaimed() => Err(JoinError::orphaned(id)),
            Ok(()) => Err(JoinError::cancelled(id)),
            Err(panic) => Err(JoinError::panic(id, panic)),
        };
        self.complete(output);
    }

    /// Stores the output, publishes COMPLETE, wakes the joiner, and releases the caller's
    /// reference (plus the registry's). The future must already be dropped.
    fn complete(&self, output: Result<F::Output, JoinError>) {
        // SAFETY: we hold RUNNING until the transition below, and the future is dropped.
        unsafe { self.stage().output = ManuallyDrop::new(output) };
        // Leave the registry first, so whoever the completion wakes sees the task gone from
        // the live counts.
        let raw = self.raw();
        let lifetime = self.header.record.sampled_lifetime(self.header.id);
        let registered = self.header.shared.task_completed(raw, lifetime);
        let prev = self.header.state.transition_to_complete();
        if !prev.is_join_interested() {
            // Nobody will read the output: drop it here.
            // SAFETY: without join interest the completing thread owns the output.
            unsafe { self.drop_output() };
        } else if prev.has_join_waker() {
            // SAFETY: JOIN_WAKER was set when we completed, so the JoinHandle only reads.
            if let Some(waker) = unsafe { &*self.join_waker.get() } {
                waker.wake_by_ref();
            }
        }
        if self.header.state.ref_dec(1 + registered as u64) {
            raw.dealloc();
        }
    }

    /// The JoinHandle side: is the output ready? If not, leave `waker` to be woken.
    fn can_read_output(&self, waker: &Waker) -> bool {
        let snapshot = self.header.state.load();
        if snapshot.is_complete() {
            return true;
        }
        if snapshot.has_join_waker() {
            // SAFETY: JOIN_WAKER is set, so both sides only read the slot.
            let same = unsafe { &*self.join_waker.get() }
                .as_ref()
                .is_some_and(|w| w.will_wake(waker));
            if same {
                return false;
            }
            if self.header.state.unset_join_waker().is_err() {
                return true;
            }
        }
        self.set_join_waker(waker.clone()).is_err()
    }

    /// Writes the join waker and publishes it; `Err` if the task completed first.
    fn set_join_waker(&self, waker: Waker) -> Result<(), ()> {
        // SAFETY: JOIN_WAKER is clear and the task was not complete, so the slot is ours.
        unsafe { *self.join_waker.get() = Some(waker) };
        let res = self.header.state.set_join_waker();
        if res.is_err() {
            // SAFETY: the flag was not published, so the completing side never reads it.
            unsafe { *self.join_waker.get() = None };
        }
        res
    }
}

/// Vtable `poll`: runs one poll; consumes the `Notified` reference.
unsafe fn poll<F: Future + Send + 'static>(ptr: NonNull<Header>)
where
    F::Output: Send + 'static,
{
    // SAFETY: the vtable is only reached through a live task of this type.
    let cell = unsafe { cell::<F>(ptr) };
    match cell.header.state.transition_to_running() {
        ToRunning::Skip => cell.raw().drop_reference(),
        ToRunning::Cancel => cell.cancel(),
        ToRunning::Poll => poll_running(cell),
    }
}

fn poll_running<F: Future>(cell: &Cell<F>) {
    let id = cell.header.id;
    if let Some(woken_at) = cell.header.record.begin_poll() {
        cell.header.shared.stats.scheduling_latency(woken_at);
    }
    match cell.poll_future() {
        Ok(Poll::Ready(value)) => {
            let output = match cell.drop_future() {
                Ok(()) => Ok(value),
                Err(panic) => Err(JoinError::panic(id, panic)),
            };
            cell.complete(output);
        }
        Err(panic) => {
            // The future panicked; drop it (a second panic in its drop is ignored).
            let _ = cell.drop_future();
            cell.complete(Err(JoinError::panic(id, panic)));
        }
        Ok(Poll::Pending) => {
            let suspension = crate::context::take_suspension();
            cell.header.record.suspend(suspension);
            let parked = to_idle(cell);
            // A task woken during its poll is queued again, not waiting: no walk.
            if parked && suspension.is_some_and(|s| s.op.is_lock()) {
                super::suspend::started_lock_wait(id);
            }
        }
    }
}

/// The poll returned `Pending`: leave RUNNING. Returns whether the task is idle now
/// (not woken during its poll, nor cancelled).
fn to_idle<F: Future>(cell: &Cell<F>) -> bool {
    match cell.header.state.transition_to_idle() {
        ToIdle::Idle => return true,
        ToIdle::Orphaned => {
            let raw = cell.raw();
            cell.header.shared.task_orphaned(raw);
            raw.drop_reference();
        }
        ToIdle::Notified => {
            // SAFETY: the transition kept our reference for the new `Notified`.
            let notified = unsafe { Notified::from_raw(cell.raw()) };
            cell.header.shared.schedule_yield(notified);
        }
        ToIdle::Cancel => cell.cancel(),
    }
    false
}

/// Vtable `dealloc`.
unsafe fn dealloc<F: Future>(ptr: NonNull<Header>) {
    // SAFETY: the last reference is gone; the cell came from `Box::leak` in `allocate`. Its
    // `Drop` drops what the slot still holds.
    drop(unsafe { Box::from_raw(ptr.cast::<Cell<F>>().as_ptr()) });
}

/// Vtable `try_read_output`.
unsafe fn try_read_output<F: Future>(ptr: NonNull<Header>, dst: *mut (), waker: &Waker) {
    // SAFETY: called by the JoinHandle, which holds a reference.
    let cell = unsafe { cell::<F>(ptr) };
    if !cell.can_read_output(waker) {
        return;
    }
    if cell.header.state.take_output().is_err() {
        panic!("JoinHandle polled after it returned the task's output");
    }
    // SAFETY: the task is complete with join interest, and we just marked the output taken:
    // it was in the slot, and it is ours.
    let output = unsafe { cell.take_output() };
    // SAFETY: the caller passes a `*mut Poll<Result<F::Output, JoinError>>`.
    unsafe { *dst.cast::<Poll<Result<F::Output, JoinError>>>() = Poll::Ready(output) };
}

/// Vtable `drop_join_handle`: releases join interest and the JoinHandle's reference.
unsafe fn drop_join_handle<F: Future>(ptr: NonNull<Header>) {
    // SAFETY: called by the JoinHandle, which holds a reference.
    let cell = unsafe { cell::<F>(ptr) };
    match cell.header.state.unset_join_interest() {
        Err(_complete) => {
            if cell.header.state.take_output().is_ok() {
                // SAFETY: complete with join interest, and we just marked the output taken:
                // it was in the slot, and it is ours to drop.
                unsafe { cell.drop_output() };
            }
        }
        Ok(prev) if prev.has_join_waker() => {
            // SAFETY: we cleared JOIN_WAKER before COMPLETE, so the slot is ours.
            unsafe { *cell.join_waker.get() = None };
        }
        Ok(_) => {}
    }
    cell.raw().drop_reference();
}

/// Vtable `shutdown`: the registry hands over its reference.
unsafe fn shutdown<F: Future>(ptr: NonNull<Header>) {
    // SAFETY: the registry's reference keeps the task alive.
    let cell = unsafe { cell::<F>(ptr) };
    if cell.header.state.transition_to_shutdown() {
        cell.cancel();
    } else {
        cell.raw().drop_reference();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::record::TaskRecord;
    use std::mem::size_of;

    /// A future of 24 bytes, like a small `async` block holding three words.
    struct Small(#[allow(dead_code)] [u64; 3]);

    impl Future for Small {
        type Output = ();
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            Poll::Ready(())
        }
    }

    /// Counts its drops.
    #[derive(Debug)]
    struct Dropped(std::sync::Arc<std::sync::atomic::AtomicUsize>);

    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    /// The slot has no tag: who drops the output, and when, follows from the state word
    /// alone. Whatever becomes of the `JoinHandle`, the output is dropped exactly once.
    #[test]
    fn the_output_is_dropped_exactly_once_whoever_owns_it() {
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        use std::sync::Arc;
        let rt = crate::Scheduler::new(crate::Config::with_processors(1)).unwrap();
        let h = rt.handle();
        let count = Arc::new(AtomicUsize::new(0));
        let output = |count: &Arc<AtomicUsize>| {
            let count = count.clone();
            async move { Dropped(count) }
        };
        let wait_for = |n: usize| {
            let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while count.load(SeqCst) < n && std::time::Instant::now() < until {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            assert_eq!(count.load(SeqCst), n);
        };
        // Read by the JoinHandle: dropped by whoever holds it then.
        let value = h.block_on(h.spawn(output(&count), None)).unwrap();
        assert_eq!(count.load(SeqCst), 0);
        drop(value);
        assert_eq!(count.load(SeqCst), 1);
        // Never read: dropped with the JoinHandle, after the task completed.
        let join = h.spawn(output(&count), None);
        while !join.is_finished() {
            std::thread::yield_now();
        }
        assert_eq!(count.load(SeqCst), 1);
        drop(join);
        assert_eq!(count.load(SeqCst), 2);
        // Detached: dropped by the task as it completes.
        drop(h.spawn(output(&count), None));
        wait_for(3);
        // Polled again after it returned the output: a panic, not a second read.
        let mut join = h.spawn(output(&count), None);
        let mut poll = || h.block_on(std::future::poll_fn(|cx| Pin::new(&mut join).poll(cx)));
        drop(poll().unwrap());
        assert_eq!(count.load(SeqCst), 4);
        let again = catch_unwind(AssertUnwindSafe(poll)).unwrap_err();
        assert_eq!(
            again.downcast_ref::<&str>(),
            Some(&"JoinHandle polled after it returned the task's output")
        );
        drop(join);
        drop(rt);
        assert_eq!(count.load(SeqCst), 4);
    }

    /// The header and the whole allocation of a task with a 24-byte future, pinned: a
    /// field added to the header (or the record) must be paid for by another.
    ///
    /// 128 bytes, as tokio's task for the same future (measured by `goro-tools`'
    /// `task_bytes` test; tokio's `Cell` is 128-byte aligned on x86-64, so no task of it is
    /// smaller): the header 88 (state word, vtable, id, runtime, registry links: 48; the
    /// task record: 40, see `record.rs`), the slot for the future or its output 24 (a union
    /// without a tag, see the module docs), the join waker 16. It was 208, then 176.
    #[test]
    fn the_task_header_is_pinned() {
        assert_eq!(size_of::<TaskRecord>(), 40);
        assert_eq!(size_of::<JoinError>(), 24);
        assert_eq!(size_of::<Header>(), 88);
        assert_eq!(size_of::<Stage<Small>>(), 24);
        assert_eq!(size_of::<Cell<Small>>(), 128);
    }
}
