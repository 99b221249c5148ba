//! goro vs tokio, side by side.
//!
//! This crate holds the workloads that the criterion suites in `benches/` and the
//! `goro-bench` quick runner in `tools/` both time. There are three suites: [`sched`] (below),
//! [`timers`] (arming/cancelling 10 000 sleeps; 1 000 tasks sleeping 1 ms in a loop) and
//! [`echo`] (TCP echo over loopback, 64 connections, 1 KiB and 64 B messages, the clients on a
//! separate tokio runtime). The scheduler and timer suites are written once, generic
//! over [`BenchRuntime`], a thin trait with one implementation for goro ([`Goro`], a
//! `goro::Runtime` with its stats on, or off for the stats overhead bench) and one for
//! a multi-threaded `tokio::runtime::Runtime`. Both runtimes are built with the same number of
//! workers (`processors(n)` for goro, `worker_threads(n)` for tokio), so a figure for one is
//! only ever read next to the figure for the other: we report ratios, not absolute numbers.
//!
//! # The scheduler suite ([`sched`])
//!
//! The shapes follow tokio's `benches/rt_multi_threaded.rs`, the suite tokio itself uses to
//! catch scheduler regressions. What each workload stresses:
//!
//! * **spawn_many_local** — one task spawns 10 000 empty tasks from inside the runtime; the
//!   last one to finish signals the bench thread. Stresses the spawn path of a running task:
//!   task allocation, pushes to the spawning processor's local queue (and its `runnext` slot),
//!   overflow of the local queue into the global one, and stealing of that burst by idle
//!   processors. (tokio's bench spawns from `block_on`, which on tokio's multi-threaded runtime
//!   is not a worker thread; we spawn from a real task so that "local" means local on both.)
//! * **spawn_many_remote_idle** — the bench thread spawns 10 000 empty tasks through the
//!   runtime from outside, into an idle runtime, then awaits every `JoinHandle` in `block_on`.
//!   Stresses the injector (global queue), waking parked processors, and `JoinHandle`
//!   completion/wake-up.
//! * **spawn_many_remote_busy** — the same, while `2 × procs` background tasks keep every
//!   worker busy: each loops `yield_now().await` then burns 10 µs of CPU. Stresses how quickly
//!   busy processors notice and drain the injector (fairness between the local queue and the
//!   global one) and the priority of yielded tasks against new ones. This is tokio's
//!   `spawn_many_remote_busy1`.
//! * **yield_many** — 200 tasks each call `yield_now()` 1 000 times. Stresses the raw
//!   reschedule path: a task going back to a run queue and being polled again, and the
//!   balance of work across processors.
//! * **ping_pong** — 1 000 pairs of tasks, spawned from a task; each pair exchanges one message
//!   each way over `tokio::sync::oneshot` (runtime-agnostic). Stresses wake-ups between tasks
//!   on the same or another processor (`runnext`, cross-processor wakes and unparking).
//! * **chained_spawn** — a chain 1 000 deep where each task spawns the next and exits.
//!   Stresses the latency of spawn → first poll with exactly one runnable task at a time, which
//!   is where `runnext` and parking/unparking of idle processors show.
//!
//! Completion is signalled with `std::sync::mpsc` and atomics, as in tokio's bench, and the
//! bench thread waits *outside* the runtime, so no worker thread is ever blocked by the bench.
//!
//! The scheduler and timer suites pin nothing: they leave placement to the OS scheduler.
//!
//! # The timer suite ([`timers`]) and the TCP echo suite ([`echo`])
//!
//! See their module docs. The echo suite cannot use [`BenchRuntime`] as is, because at one
//! worker the tokio server is tokio's `current_thread` runtime (the runtime the bar
//! compares goro's single processor with), so its servers go through [`server::Server`],
//! which also backs the `http-hello` tool; [`affinity`] says where its threads run.
//!
//! # The stats overhead bench
//!
//! The sched and echo workloads on goro with `stats(true)` ([`Goro`], goro's default) against
//! `stats(false)` ([`GoroNoStats`], [`server::Side::GoroNoStats`] for echo), in one process:
//! `benches/stats_overhead.rs` under criterion, or `goro-bench --suite overhead`, which
//! interleaves the two on fresh runtimes and prints the on/off ratios, their geomean over the
//! sched workloads and the echo throughput ratio (the bar: stats cost at most 2%).

