//! [`Shared`]: the state of one runtime that every thread sees.
//!
//! It owns the processors' shared halves, the global injector, the idle-processor protocol,
//! the task registry and the blocking pool, and implements the operations that can come
//! from any thread: spawn, schedule (wake), and shutdown.
//!
//! ## Where a woken task goes
//!
//! A wake on a machine that holds a processor of this runtime puts the task in that
//! processor's `runnext` slot: the waker is usually the task that produced what the woken
//! task waits for, so running it next, on the same core, keeps the data in cache. A wake from
//! anywhere else (a foreign thread, a blocking thread, another runtime) pushes to the
//! injector and wakes one idle processor, if no processor is already searching.

use crate::blocking::BlockingPool;
use crate::idle::Idle;
use crate::machine::Machines;
use crate::monitor::MonitorSignal;
use crate::park::ParkedIn;
use crate::processor::{ProcShared, Processor, ProcessorCell};
use crate::registry::Registry;
use crate::stats::RuntimeStats;
use crate::task::{JoinHandle, Notified, RawTask};
use crate::{context, Config};
use crossbeam_deque::Injector;
use goro_netpoll::PollerWatch;
use std::future::Future;
use std::panic::Location;
use std::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering::*};
use std::sync::Arc;

/// One runtime's state. Fixed at start unless a field says otherwise.
pub(crate) struct Shared {
    /// The processors' shared halves, by index: anyone may read; see `ProcShared` for who
    /// writes each field.
    pub(crate) procs: Box<[ProcShared]>,
    /// The processors' owned halves, by index: only the machine owning processor `i` touches
    /// `owned[i]` (through [`Shared::processor`]), under the ownership protocol
    /// (`ownership.rs`).
    owned: Box<[ProcessorCell]>,
    /// The machines (threads) and the queue of processors handed off waiting for one:
    /// the monitor and `block_in_place` hand processors off; spare machines wait there.
    pub(crate) machines: Machines,
    /// Wakes the monitor from its sleep; written by shutdown, read by the monitor.
    pub(crate) monitor: MonitorSignal,
    /// The global run queue (Go's `sched.runq`): any thread pushes (wakes from outside,
    /// spawns from non-machines, tasks of a lost processor); processors take batches
    /// (every 61st tick, and when their own queue is empty).
    pub(crate) injector: Injector<Notified>,
    /// Which processors are parked and how many spin (Go's `pidle`/`nmspinning`, `idle.rs`):
    /// processors write it as they park, wake and search; `notify_work` reads it to choose
    /// whom to wake.
    pub(crate) idle: Idle,
    /// With several processors: the watch over their pollers that one parked processor at a
    /// time blocks in (see `Processor::park`); claimed by parking processors, offered to a
    /// sleeper by the monitor during a long poll.
    pub(crate) watch: Option<PollerWatch>,
    /// Every live task, from spawn (inserted by the spawner) to completion (removed by the
    /// machine that completes it); walked by shutdown and the stats cycle.
    pub(crate) registry: Registry,
    /// The threads of `spawn_blocking`; fed by anyone, run by its own threads.
    pub(crate) blocking: BlockingPool,
    /// Set at build time, read-only after.
    pub(crate) config: Config,
    /// Set once by shutdown; read by whoever schedules or registers work.
    shutdown: AtomicBool,
    /// The runtime's statistics (`stats/mod.rs` says who writes what).
    pub(crate) stats: RuntimeStats,
    /// Round-robin cursor for work from threads that hold none of our processors.
    next_remote: AtomicUsize,
}

impl Shared {
    pub(crate) fn new(
        config: Config,
        procs: Vec<ProcShared>,
        owned: Vec<ProcessorCell>,
        watch: Option<PollerWatch>,
    ) -> Shared {
        let n = procs.len();
        Shared {
            watch,
            idle: Idle::new(
                n,
                std::thread::available_parallelism().map_or(n, |cpus| cpus.get()),
            ),
            procs: procs.into_boxed_slice(),
            owned: owned.into_boxed_slice(),
            machines: Machines::new(),
            monitor: MonitorSignal::new(),
            injector: Injector::new(),
            registry: Registry::new(n * 16),
            blocking: BlockingPool::new(&config),
            stats: RuntimeStats::new(&config),
            config,
            shutdown: AtomicBool::new(false),
            next_remote: AtomicUsize::new(0),
        }
    }

