//! # goro-stats: what the runtime knows about itself
//!
//! goro watches its own scheduler. This crate holds the numbers; it knows nothing about
//! tasks, processors or pollers as types — `sched` and `netpoll` feed it plain counts.
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
//! The block is cache-padded so two Ps never share a line.

mod counters;
mod display;
mod durations;
#[cfg(test)]
mod fixtures;
mod histogram;
mod human;
mod json;
mod leaks;
mod pauses;
mod prometheus;
mod report;
mod wait;

pub use counters::{Counter, CounterSnapshot, ProcCounters, COUNTER_FIELDS};
pub use display::MAX_LISTED;
pub use histogram::{Histogram, SharedHistogram};
pub use human::HumanDuration;
pub use leaks::{IdleGroup, SuspectDetector};
pub use pauses::{PauseLog, StallAlarm, MAX_RECENT};
pub use report::{
    Histograms, LeakReport, Pauses, ProcSnapshot, Quantiles, Site, SiteStats, Snapshot, Suspect,
    SuspectReason, TaskCounts, TaskDump, TaskGroup, TaskInfo, TaskState,
};
pub use wait::{WaitKind, WaitOp};