use std::fmt::Debug;
use std::future::Future;
use std::io;
use std::time::Duration;

pub mod affinity;
pub mod echo;
pub mod server;
pub mod timers;

/// What a workload needs from a runtime. Implemented for [`Goro`] (a `goro::Runtime`, with
/// stats on or off) and for `tokio::runtime::Runtime` (multi-threaded flavour).
pub trait BenchRuntime: Sized {
    /// Short name used for criterion function ids and table columns: `"goro"`,
    /// `"goro-nostats"` or `"tokio"`.
    const NAME: &'static str;

    /// The runtime's join error.
    type JoinError: Debug;

    /// The runtime's join handle: a future yielding the task's output or a join error.
    type JoinHandle<T: Send + 'static>: Future<Output = Result<T, Self::JoinError>>;

    /// Builds a multi-threaded runtime with `procs` workers.
    fn build(procs: usize) -> io::Result<Self>;

    /// Runs `fut` to completion on the current (non-worker) thread.
    fn block_on<F: Future>(&self, fut: F) -> F::Output;

    /// Spawns `fut` from outside the runtime (through the runtime handle).
    fn spawn<F>(&self, fut: F) -> Self::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// Spawns a detached task from inside the runtime (`goro::spawn` / `tokio::spawn`).
    fn spawn_inside<F>(fut: F)
    where
        F: Future<Output = ()> + Send + 'static;

    /// The runtime's `yield_now`.
    fn yield_now() -> impl Future<Output = ()> + Send;

    /// The runtime's `sleep` (`goro::time::sleep` / `tokio::time::sleep`). Must be called
    /// inside the runtime (from one of its tasks or `block_on`).
    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send + 'static;
}

/// A goro runtime as the benches build it: with `processors(procs)` and `stats(STATS)`.
/// `Goro` (stats on, goro's default) is the runtime the suites compare with tokio;
/// [`GoroNoStats`] is the same runtime with `stats(false)`, the baseline of the stats
/// overhead bench.
pub struct Goro<const STATS: bool = true>(pub goro::Runtime);

/// goro with `stats(false)`: no sampled clock readings, no histograms.
pub type GoroNoStats = Goro<false>;

/// The builder of every goro runtime the benches start: `procs` processors, stats on or off.
pub fn goro_builder(procs: usize, stats: bool) -> goro::Builder {
    let mut builder = goro::Runtime::builder();
    builder.processors(procs).stats(stats);
    builder
}

impl<const STATS: bool> BenchRuntime for Goro<STATS> {
    const NAME: &'static str = if STATS { "goro" } else { "goro-nostats" };
    type JoinError = goro::task::JoinError;
    type JoinHandle<T: Send + 'static> = goro::task::JoinHandle<T>;

    fn build(procs: usize) -> io::Result<Self> {
        goro_builder(procs, STATS).build().map(Goro)
    }

    fn block_on<F: Future>(&self, fut: F) -> F::Output {
        self.0.block_on(fut)
    }

    fn spawn<F>(&self, fut: F) -> Self::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.0.handle().spawn(fut)
    }

    fn spawn_inside<F>(fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(goro::spawn(fut));
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        goro::task::yield_now()
    }

    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send + 'static {
        goro::time::sleep(duration)
    }
}

impl BenchRuntime for tokio::runtime::Runtime {
    const NAME: &'static str = "tokio";
    type JoinError = tokio::task::JoinError;
    type JoinHandle<T: Send + 'static> = tokio::task::JoinHandle<T>;

    fn build(procs: usize) -> io::Result<Self> {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(procs)
            .enable_all()
            .build()
    }

    fn block_on<F: Future>(&self, fut: F) -> F::Output {
        tokio::runtime::Runtime::block_on(self, fut)
    }

