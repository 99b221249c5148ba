//! [`Handle`]: a cloneable reference to a runtime.

use crate::stats;
use crate::task::JoinHandle;
use std::future::Future;

/// A reference to a runtime, usable from any thread: spawn onto it, or block on a future
/// with it. Cheap to clone.
///
/// ```
/// let rt = goro::Runtime::new()?;
/// let handle = rt.handle().clone();
/// let answer = std::thread::spawn(move || handle.block_on(async { 42 })).join().unwrap();
/// assert_eq!(answer, 42);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Handle {
    inner: goro_sched::Handle,
}

impl Handle {
    pub(crate) fn from_sched(inner: goro_sched::Handle) -> Handle {
        Handle { inner }
    }

    /// The handle of the runtime running the current thread.
    ///
    /// # Panics
    /// Outside a runtime (not in a task, not inside `block_on`, not on a blocking thread).
    #[track_caller]
    pub fn current() -> Handle {
        match Handle::try_current() {
            Some(handle) => handle,
            None => panic!("{}", crate::task::NO_RUNTIME),
        }
    }

    /// The handle of the runtime running the current thread, if there is one.
    pub fn try_current() -> Option<Handle> {
        goro_sched::Handle::try_current().map(Handle::from_sched)
    }

    /// Spawns a task on this runtime.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.inner.spawn(future, None)
    }

    #[track_caller]
    pub(crate) fn spawn_named<F>(&self, future: F, name: Option<Box<str>>) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.inner.spawn(future, name)
    }

    /// Runs a blocking closure on the runtime's blocking pool.
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.inner.spawn_blocking(f)
    }

    /// Runs a future to completion on the current thread, with this runtime as the current
    /// one. Works on any thread that is not already driving a runtime, including blocking
    /// threads.
    ///
    /// # Panics
    /// If called from a task or from inside another `block_on`.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.inner.block_on(future)
    }

    /// The number of processors of this runtime.
    pub fn processors(&self) -> usize {
        self.inner.processors()
    }

    /// Tasks spawned and not yet complete.
    pub fn live_tasks(&self) -> usize {
        self.inner.live_tasks()
    }

    /// Tasks found orphaned so far: idle while no waker for them exists, so nothing could
    /// ever wake them.
    pub fn orphaned_tasks(&self) -> u64 {
        self.inner.orphaned_tasks()
    }

    /// The runtime's counters, histograms, pauses and task counts right now.
    ///
    /// ```
    /// let rt = goro::Runtime::builder().processors(2).build()?;
    /// rt.block_on(rt.spawn(async {})).unwrap();
    /// let stats = rt.handle().stats();
    /// assert_eq!(stats.processors, 2);
    /// assert!(stats.tasks.spawned >= 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stats(&self) -> stats::Snapshot {
        self.inner.stats()
    }

    /// Tasks that leaked (orphaned: nothing can ever wake them) or look like they did
    /// (suspected: groups of idle tasks that keep growing, or that wait in-process past the
    /// leak threshold). Its `Display` is a grouped dump; see [`stats`](crate::stats).
    ///
    /// ```
    /// let rt = goro::Runtime::new()?;
    /// let report = rt.handle().leak_report();
    /// assert!(report.orphaned.is_empty());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn leak_report(&self) -> stats::LeakReport {
        self.inner.leak_report()
    }

    /// The stats cycles' pauses, like Go's `debug.ReadGCStats`.
    ///
    /// ```
    /// let rt = goro::Runtime::new()?;
    /// let pauses = rt.handle().pauses();
    /// assert!(pauses.pauses.len() as u64 <= pauses.num_cycles);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn pauses(&self) -> stats::Pauses {
        self.inner.pauses()
    }

    /// Every live task, grouped by spawn site and suspension point, like a goroutine dump.
    ///
    /// ```
    /// let rt = goro::Runtime::new()?;
    /// let dump = rt.handle().tasks();
    /// assert!(dump.groups.iter().all(|g| !g.tasks.is_empty()));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn tasks(&self) -> stats::TaskDump {
        self.inner.task_dump()
    }

    /// The scheduler's handle (for the other goro crates).
    #[doc(hidden)]
    pub fn as_sched(&self) -> &goro_sched::Handle {
        &self.inner
    }
}
