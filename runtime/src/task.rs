//! Tasks: spawning, joining (one handle, or a [`JoinSet`]), yielding, blocking work.
//!
//! ```
//! let rt = goro::Runtime::builder().processors(1).build()?;
//! rt.block_on(async {
//!     let handle = goro::task::Builder::new()
//!         .name("answer")
//!         .spawn(async { 42 })?;
//!     assert_eq!(handle.await.unwrap(), 42);
//!     Ok::<(), std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```

use crate::stats::WaitOp;
use crate::Handle;
use goro_sched::task::traced;
use std::future::Future;
use std::io;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

mod join_set;

pub use goro_sched::coop::{unconstrained, Unconstrained};
pub use goro_sched::task::{AbortHandle, Id, JoinError, JoinHandle};
pub use join_set::JoinSet;

pub(crate) const NO_RUNTIME: &str = "there is no goro runtime on this thread: this must be \
     called from a goro task, from inside `Runtime::block_on`, or from a goro blocking thread";

/// Spawns a task on the current runtime. It starts running at once, possibly in parallel
/// with the caller, and runs until it completes even if its `JoinHandle` is dropped.
///
/// # Panics
/// Outside a goro runtime.
///
/// ```
/// # goro::Runtime::new().unwrap().block_on(async {
/// let handle = goro::spawn(async { 1 + 2 });
/// assert_eq!(handle.await.unwrap(), 3);
/// # })
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match goro_sched::Handle::spawn_on_current(future, None) {
        Some(handle) => handle,
        None => panic!("goro::spawn: {NO_RUNTIME}"),
    }
}

/// Runs a blocking closure on the current runtime's blocking pool.
///
/// # Panics
/// Outside a goro runtime.
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    match Handle::try_current() {
        Some(handle) => handle.spawn_blocking(f),
        None => panic!("goro::task::spawn_blocking: {NO_RUNTIME}"),
    }
}

/// Runs blocking code inside a task without stalling the other tasks of its processor: the
/// processor is handed to another machine first, and this thread finishes the task's
/// current poll on its own. Outside a goro task `f` just runs.
///
/// Prefer [`spawn_blocking`] for work that need not borrow from the task; use this when
/// the blocking call needs the task's local state.
///
/// ```
/// # goro::Runtime::builder().processors(1).build().unwrap().block_on(async {
/// let data = vec![1, 2, 3];
/// let sum = goro::spawn(async move {
///     goro::task::block_in_place(|| data.iter().sum::<i32>())
/// }).await.unwrap();
/// assert_eq!(sum, 6);
/// # })
/// ```
pub fn block_in_place<F: FnOnce() -> R, R>(f: F) -> R {
    goro_sched::block_in_place(f)
}

/// The id of the task being polled on this thread, or `None` outside a task.
pub fn try_id() -> Option<Id> {
    goro_sched::current_task_id()
}

/// Yields to the scheduler: the task goes to the back of its processor's run queue and
/// the other runnable tasks run first. While it waits, the task's suspension point is this
/// call (`yield_now`).
///
/// ```
/// # goro::Runtime::new().unwrap().block_on(async {
/// for _ in 0..3 {
///     goro::task::yield_now().await;
/// }
/// # })
/// ```
#[track_caller]
pub fn yield_now() -> impl Future<Output = ()> {
    traced(
        WaitOp::Yield,
        Location::caller(),
        YieldNow { yielded: false },
    )
}

struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        // Waking ourselves while running sends the task to the back of the local queue.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Configures a task before spawning it.
///
/// ```
/// # goro::Runtime::new().unwrap().block_on(async {
/// let handle = goro::task::Builder::new().name("worker").spawn(async { 7 }).unwrap();
/// assert_eq!(handle.await.unwrap(), 7);
/// # })
/// ```
#[derive(Debug, Default, Clone)]
pub struct Builder {
    name: Option<String>,
}

impl Builder {
    /// A builder for an unnamed task.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the task (shown in task dumps and leak reports).
    pub fn name(mut self, name: &str) -> Builder {
        self.name = Some(name.to_string());
        self
    }

    /// Spawns the task on the current runtime. Fails with `io::ErrorKind::Other` outside a
    /// runtime.
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> io::Result<JoinHandle<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let handle = Handle::try_current().ok_or_else(|| io::Error::other(NO_RUNTIME))?;
        Ok(self.spawn_on(future, &handle))
    }

    /// Spawns the task on the given runtime.
    #[track_caller]
    pub fn spawn_on<F>(self, future: F, handle: &Handle) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        handle.spawn_named(future, self.name.map(String::into_boxed_str))
    }
}
