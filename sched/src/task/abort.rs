//! [`AbortHandle`]: the permission to cancel a task, without its output.
//!
//! A handle is one more reference on the task (the state word's count, see `state.rs`), so
//! the allocation outlives it, and nothing else: it does not count as a waker (an idle task
//! that only abort handles can reach is still reported orphaned; aborting it is not a wake)
//! and does not take join interest (the task's output still goes to its `JoinHandle`, or is
//! dropped if there is none).

use super::raw::RawTask;
use super::Id;
use std::fmt;

/// A handle that can cancel a task but not await it, as tokio's `AbortHandle`: made by
/// [`JoinHandle::abort_handle`](super::JoinHandle::abort_handle) (and returned by goro's
/// `JoinSet::spawn`). Cloning is cheap; dropping it does nothing to the task.
///
/// ```
/// # let rt = goro_sched::Scheduler::new(goro_sched::Config::with_processors(1)).unwrap();
/// let handle = rt.handle().spawn(std::future::pending::<()>(), None);
/// let abort = handle.abort_handle();
/// abort.abort();
/// assert!(rt.handle().block_on(handle).unwrap_err().is_cancelled());
/// assert!(abort.is_finished());
/// ```
pub struct AbortHandle {
    raw: RawTask,
}

// SAFETY: an `AbortHandle` only reaches the task's header through thread-safe operations
// (the atomic state word, the scheduler's `schedule`, the immutable id); it never touches the
// future or the output, so the task's type does not matter.
unsafe impl Send for AbortHandle {}
// SAFETY: see `Send`; every method takes `&self` and is one of those thread-safe operations.
unsafe impl Sync for AbortHandle {}

impl AbortHandle {
    /// Takes one more reference on `raw`.
    pub(crate) fn new(raw: RawTask) -> AbortHandle {
        raw.header().state.ref_inc();
        AbortHandle { raw }
    }

    /// Cancels the task, as [`JoinHandle::abort`](super::JoinHandle::abort) does: its future
    /// is dropped at the next opportunity, and its `JoinHandle` yields a cancelled
    /// [`JoinError`](super::JoinError) unless the task completed first. Does nothing to a
    /// completed task.
    pub fn abort(&self) {
        self.raw.remote_abort();
    }

    /// Whether the task has completed (with output, panic or cancellation).
    pub fn is_finished(&self) -> bool {
        self.raw.header().state.load().is_complete()
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.raw.id()
    }
}

impl Clone for AbortHandle {
    fn clone(&self) -> AbortHandle {
        AbortHandle::new(self.raw)
    }
}

impl Drop for AbortHandle {
    fn drop(&mut self) {
        self.raw.drop_reference();
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("id", &self.id())
            .finish()
    }
}
