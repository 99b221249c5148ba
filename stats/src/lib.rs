//! # goro-stats: what the runtime knows about itself
//!
//! goro watches its own scheduler. This crate holds the numbers and judges them; it knows
//! nothing about tasks, processors or pollers as types — `goro-sched` feeds it plain counts,
//! durations and source locations, and gets reports back.
//!
//! Three modules are called `stats`. This crate is the data and the judgement: report
//! types, counters, histograms, the stall alarm, the leak detector, the text, JSON and
//! Prometheus forms. `goro-sched`'s `stats` module measures the scheduler (what is counted
//! and timed where on the hot path), runs the monitor's stats cycle and fills in these
//! reports. `goro::stats` is the user's door: the reports of the current runtime,
//! `GORO_SCHEDTRACE` and the `GORO_DEBUG_ADDR` HTTP server.
//!
//! ## Counters
//!
//! Every processor (P) owns one [`ProcCounters`] block. Only the machine (M) that currently
//! holds the P writes to it, so an increment is a relaxed load and a relaxed store on a cache
//! line no other P writes: no `lock`-prefixed instruction and no cache-line ping-pong on the
//! hot path. Readers on other threads (the monitor, a stats snapshot) load the values with
//! relaxed ordering and may see them a few events late, which is fine for statistics.
//!
//! A counter that is bumped from any thread (for instance unparks, which the *waking* thread
//! counts) uses a real atomic add instead, see [`Counter::add_shared`].
//!
//! The block is cache-padded so two Ps never share a line. [`COUNTER_FIELDS`] names every
//! counter, for the report formats.
//!
//! ## Histograms
//!
//! [`Histogram`] is an HDR histogram of nanoseconds (1 ns to 1 hour, 2 significant digits,
//! larger values saturate). Each processor records into its own [`SharedHistogram`]; a
//! reader merges them and takes [`Quantiles`]. The histograms are fed *samples*: which polls,
//! wakes and parks are timed is the scheduler's policy, not this crate's.
//!
//! ## Pauses and the stall alarm
//!
//! The monitor runs a stats cycle every interval and records the cycle's *pause* (the
//! longest time a processor had runnable work and did not start a poll) in a [`PauseLog`],
//! which mirrors Go's `debug.GCStats` ([`Pauses`]). The [`StallAlarm`] fires when the p95
//! pause of the last `window` cycles exceeds `factor` times the baseline — the median pause
//! of older cycles, which a stall cannot drag up while it is judged — and a floor (1 ms), and
//! is counted once per episode.
//!
//! ## Suspected leaks
//!
//! Orphaned tasks (no waker left) are found exactly by the scheduler. The rest is judged by
//! the [`SuspectDetector`] from each cycle's idle tasks grouped by spawn site, suspension
//! point and wait op ([`IdleGroup`]): a group is suspected when its idle count rose in each
//! of the last 3 cycles while its oldest task kept ageing (**growing**: churn replaces its
//! tasks, a leak keeps them), or when a task of it has been idle past `leak_threshold` on an
//! in-process wait (**stuck**: a channel, a lock, a `JoinHandle`; a goro timer or socket can
//! still be woken from outside, so those are only suspected when growing). Stable pools,
//! long sleepers and churn are left alone. Suspects rank by idle count, then growth.
//!
//! ## Groups
//!
//! Every report that shows tasks in groups (the task dump, the orphans of a leak report, the
//! cycle's idle groups, the suspects) groups them by one [`GroupKey`] (spawn site,
//! suspension point, wait op) and ranks them by one rule ([`Grouping`], [`rank`]): heaviest
//! first, ties in key order, so a report prints the same tasks in the same order every time.
//!
//! ## Deadlocks
//!
//! `goro::sync` finds lock cycles exactly when they close and hands them over as
//! [`Deadlock`]s: the tasks of the cycle, each with what it holds (and where it acquired
//! it) and what it waits on (and where). They are listed in [`LeakReport::deadlocked`] and
//! counted in [`TaskCounts::deadlocked`].
//!
//! ## Reports
//!
//! The report types ([`Snapshot`], [`LeakReport`], [`TaskDump`], [`Pauses`]) print as text
//! (`Display`: a grouped dump like a goroutine dump, durations as `41s`, `120ms`, `35µs`),
//! as JSON (`to_json`: sites as `"file:line:column"`, durations as floating-point seconds),
//! and a snapshot as Prometheus text ([`Snapshot::to_prometheus`], every metric `goro_*`).
//! [`schedtrace_line`] formats the Go-style `SCHED` line of `GORO_SCHEDTRACE`, and
//! [`parse_schedtrace_line`] reads one back.

#[macro_use]
mod help;

mod counters;
mod deadlock;
mod display;
mod durations;
#[cfg(test)]
mod fixtures;
mod group;
mod histogram;
mod human;
mod json;
mod leaks;
mod pauses;
mod prometheus;
mod report;
mod schedtrace;
mod wait;

pub use counters::{Counter, CounterSnapshot, ProcCounters, COUNTER_FIELDS};
pub use deadlock::{Deadlock, DeadlockLink, Hold, Primitive};
pub use display::{FileLine, MAX_LISTED};
pub use group::{rank, GroupKey, Grouping};
pub use histogram::{Histogram, SharedHistogram};
pub use human::HumanDuration;
pub use leaks::{IdleGroup, SuspectDetector};
pub use pauses::{PauseLog, StallAlarm, MAX_RECENT};
pub use report::{
    Histograms, LeakReport, LongPoll, Pauses, ProcSnapshot, Quantiles, Site, SiteStats, Snapshot,
    Suspect, SuspectReason, TaskCounts, TaskDump, TaskGroup, TaskInfo, TaskState,
};
pub use schedtrace::{
    parse_schedtrace_line, schedtrace_line, schedtrace_line_with, ParsedSchedtrace,
};
pub use wait::{WaitKind, WaitOp};
