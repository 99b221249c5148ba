//! [`Scheduler`] (owns the machines) and [`Handle`] (a reference to the runtime).

use crate::blocking::BlockingPool;
use crate::machine::Machines;
use crate::monitor;
use crate::ownership::Retake;
use crate::processor::{new_processors, HandoffReason, Processor, ProcessorCell};
use crate::shared::Shared;
use crate::task::{Id, JoinHandle};
use crate::{block_on, context, Config};
use goro_netpoll::PollerWatch;
use std::future::Future;
use std::io;
use std::panic::Location;
use std::sync::{Arc, Weak};
use std::thread::JoinHandle as ThreadHandle;
use std::time::Duration;

/// A running scheduler: processors, the machines that run them, the monitor, and the
/// blocking pool. Dropping it shuts it down (see [`Scheduler::shutdown`]).
pub struct Scheduler {
    handle: Handle,
    monitor: Option<ThreadHandle<()>>,
    shut_down: bool,
}

/// A cloneable reference to a scheduler, usable from any thread.
#[derive(Clone)]
pub struct Handle {
    shared: Arc<Shared>,
}

impl Scheduler {
    /// Starts `config.processors` processors, each on its own machine thread, and the
    /// monitor thread.
    pub fn new(config: Config) -> io::Result<Scheduler> {
        config.validate()?;
        let n = config.processors;
        let (workers, procs) = new_processors(n)?;
        let watch = if n > 1 {
            let pollers: Vec<_> = procs.iter().map(|p| p.poller.clone()).collect();
            Some(PollerWatch::new(&pollers)?)
        } else {
            None
        };
        let shared = Arc::new_cyclic(|weak: &Weak<Shared>| {
            let processors = workers
                .into_iter()
                .enumerate()
                .map(|(index, worker)| {
                    ProcessorCell::new(Processor::new(index, weak.as_ptr(), worker))
                })
                .collect();
            Shared::new(config, procs, processors, watch)
        });
        let mut scheduler = Scheduler {
            handle: Handle {
                shared: shared.clone(),
            },
            monitor: None,
            shut_down: false,
        };
        // On an error below, `scheduler` drops, shutting down what was started.
        let cores = if shared.config.pin_threads {
            core_affinity::get_core_ids().unwrap_or_default()
        } else {
            Vec::new()
        };
        for index in 0..n {
            let core = (!cores.is_empty()).then(|| cores[index % cores.len()]);
            Machines::start_initial(&shared, index, core)?;
        }
        Machines::start_spare(&shared)?;
        let monitor_shared = shared.clone();
        scheduler.monitor = Some(
            std::thread::Builder::new()
                .name(format!("{}-monitor", shared.config.thread_name))
                .spawn(move || monitor::run(monitor_shared))?,
        );
        Ok(scheduler)
    }

    /// The scheduler's handle.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Shuts down: machines finish their current poll and stop; every task's future is
    /// dropped and its `JoinHandle` resolves as cancelled. Waits up to `blocking_timeout`
    /// (forever with `None`) for running blocking closures, then leaves them detached.
    /// Returns whether every blocking thread finished in time. Only the first call does
    /// anything; later calls (such as the one in `Drop`) return `true` at once.
    pub fn shutdown(&mut self, blocking_timeout: Option<Duration>) -> bool {
        if std::mem::replace(&mut self.shut_down, true) {
            return true;
        }
        let shared = &self.handle.shared;
        let role = context::role_in(shared);
        if role == Some(context::ThreadRole::Machine) || context::with_processor(|p| p.is_some()) {
            if std::thread::panicking() {
                // A second panic would abort the process: leave the runtime running.
                return false;
            }
            panic!(
                "goro: a runtime cannot be shut down or dropped inside a goro task (nor inside \
                 `block_in_place` in one): shutting down waits for the runtime's machine \
                 threads, and a task's thread must not block. Drop it from a thread outside the \
                 runtime, or move it into `spawn_blocking`."
            );
        }
        shared.begin_shutdown();
        shared.machines.join_all();
        if let Some(monitor) = self.monitor.take() {
            let _ = monitor.join();
        }
        shared.finish_shutdown();
        // From a blocking closure of this runtime, that closure's thread is not waited for.
        let own_blocking_thread = role == Some(context::ThreadRole::Blocking);
        let done = shared
            .blocking
            .shutdown(blocking_timeout, own_blocking_thread);
        // Blocking closures may have spawned or woken tasks while we waited.
        shared.finish_shutdown();
        done
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.shutdown(None);
    }
}

impl Handle {
    /// The handle of the runtime this thread belongs to, if any.
    pub fn try_current() -> Option<Handle> {
        context::current_runtime().map(|shared| Handle { shared })
    }

