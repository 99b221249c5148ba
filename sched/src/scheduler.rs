//! [`Scheduler`] (owns the machines) and [`Handle`] (a reference to the runtime).

use crate::blocking::BlockingPool;
use crate::machine;
use crate::processor::{new_processors, Processor};
use crate::shared::Shared;
use crate::task::{Id, JoinHandle};
use crate::{block_on, context, Config};
use std::future::Future;
use std::io;
use std::panic::Location;
use std::sync::Arc;
use std::thread::JoinHandle as ThreadHandle;
use std::time::Duration;

/// A running scheduler: processors, the machines that run them, and the blocking pool.
/// Dropping it shuts it down (see [`Scheduler::shutdown`]).
pub struct Scheduler {
    handle: Handle,
    machines: Vec<ThreadHandle<()>>,
    shut_down: bool,
}

/// A cloneable reference to a scheduler, usable from any thread.
#[derive(Clone)]
pub struct Handle {
    shared: Arc<Shared>,
}

impl Scheduler {
    /// Starts `config.processors` processors, each on its own machine thread.
    pub fn new(config: Config) -> io::Result<Scheduler> {
        config.validate()?;
        let n = config.processors;
        let (workers, procs) = new_processors(n)?;
        let shared = Arc::new(Shared::new(config, procs));
        let cores = if shared.config.pin_threads {
            core_affinity::get_core_ids().unwrap_or_default()
        } else {
            Vec::new()
        };
        let mut scheduler = Scheduler {
            handle: Handle {
                shared: shared.clone(),
            },
            machines: Vec::with_capacity(n),
            shut_down: false,
        };
        for (index, worker) in workers.into_iter().enumerate() {
            let p = Processor::new(index, shared.clone(), worker);
            let core = (!cores.is_empty()).then(|| cores[index % cores.len()]);
            let mut builder = std::thread::Builder::new().name(shared.config.thread_name.clone());
            if let Some(size) = shared.config.thread_stack_size {
                builder = builder.stack_size(size);
            }
            // On error `scheduler` drops here, shutting down the machines already started.
            let thread = builder.spawn(move || {
                if let Some(core) = core {
                    core_affinity::set_for_current(core);
                }
                machine::run(p);
            })?;
            scheduler.machines.push(thread);
        }
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
        shared.begin_shutdown();
        for machine in self.machines.drain(..) {
            // A machine that panicked outside a task has nothing left to clean up.
            let _ = machine.join();
        }
        shared.finish_shutdown();
        let done = shared.blocking.shutdown(blocking_timeout);
        // Blocking closures may have spawned or woken tasks while we waited.
        shared.finish_shutdown();
        done
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        if self.shut_down {
            return;
        }
        if context::with_processor(|p| p.is_some()) {
            // Joining our own machine would deadlock.
            panic!(
                "goro: a runtime cannot be dropped from one of its own tasks; drop it from \
                 outside, or move it into `spawn_blocking`"
            );
        }
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
        let _runtime = context::set_runtime(self.shared.clone());
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

    /// (unparked, spinning) processor counts.
    pub fn idle_counts(&self) -> (usize, usize) {
        self.shared.idle.counts()
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
pub fn current_task_id() -> Option<Id> {
    context::current_task()
}