    fn spawn<F>(&self, fut: F) -> Self::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle().spawn(fut)
    }

    fn spawn_inside<F>(fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(tokio::spawn(fut));
    }

    fn yield_now() -> impl Future<Output = ()> + Send {
        tokio::task::yield_now()
    }

    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send + 'static {
        tokio::time::sleep(duration)
    }
}

/// A workload that runs on any [`BenchRuntime`] (the scheduler and timer suites), so one
/// driver can bench a whole suite on goro and on tokio.
pub trait RuntimeWorkload: Copy + std::fmt::Display + 'static {
    /// Every workload of the suite, in the order it runs them.
    const WORKLOADS: &'static [Self];
    /// A runtime set up for one workload.
    type Prepared<R: BenchRuntime>;
    /// Builds a runtime with `procs` workers, ready to run the workload repeatedly.
    fn prepare<R: BenchRuntime>(self, procs: usize) -> io::Result<Self::Prepared<R>>;
    /// Runs one iteration.
    fn run<R: BenchRuntime>(prepared: &mut Self::Prepared<R>);
}

impl RuntimeWorkload for sched::Workload {
    const WORKLOADS: &'static [Self] = &sched::Workload::ALL;
    type Prepared<R: BenchRuntime> = sched::Prepared<R>;
    fn prepare<R: BenchRuntime>(self, procs: usize) -> io::Result<sched::Prepared<R>> {
        sched::Workload::prepare(self, procs)
    }
    fn run<R: BenchRuntime>(prepared: &mut sched::Prepared<R>) {
        prepared.run();
    }
}

impl RuntimeWorkload for timers::Workload {
    const WORKLOADS: &'static [Self] = &timers::Workload::ALL;
    type Prepared<R: BenchRuntime> = timers::Prepared<R>;
    fn prepare<R: BenchRuntime>(self, procs: usize) -> io::Result<timers::Prepared<R>> {
        timers::Workload::prepare(self, procs)
    }
    fn run<R: BenchRuntime>(prepared: &mut timers::Prepared<R>) {
        prepared.run();
    }
}

pub mod sched {
    //! The scheduler suite: tokio's `rt_multi_threaded` workloads, generic over
    //! [`BenchRuntime`]. See the crate docs for what each one stresses.
    //!
    //! Use the plain functions directly, or [`Workload::prepare`] to get a runtime plus
    //! whatever background load the workload needs, ready to [`Prepared::run`] repeatedly.

    use super::BenchRuntime;
    use std::fmt;
    use std::io;
    use std::sync::atomic::Ordering::Relaxed;
    use std::sync::atomic::{AtomicBool, AtomicUsize};
    use std::sync::{mpsc, Arc};
    use std::time::{Duration, Instant};

    /// Tasks spawned per iteration by the `spawn_many_*` workloads.
    pub const NUM_SPAWN: usize = 10_000;
    /// Tasks in `yield_many`.
    pub const YIELD_TASKS: usize = 200;
    /// `yield_now` calls per task in `yield_many`.
    pub const NUM_YIELD: usize = 1_000;
    /// Pairs in `ping_pong`.
    pub const NUM_PINGS: usize = 1_000;
    /// Length of the spawn chain in `chained_spawn`.
    pub const CHAIN_DEPTH: usize = 1_000;
    /// CPU burnt per poll by the background tasks of `spawn_many_remote_busy`.
    pub const STALL: Duration = Duration::from_micros(10);
    /// Background tasks per worker in `spawn_many_remote_busy`.
    pub const BUSY_TASKS_PER_WORKER: usize = 2;