    /// Spawns a task on this runtime.
    #[track_caller]
    pub fn spawn<F>(&self, future: F, name: Option<Box<str>>) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.shared.spawn(future, Location::caller(), name)
    }

    /// Spawns a task whose spawn site is `spawned_at` rather than the caller: for spawns
    /// made on a user's behalf (a server's connection tasks carry the line of the user's
    /// `serve` call).
    pub fn spawn_at<F>(
        &self,
        future: F,
        spawned_at: &'static Location<'static>,
        name: Option<Box<str>>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.shared.spawn(future, spawned_at, name)
    }

    /// Runs `f` on the blocking pool, with `spawned_at` as its spawn site (see
    /// [`Handle::spawn_at`]).
    pub fn spawn_blocking_at<F, R>(
        &self,
        f: F,
        spawned_at: &'static Location<'static>,
    ) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        BlockingPool::spawn(&self.shared, f, spawned_at)
    }

    /// Spawns on the current thread's runtime without cloning its handle.
    /// Returns `None` outside a runtime.
    #[track_caller]
    pub fn spawn_on_current<F>(future: F, name: Option<Box<str>>) -> Option<JoinHandle<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let location = Location::caller();
        context::with_runtime(|shared| shared.map(|s| s.spawn(future, location, name)))
    }

    /// Runs `f` on the blocking pool.
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        BlockingPool::spawn(&self.shared, f, Location::caller())
    }

    /// Runs `future` to completion on this thread, with this runtime as the current one.
    /// Panics if the thread already drives a runtime (a worker, or inside `block_on`).
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _enter = context::enter("block_on");
        let _runtime = context::set_runtime(self.shared.clone(), context::ThreadRole::Entered);
        block_on::run(future)
    }

    /// Whether both handles refer to the same runtime.
    pub fn ptr_eq(&self, other: &Handle) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// The number of processors.
    pub fn processors(&self) -> usize {
        self.shared.procs.len()
    }

    /// Live tasks (spawned and not yet complete).
    pub fn live_tasks(&self) -> usize {
        self.shared.registry.len()
    }

    /// Tasks found orphaned (idle with no waker) so far.
    pub fn orphaned_tasks(&self) -> u64 {
        self.shared.orphaned_count()
    }

    /// Per-processor counters.
    pub fn counters(&self) -> Vec<goro_stats::CounterSnapshot> {
        self.shared
            .procs
            .iter()
            .map(|p| p.counters.snapshot())
            .collect()
    }

    /// The whole runtime now: counters, task counts, per-site counts, histograms, pauses.
    pub fn stats(&self) -> goro_stats::Snapshot {
        crate::stats::snapshot(&self.shared)
    }

    /// Orphaned and suspected tasks, and stall alarms.
    pub fn leak_report(&self) -> goro_stats::LeakReport {
        crate::stats::leak_report(&self.shared)
    }

    /// The stats cycles so far and their pauses.
    pub fn pauses(&self) -> goro_stats::Pauses {
        crate::stats::pauses(&self.shared)
    }

    /// Every live task, grouped by spawn site and suspension point.
    pub fn task_dump(&self) -> goro_stats::TaskDump {
        crate::stats::task_dump(&self.shared)
    }

    /// The live tasks among `ids`, as reports show them, in the order of `ids`. It walks
    /// every live task: for rare events (a deadlock), not for a hot path.
    pub fn task_infos(&self, ids: &[u64]) -> Vec<goro_stats::TaskInfo> {
        crate::stats::task_infos(&self.shared, ids)
    }

    /// Records a deadlock that `goro::sync` proved, for the leak report (a cycle with the
    /// same tasks as one listed already is left out). Returns whether it was recorded.
    pub fn record_deadlock(&self, deadlock: goro_stats::Deadlock) -> bool {
        self.shared.stats.deadlocked(deadlock)
    }

    /// Time since the runtime started.
    pub fn uptime(&self) -> Duration {
        self.shared.stats.started.elapsed()
    }
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("processors", &self.processors())
            .finish_non_exhaustive()
    }
}

/// The id of the task being polled on this thread, if any.
#[inline]
pub fn current_task_id() -> Option<Id> {
    context::current_task()
}

/// Runs `f`, a piece of blocking work, on the current thread, after handing this thread's
/// processor to another machine so that the processor's other tasks keep running.
///
/// Inside a goro task on a machine, the processor is handed off first; the task then
/// continues on this thread, which leaves the processor's machine pool once the task's poll
/// ends. Elsewhere (a blocking thread, `block_on`, a plain thread) `f` simply runs. `f` may
/// call `Handle::block_on`.
///
/// ```
/// # let rt = goro_sched::Scheduler::new(goro_sched::Config::with_processors(1)).unwrap();
/// # let h = rt.handle().clone();
/// let sum = rt.handle().block_on(rt.handle().spawn(async {
///     goro_sched::block_in_place(|| {
///         std::thread::sleep(std::time::Duration::from_millis(20));
///         2 + 2
///     })
/// }, None)).unwrap();
/// assert_eq!(sum, 4);
/// ```
pub fn block_in_place<F: FnOnce() -> R, R>(f: F) -> R {
    let handed = context::with_processor(|p| {
        let p = p?;
        let ps = p.proc_shared();
        let polling = ps.ownership.run_state();
        let retake = Processor::retake(ps, polling, HandoffReason::BlockInPlace);
        (retake == Retake::Taken).then_some(p.index)
    });
    if let Some(index) = handed {
        context::clear_processor();
        if let Some(shared) = context::current_runtime() {
            Machines::hand_off(&shared, index);
        }
    }
    let _exit = context::exit();
    f()
}
