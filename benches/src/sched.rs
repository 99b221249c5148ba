//! The scheduler suite: tokio's `rt_multi_threaded` workloads, generic over
//! [`BenchRuntime`].
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
//! The suite pins nothing: it leaves placement to the OS scheduler.
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
    /// `spawn_many_local`: one task spawns [`NUM_SPAWN`] empty tasks.
    SpawnManyLocal,
    /// `spawn_many_remote_idle`: the bench thread spawns [`NUM_SPAWN`] tasks into an idle runtime.
    SpawnManyRemoteIdle,
    /// `spawn_many_remote_busy`: the same while background tasks keep every worker busy.
    SpawnManyRemoteBusy,
    /// `yield_many`: [`YIELD_TASKS`] tasks each yield [`NUM_YIELD`] times.
    YieldMany,
    /// `ping_pong`: pairs of tasks exchange one message each way.
    PingPong,
    /// `chained_spawn`: each task of a chain spawns the next and exits.
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
            Workload::SpawnManyRemoteIdle | Workload::SpawnManyRemoteBusy => spawn_many_remote(rt),
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