    /// Creates a task and schedules it.
    pub(crate) fn spawn<F>(
        self: &Arc<Self>,
        future: F,
        spawned_at: &'static Location<'static>,
        name: Option<Box<str>>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let raw = RawTask::new::<F, false>(future, self.clone());
        let (notified, join) = self.register(raw, spawned_at, name);
        if let Some(notified) = notified {
            self.with_local(|p| match p {
                Some(p) => {
                    p.counters().spawns.incr();
                    p.schedule_local(context::machine_id(), notified);
                }
                None => self.schedule_remote(notified),
            });
        }
        join
    }

    /// Calls `f` with the processor this thread holds, if it is one of this runtime's.
    #[inline]
    pub(crate) fn with_local<R>(&self, f: impl FnOnce(Option<&Processor>) -> R) -> R {
        context::with_processor(|p| f(p.filter(|p| std::ptr::eq(p.shared(), self))))
    }

    /// The index of the processor this thread holds, if it is one of this runtime's.
    pub(crate) fn local_index(&self) -> Option<usize> {
        self.with_local(|p| p.map(|p| p.index))
    }

    /// A processor for work (a timer, a socket) from a thread that holds none of ours:
    /// picked round-robin.
    pub(crate) fn next_remote_index(&self) -> usize {
        self.next_remote.fetch_add(1, Relaxed) % self.procs.len()
    }

    /// Puts a new task, spawned at `spawned_at`, in the registry. If the runtime is shutting
    /// down the task is cancelled at once and no `Notified` is returned.
    pub(crate) fn register<T>(
        &self,
        raw: RawTask,
        spawned_at: &'static Location<'static>,
        name: Option<Box<str>>,
    ) -> (Option<Notified>, JoinHandle<T>) {
        // SAFETY: a new task carries three references: registry, `Notified`, `JoinHandle`.
        let (notified, join) = unsafe { (Notified::from_raw(raw), JoinHandle::new(raw)) };
        if self.registry.insert(raw, spawned_at, name) {
            return (Some(notified), join);
        }
        drop(notified);
        // The registry refused its reference; `shutdown` consumes it and cancels the task.
        raw.shutdown();
        (None, join)
    }

    /// Schedules a woken task (from any thread).
    pub(crate) fn schedule(&self, task: Notified) {
        if task.raw().is_blocking() {
            self.blocking.push(&task.header().shared.clone(), task);
            return;
        }
        self.with_local(|p| match p {
            Some(p) => p.schedule_local(context::machine_id(), task),
            None => self.schedule_remote(task),
        });
    }

    /// Schedules a task that was woken while it ran (or yielded), as its poll ends: behind
    /// the others. On a machine the task is handed back to the machine, which queues it
    /// without the handoff guard once its end-of-poll CAS proves it still owns the processor.
    pub(crate) fn schedule_yield(&self, task: Notified) {
        self.with_local(|p| match p {
            Some(p) => {
                if let Some(task) = context::defer_yielded(task) {
                    p.schedule_yield(context::machine_id(), task);
                }
            }
            None => self.schedule_remote(task),
        });
    }

    /// Pushes to the injector and wakes an idle processor.
    pub(crate) fn schedule_remote(&self, task: Notified) {
        self.injector.push(task);
        // Pairs with the fence in `begin_shutdown`: either we see the flag and drain what we
        // pushed, or the shutdown's drain sees our task.
        fence(SeqCst);
        if self.is_shutdown() {
            self.drain_injector();
            return;
        }
        self.notify_work();
    }

    /// Work was made available: wake a parked processor unless one is searching already.
    pub(crate) fn notify_work(&self) {
        if let Some(index) = self.idle.notify_one() {
            self.unpark(index);
        }
    }

    pub(crate) fn unpark(&self, index: usize) {
        let p = &self.procs[index];
        let Some(place) = p.park.unpark() else {
            return;
        };
        p.counters.unparks.add_shared(1);
        // A failed eventfd write leaves the processor to its park timeout; there is no
        // better recovery, and it cannot fail for a valid eventfd.
        match place {
            ParkedIn::Poller => drop(p.poller.wake()),
            ParkedIn::Watch => {
                if let Some(watch) = &self.watch {
                    drop(watch.wake());
                }
            }
            ParkedIn::Sleeper => p.sleeper.wake(),
        }
    }

