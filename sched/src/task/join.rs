//! [`JoinHandle`]: the owned permission to await a task's output.

use super::raw::RawTask;
use super::{Id, JoinError};
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

/// An owned handle to a spawned task. Awaiting it yields the task's output, or a
/// [`JoinError`] if the task panicked or was cancelled. Dropping it detaches the task: the
/// task keeps running and its output is dropped when it completes.
///
/// ```
/// # let rt = goro_sched::Scheduler::new(goro_sched::Config::with_processors(1)).unwrap();
/// let handle = rt.handle().spawn(async { 6 * 7 }, None);
/// assert_eq!(rt.handle().block_on(handle).unwrap(), 42);
/// ```
pub struct JoinHandle<T> {
    raw: RawTask,
    _output: PhantomData<T>,
}

// SAFETY: the handle only moves a `T: Send` out of the task; the task is thread-safe.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: `&JoinHandle` only exposes `abort`, `is_finished` and `id`, which are thread-safe.
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> Unpin for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    /// # Safety
    /// `raw` must be a task with output `T`, and the caller passes the JoinHandle's reference.
    pub(crate) unsafe fn new(raw: RawTask) -> JoinHandle<T> {
        JoinHandle {
            raw,
            _output: PhantomData,
        }
    }

    /// Cancels the task. Its future is dropped at the next opportunity: right away if it is
    /// idle (on a processor), or when its current poll ends. Awaiting the handle then yields
    /// a cancelled [`JoinError`], unless the task completed first.
    pub fn abort(&self) {
        self.raw.remote_abort();
    }

    /// A handle that can cancel the task without awaiting it (as tokio's
    /// `JoinHandle::abort_handle`); it may outlive this handle.
    ///
    /// ```
    /// # let rt = goro_sched::Scheduler::new(goro_sched::Config::with_processors(1)).unwrap();
    /// let handle = rt.handle().spawn(std::future::pending::<()>(), None);
    /// let abort = handle.abort_handle();
    /// assert_eq!(abort.id(), handle.id());
    /// drop(handle); // detached, still running
    /// abort.abort();
    /// ```
    pub fn abort_handle(&self) -> super::AbortHandle {
        super::AbortHandle::new(self.raw)
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

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    /// `#[track_caller]`: the caller is the `.await`, which becomes the awaiting task's
    /// suspension point while it waits. Awaited through `timeout`, the point is the
    /// `timeout` call; awaited through a `&mut` reference, it is the standard library's
    /// forwarding `poll`, which is all `#[track_caller]` can see.
    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let budget = std::task::ready!(crate::coop::poll_proceed(cx));
        let mut out: Poll<Result<T, JoinError>> = Poll::Pending;
        // SAFETY: `out` has the type the task was created with, and we are its JoinHandle.
        unsafe {
            self.raw
                .try_read_output(&mut out as *mut _ as *mut (), cx.waker())
        };
        if out.is_ready() {
            budget.made_progress();
        } else {
            super::note_suspension(goro_stats::WaitOp::Join, std::panic::Location::caller());
        }
        out
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        self.raw.drop_join_handle();
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .finish()
    }
}
