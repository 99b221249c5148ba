//! The type-erased task: [`Header`], its [`Vtable`], [`RawTask`] and [`Notified`].
//!
//! A task is one heap allocation, a [`Cell`](super::cell::Cell) laid out as
//! `#[repr(C)] { header, stage, join_waker }`. Everything that does not depend on the
//! future's type lives in the header, and a pointer to the header is a pointer to the cell.
//! The few operations that need the concrete type (poll, read the output, drop the output,
//! free the memory) go through the header's vtable.

use super::harness;
use super::state::State;
use super::{Id, TaskRecord};
use crate::shared::Shared;
use std::cell::UnsafeCell;
use std::future::Future;
use std::ptr::NonNull;
use std::sync::Arc;
use std::task::Waker;

/// The type-independent part of a task. Its size is pinned by `harness.rs`'s
/// `the_task_header_is_pinned`; the spawn site is an index in the record and the name, which
/// few tasks have, is kept by the registry (see `record.rs` on the size).
#[repr(C)]
pub(crate) struct Header {
    pub(crate) state: State,
    pub(crate) vtable: &'static Vtable,
    pub(crate) id: Id,
    /// The runtime the task belongs to; wakes schedule through it.
    pub(crate) shared: Arc<Shared>,
    /// Links in the task registry; only touched under the registry shard's lock.
    pub(crate) registry_links: UnsafeCell<RegistryLinks>,
    /// What the stats know about the task; see `record.rs`.
    pub(crate) record: TaskRecord,
}

/// Intrusive doubly-linked list links, owned by the task registry. A task is linked iff it
/// has a `prev` or is its shard's head.
#[derive(Default)]
pub(crate) struct RegistryLinks {
    pub(crate) prev: Option<RawTask>,
    pub(crate) next: Option<RawTask>,
}

/// The type-dependent operations of a task.
pub(crate) struct Vtable {
    /// Runs the task for one poll, consuming the caller's `Notified` reference.
    pub(crate) poll: unsafe fn(NonNull<Header>),
    /// Frees the allocation (the last reference is gone).
    pub(crate) dealloc: unsafe fn(NonNull<Header>),
    /// Moves the output into `*dst` (a `Poll<Result<T, JoinError>>`) if the task is complete,
    /// or registers the waker.
    pub(crate) try_read_output: unsafe fn(NonNull<Header>, *mut (), &Waker),
    /// The `JoinHandle` is dropped.
    pub(crate) drop_join_handle: unsafe fn(NonNull<Header>),
    /// Shutdown: the registry removed the task and passes its reference here.
    pub(crate) shutdown: unsafe fn(NonNull<Header>),
    /// The task runs on the blocking pool rather than on a processor. A property of the
    /// task's type (the pool's tasks are `BlockingTask`s), so it costs the header nothing.
    pub(crate) blocking: bool,
}

/// A pointer to a task's header. Copy; carries no reference by itself.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawTask {
    ptr: NonNull<Header>,
}

// SAFETY: a task is shared between threads by design: all shared mutable state in the header
// is atomic (the state word) or guarded (registry links under the shard lock), and the
// future and output are only accessed by the holder of RUNNING / of the completed output,
// which the state machine makes exclusive. The future and output are `Send`.
unsafe impl Send for RawTask {}
// SAFETY: see `Send`; `&RawTask` only exposes the header, which is `Sync` in the same way.
unsafe impl Sync for RawTask {}

impl RawTask {
    /// Allocates a task of `shared`, to run on the blocking pool if `BLOCKING`. Its state
    /// starts as NOTIFIED with three references: the registry's, the returned `Notified`'s
    /// and the `JoinHandle`'s. The registry learns its spawn site and name as it inserts it.
    pub(crate) fn new<F, const BLOCKING: bool>(future: F, shared: Arc<Shared>) -> RawTask
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let id = Id::next();
        let header = Header {
            state: State::new(),
            vtable: harness::vtable::<F, BLOCKING>(),
            id,
            record: TaskRecord::new(id, shared.config.stats),
            shared,
            registry_links: UnsafeCell::new(RegistryLinks::default()),
        };
        RawTask {
            ptr: harness::allocate(header, future),
        }
    }

    /// # Safety
    /// `ptr` must point to a live task's header.
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> RawTask {
        RawTask { ptr }
    }

    pub(crate) fn as_ptr(self) -> NonNull<Header> {
        self.ptr
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: a `RawTask` is only used while the caller holds a reference to the task,
        // so the allocation is live.
        unsafe { self.ptr.as_ref() }
    }

    pub(crate) fn id(self) -> Id {
        self.header().id
    }

    /// Whether the task runs on the blocking pool.
    pub(crate) fn is_blocking(self) -> bool {
        self.header().vtable.blocking
    }

    /// Drops one reference, freeing the task if it was the last.
    pub(crate) fn drop_reference(self) {
        if self.header().state.ref_dec(1) {
            self.dealloc();
        }
    }

    pub(crate) fn dealloc(self) {
        // SAFETY: called once, when the reference count reached zero.
        unsafe { (self.header().vtable.dealloc)(self.ptr) }
    }

    /// # Safety
    /// `dst` must point to a `Poll<Result<T, JoinError>>` with `T` the task's output type,
    /// and the caller must be the task's `JoinHandle`.
    pub(crate) unsafe fn try_read_output(self, dst: *mut (), waker: &Waker) {
        // SAFETY: forwarded from the caller.
        unsafe { (self.header().vtable.try_read_output)(self.ptr, dst, waker) }
    }

    /// Called by the `JoinHandle` when it is dropped; releases its reference.
    pub(crate) fn drop_join_handle(self) {
        // SAFETY: the JoinHandle's reference keeps the task alive for this call.
        unsafe { (self.header().vtable.drop_join_handle)(self.ptr) }
    }

    /// Called by the registry at shutdown with the registry's reference.
    pub(crate) fn shutdown(self) {
        // SAFETY: the registry's reference keeps the task alive for this call.
        unsafe { (self.header().vtable.shutdown)(self.ptr) }
    }

    /// `JoinHandle::abort`.
    pub(crate) fn remote_abort(self) {
        use super::state::WakeAction;
        if self.header().state.transition_to_notified_and_cancel() == WakeAction::Submit {
            // SAFETY: the transition added the reference this `Notified` owns.
            let notified = unsafe { Notified::from_raw(self) };
            self.header().shared.schedule(notified);
        }
    }
}

/// A scheduled task: owns the scheduler's reference. Sits in run queues.
pub(crate) struct Notified(RawTask);

impl Notified {
    /// # Safety
    /// The caller passes ownership of one reference that stands for the NOTIFIED bit.
    pub(crate) unsafe fn from_raw(raw: RawTask) -> Notified {
        Notified(raw)
    }

    pub(crate) fn raw(&self) -> RawTask {
        self.0
    }

    pub(crate) fn header(&self) -> &Header {
        self.0.header()
    }

    /// Polls the task once; the reference passes to the poll.
    pub(crate) fn run(self) {
        let raw = self.0;
        std::mem::forget(self);
        // SAFETY: we pass the `Notified` reference, which keeps the task alive.
        unsafe { (raw.header().vtable.poll)(raw.ptr) }
    }
}

impl Drop for Notified {
    /// A `Notified` dropped without running (a queue drained at shutdown) releases its
    /// reference; the registry's shutdown sweep is what drops the future.
    fn drop(&mut self) {
        self.0.drop_reference();
    }
}

impl std::fmt::Debug for Notified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Notified({})", self.0.id())
    }
}