    /// One workload of the scheduler suite.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum Workload {
        SpawnManyLocal,
        SpawnManyRemoteIdle,
        SpawnManyRemoteBusy,
        YieldMany,
        PingPong,
        ChainedSpawn,
    }

    impl Workload {
        /// Every workload, in the order the suite runs them.
        pub const ALL: [Workload; 6] = [
            Workload::SpawnManyLocal,
            Workload::SpawnManyRemoteIdle,
            Workload::SpawnManyRemoteBusy,
            Workload::YieldMany,
            Workload::PingPong,
            Workload::ChainedSpawn,
        ];

        /// The workload's name, as used in criterion ids (`sched/<name>/<procs>`).
        pub fn name(self) -> &'static str {
            match self {
                Workload::SpawnManyLocal => "spawn_many_local",
                Workload::SpawnManyRemoteIdle => "spawn_many_remote_idle",
                Workload::SpawnManyRemoteBusy => "spawn_many_remote_busy",
                Workload::YieldMany => "yield_many",
                Workload::PingPong => "ping_pong",
                Workload::ChainedSpawn => "chained_spawn",
            }
        }

        /// Builds a runtime with `procs` workers and sets up what the workload needs
        /// (for `spawn_many_remote_busy`, the background load).
        pub fn prepare<R: BenchRuntime>(self, procs: usize) -> io::Result<Prepared<R>> {
            let rt = R::build(procs)?;
            let busy = match self {
                Workload::SpawnManyRemoteBusy => {
                    Some(BusyLoad::start(&rt, BUSY_TASKS_PER_WORKER * procs))
                }
                _ => None,
            };
            Ok(Prepared {
                workload: self,
                busy,
                rt,
            })
        }

        /// Runs one iteration of the workload on `rt`. For `spawn_many_remote_busy` the
        /// caller is responsible for the background load; prefer [`Workload::prepare`].
        pub fn run_once<R: BenchRuntime>(self, rt: &R) {
            match self {
                Workload::SpawnManyLocal => spawn_many_local(rt),
                Workload::SpawnManyRemoteIdle | Workload::SpawnManyRemoteBusy => {
                    spawn_many_remote(rt)
                }
                Workload::YieldMany => yield_many(rt),
                Workload::PingPong => ping_pong(rt),
                Workload::ChainedSpawn => chained_spawn(rt),
            }
        }
    }

    impl fmt::Display for Workload {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.name())
        }
    }

    /// A runtime set up for one workload. Dropping it stops any background load, waits for
    /// it to finish, then shuts the runtime down.
    pub struct Prepared<R: BenchRuntime> {
        workload: Workload,
        // Declared before `rt`; stopped explicitly in `Drop` while `rt` is still alive.
        busy: Option<BusyLoad<R>>,
        rt: R,
    }

    impl<R: BenchRuntime> Prepared<R> {
        /// Runs one iteration of the workload.
        pub fn run(&mut self) {
            self.workload.run_once(&self.rt);
        }

        /// The runtime the workload runs on.
        pub fn runtime(&self) -> &R {
            &self.rt
        }
    }

    impl<R: BenchRuntime> Drop for Prepared<R> {
        fn drop(&mut self) {
            if let Some(busy) = self.busy.take() {
                busy.stop(&self.rt);
            }
        }
    }

    /// spawn_many_local: a task spawns [`NUM_SPAWN`] empty tasks; the last to run signals.
    pub fn spawn_many_local<R: BenchRuntime>(rt: &R) {
        let (tx, rx) = mpsc::sync_channel(1);
        let rem = Arc::new(AtomicUsize::new(NUM_SPAWN));

        drop(rt.spawn(async move {
            for _ in 0..NUM_SPAWN {
                let tx = tx.clone();
                let rem = rem.clone();
                R::spawn_inside(async move {
                    if rem.fetch_sub(1, Relaxed) == 1 {
                        tx.send(()).unwrap();
                    }
                });
            }
        }));

        rx.recv()
            .expect("spawn_many_local: a task was dropped before it ran");
    }

    /// spawn_many_remote_idle / _busy: spawn [`NUM_SPAWN`] empty tasks from outside the
    /// runtime, then await all of their `JoinHandle`s in `block_on`.
    pub fn spawn_many_remote<R: BenchRuntime>(rt: &R) {
        let handles: Vec<_> = (0..NUM_SPAWN).map(|_| rt.spawn(async {})).collect();

        rt.block_on(async {
            for handle in handles {
                handle.await.expect("spawn_many_remote: task failed");
            }
        });
    }

    /// yield_many: [`YIELD_TASKS`] tasks, spawned from outside, each yield [`NUM_YIELD`] times.
    pub fn yield_many<R: BenchRuntime>(rt: &R) {
        let (tx, rx) = mpsc::sync_channel(YIELD_TASKS);

        for _ in 0..YIELD_TASKS {
            let tx = tx.clone();
            drop(rt.spawn(async move {
                for _ in 0..NUM_YIELD {
                    R::yield_now().await;
                }
                tx.send(()).unwrap();
            }));
        }
        drop(tx);

        for _ in 0..YIELD_TASKS {
            rx.recv()
                .expect("yield_many: a task was dropped before it finished");
        }
    }

    /// ping_pong: a task spawns [`NUM_PINGS`] tasks; each spawns a partner and exchanges one
    /// oneshot message each way with it. The last pair to finish signals.
    pub fn ping_pong<R: BenchRuntime>(rt: &R) {
        use tokio::sync::oneshot;

        let (done_tx, done_rx) = mpsc::sync_channel(1);
        let rem = Arc::new(AtomicUsize::new(NUM_PINGS));

        drop(rt.spawn(async move {
            for _ in 0..NUM_PINGS {
                let rem = rem.clone();
                let done_tx = done_tx.clone();

                R::spawn_inside(async move {
                    let (tx1, rx1) = oneshot::channel();
                    let (tx2, rx2) = oneshot::channel();

                    R::spawn_inside(async move {
                        rx1.await.unwrap();
                        tx2.send(()).unwrap();
                    });

                    tx1.send(()).unwrap();
                    rx2.await.unwrap();

                    if rem.fetch_sub(1, Relaxed) == 1 {
                        done_tx.send(()).unwrap();
                    }
                });
            }
        }));

        done_rx
            .recv()
            .expect("ping_pong: a task was dropped before it finished");
    }

    /// chained_spawn: each task spawns the next, [`CHAIN_DEPTH`] deep; the last signals.
    pub fn chained_spawn<R: BenchRuntime>(rt: &R) {
        fn link<R: BenchRuntime>(done_tx: mpsc::SyncSender<()>, n: usize) {
            if n == 0 {
                done_tx.send(()).unwrap();
            } else {
                R::spawn_inside(async move { link::<R>(done_tx, n - 1) });
            }
        }

        let (done_tx, done_rx) = mpsc::sync_channel(1);
        drop(rt.spawn(async move { link::<R>(done_tx, CHAIN_DEPTH) }));

        done_rx
            .recv()
            .expect("chained_spawn: a task was dropped before it finished");
    }

    /// Background load for `spawn_many_remote_busy`: tasks that loop `yield_now().await`
    /// followed by [`STALL`] of CPU work, until stopped.
    pub struct BusyLoad<R: BenchRuntime> {
        flag: Arc<AtomicBool>,
        handles: Vec<R::JoinHandle<()>>,
    }

    impl<R: BenchRuntime> BusyLoad<R> {
        /// Spawns `tasks` busy tasks on `rt`.
        pub fn start(rt: &R, tasks: usize) -> Self {
            let flag = Arc::new(AtomicBool::new(true));
            let handles = (0..tasks)
                .map(|_| {
                    let flag = flag.clone();
                    rt.spawn(async move {
                        while flag.load(Relaxed) {
                            R::yield_now().await;
                            stall();
                        }
                    })
                })
                .collect();
            BusyLoad { flag, handles }
        }

        /// Stops the busy tasks and waits until every one has finished.
        pub fn stop(mut self, rt: &R) {
            self.flag.store(false, Relaxed);
            let handles = std::mem::take(&mut self.handles);
            rt.block_on(async {
                for handle in handles {
                    // A failure here (e.g. the runtime cancelled it) is not the bench's concern.
                    let _ = handle.await;
                }
            });
        }
    }

    impl<R: BenchRuntime> Drop for BusyLoad<R> {
        fn drop(&mut self) {
            // If `stop` was not called, at least let the tasks end on their own.
            self.flag.store(false, Relaxed);
        }
    }

    /// Burns [`STALL`] of wall time on the current thread, yielding the OS thread meanwhile
    /// (as tokio's bench does).
    fn stall() {
        let start = Instant::now();
        while start.elapsed() < STALL {
            std::thread::yield_now();
        }
    }
}