    /// If nobody waits in the poller watch and a processor is asleep in its sleeper, offers
    /// it the watch (it moves there; see `Processor::park`). Returns whether it offered.
    pub(crate) fn offer_watch(&self) -> bool {
        if self.watch.as_ref().is_none_or(|w| w.is_claimed()) {
            return false;
        }
        let sleeping = self
            .procs
            .iter()
            .find(|p| p.park.parked_in() == Some(ParkedIn::Sleeper));
        if let Some(p) = sleeping {
            p.sleeper.offer_watch();
        }
        sleeping.is_some()
    }

    /// Whether any queue holds a task (racy; used by the last spinner before it parks).
    pub(crate) fn has_visible_work(&self) -> bool {
        !self.injector.is_empty() || self.procs.iter().any(ProcShared::has_queued_work)
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.shutdown.load(Acquire)
    }

    /// Processor `index`, for the machine that owns it.
    ///
    /// # Safety
    /// The caller owns the processor (it was handed to it), or all machines have exited.
    pub(crate) unsafe fn processor(&self, index: usize) -> &Processor {
        // SAFETY: per the caller.
        unsafe { self.owned[index].get() }
    }

    /// Tells every processor, spare machine and the monitor to stop. Machines finish their
    /// current poll and exit.
    pub(crate) fn begin_shutdown(&self) {
        self.shutdown.store(true, SeqCst);
        fence(SeqCst);
        for index in 0..self.procs.len() {
            self.unpark(index);
        }
        self.machines.shutdown();
        self.monitor.shutdown();
    }

    /// After every machine exited: drop every task's future and every queued reference.
    pub(crate) fn finish_shutdown(&self) {
        for p in self.procs.iter() {
            // Wake every task waiting on I/O with a shutdown error, refuse new sockets.
            p.poller.shutdown_all();
        }
        self.registry.close_and_drain(RawTask::shutdown);
        for index in 0..self.owned.len() {
            // SAFETY: called after every machine thread was joined.
            unsafe { self.processor(index) }.drain();
        }
        for p in self.procs.iter() {
            // Timers hold wakers, which hold tasks, which hold this `Shared`: break the cycle.
            p.timers.clear();
        }
        self.drain_injector();
    }

    fn drain_injector(&self) {
        loop {
            match self.injector.steal() {
                crossbeam_deque::Steal::Success(task) => drop(task),
                crossbeam_deque::Steal::Empty => break,
                crossbeam_deque::Steal::Retry => continue,
            }
        }
    }

    /// A task became orphaned: idle, and no waker for it exists (the caller holds a
    /// reference). It is recorded, and with `reclaim_orphans` cancelled: scheduled with the
    /// cancel bit, so a processor drops its future and its `JoinHandle` gets an orphaned
    /// `JoinError`.
    ///
    /// During shutdown, dropping futures drops the wakers they held for other tasks; those
    /// tasks are being shut down too, not leaked, so nothing is recorded.
    pub(crate) fn task_orphaned(&self, task: RawTask) {
        if self.is_shutdown() {
            return;
        }
        let reclaim = self.config.reclaim_orphans;
        let now = crate::time::clock::now();
        let info = self
            .registry
            .with_spawn(task, |spawn| crate::stats::task_info(task, spawn, now));
        self.stats.orphaned(task, info, reclaim);
        if reclaim {
            task.remote_abort();
        }
    }

    /// A task completed: out of the registry, counted for its spawn site. `lifetime` is its
    /// precise lifetime if it was sampled. Returns whether the registry still held it (and
    /// so whether the caller now owns the registry's reference).
    pub(crate) fn task_completed(&self, task: RawTask, lifetime: Option<u64>) -> bool {
        if let Some(nanos) = lifetime {
            crate::stats::record_local(|h| &h.task_lifetime, nanos);
        }
        self.registry.remove(task, lifetime)
    }

    /// Tasks found orphaned so far.
    pub(crate) fn orphaned_count(&self) -> u64 {
        self.stats.orphaned_total()
    }
}
