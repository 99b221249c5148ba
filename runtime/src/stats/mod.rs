//! What the runtime knows about itself: counters, latency histograms, stats-cycle pauses,
//! every live task, and the tasks that leaked.
//!
//! goro keeps these always on (see the `goro-stats` and `goro-sched` crate docs for how they
//! stay cheap). This module reads them for the current runtime ([`snapshot`],
//! [`leak_report`], [`pauses`], [`tasks`]); [`Handle`] has the same methods
//! for any runtime. Every report has public fields, `Debug`, a human `Display` and
//! `to_json()`; [`Snapshot::to_prometheus`] is the Prometheus text format.
//!
//! ## Leaks
//!
//! A task is **orphaned** when it waits (returned `Pending`) while no `Waker` for it exists
//! anywhere: nothing can ever wake it again. goro counts wakers in the task's state word and
//! notices the moment it happens, so there are no false positives. A group of idle tasks
//! with the same spawn site and suspension point is **suspected** when it keeps growing, or
//! when it waits past the leak threshold on something in-process (a channel, a lock, a
//! `JoinHandle`), not on a goro timer or socket.
//!
//! ```
//! use std::task::Poll;
//! use std::time::Duration;
//!
//! let rt = goro::Runtime::builder().processors(1).build()?;
//! rt.block_on(async {
//!     // A future that returns `Pending` without keeping its waker: nothing can wake it.
//!     goro::spawn(std::future::poll_fn(|_cx| Poll::<()>::Pending));
//!     goro::time::sleep(Duration::from_millis(20)).await;
//!
//!     let report = goro::stats::leak_report();
//!     assert_eq!(report.orphaned.len(), 1);
//!     assert!(report.orphaned[0].spawned_at.file().ends_with(".rs"));
//!     // Grouped like a goroutine dump: "1 task spawned at src/lib.rs:8:5, ..."
//!     println!("{report}");
//! });
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! ## Outside the process
//!
//! * `GORO_SCHEDTRACE=<ms>` prints a Go-style `SCHED` line to stderr every `ms`
//!   milliseconds: uptime, processors, idle processors, threads, spinning, the run queues.
//! * `GORO_DEBUG_ADDR=<ip:port>` (or [`Builder::debug_addr`](crate::Builder::debug_addr))
//!   serves over HTTP, on a thread of its own so that it answers even when every processor
//!   is stuck: `/metrics` (Prometheus), `/debug/goro/stats`, `/debug/goro/tasks`,
//!   `/debug/goro/leaks` (text, or JSON with `?format=json` or `Accept: application/json`).
//!   It binds loopback only unless [`DebugExposure`] (`GORO_DEBUG_PUBLIC=metrics|all`) says
//!   otherwise, serves at most 1024 connections at once from one thread, and no client can
//!   hold it: see the `debug_server` module.

mod debug_connection;
pub(crate) mod debug_server;
mod exposure;
pub(crate) mod orphan_check;
mod routes;

pub use goro_stats::{
    CounterSnapshot, Deadlock, DeadlockLink, GroupKey, Histograms, Hold, LeakReport, Pauses,
    Primitive, ProcSnapshot, Quantiles, SiteStats, Snapshot, Suspect, SuspectReason, TaskCounts,
    TaskDump, TaskGroup, TaskInfo, TaskState, WaitKind, WaitOp,
};

pub use exposure::{DebugExposure, DEBUG_PUBLIC_ENV};

use crate::Handle;

/// The current runtime's handle, or a panic naming the caller.
#[track_caller]
fn current(what: &str) -> Handle {
    match Handle::try_current() {
        Some(handle) => handle,
        None => panic!("goro::stats::{what}: {}", crate::task::NO_RUNTIME),
    }
}

/// The current runtime's counters, histograms, pauses and task counts
/// ([`Handle::stats`](crate::Handle::stats)).
///
/// # Panics
/// Outside a goro runtime.
///
/// ```
/// # goro::Runtime::new().unwrap().block_on(async {
/// goro::spawn(async {}).await.unwrap();
/// let snap = goro::stats::snapshot();
/// assert!(snap.tasks.completed >= 1);
/// # })
/// ```
#[track_caller]
pub fn snapshot() -> Snapshot {
    current("snapshot").stats()
}

/// The current runtime's orphaned and suspected tasks
/// ([`Handle::leak_report`](crate::Handle::leak_report)).
///
/// # Panics
/// Outside a goro runtime.
///
/// ```
/// # goro::Runtime::new().unwrap().block_on(async {
/// assert_eq!(goro::stats::leak_report().orphaned_total, 0);
/// # })
/// ```
#[track_caller]
pub fn leak_report() -> LeakReport {
    current("leak_report").leak_report()
}

/// The current runtime's stats cycles and their pauses, like Go's `debug.ReadGCStats`
/// ([`Handle::pauses`](crate::Handle::pauses)).
///
/// # Panics
/// Outside a goro runtime.
///
/// ```
/// # goro::Runtime::new().unwrap().block_on(async {
/// let pauses = goro::stats::pauses();
/// assert!(pauses.pause_total >= pauses.pauses.iter().copied().max().unwrap_or_default());
/// # })
/// ```
#[track_caller]
pub fn pauses() -> Pauses {
    current("pauses").pauses()
}

/// Every live task of the current runtime, grouped by spawn site and suspension point
/// ([`Handle::tasks`](crate::Handle::tasks)).
///
/// # Panics
/// Outside a goro runtime.
///
/// ```
/// # goro::Runtime::new().unwrap().block_on(async {
/// let sleeper = goro::spawn(goro::time::sleep(std::time::Duration::from_secs(60)));
/// goro::task::yield_now().await;
/// let dump = goro::stats::tasks();
/// let live: usize = dump.groups.iter().map(|g| g.tasks.len()).sum();
/// assert!(live >= 1, "{dump}");
/// sleeper.abort();
/// # })
/// ```
#[track_caller]
pub fn tasks() -> TaskDump {
    current("tasks").tasks()
}
