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
//! The shapes of tokio's `benches/rt_multi_threaded.rs` (spawn from inside and from outside,
//! into an idle and a busy runtime, yield, ping-pong, chained spawn); its module docs say
//! what each workload stresses.
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
pub mod sched;
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
