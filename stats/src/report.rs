//! The reports users read: [`Snapshot`], [`Pauses`], [`LeakReport`], [`TaskDump`].
//!
//! These are plain data with public fields. The scheduler fills them in; this crate formats
//! them (`Display`, JSON through serde, Prometheus text). A source location is serialized as
//! `"file:line:column"`, a duration as floating-point seconds (see `durations.rs`).

use crate::counters::CounterSnapshot;
use crate::wait::WaitOp;
use serde::{Serialize, Serializer};
use std::panic::Location;
use std::time::Duration;

/// A place in the source: where a task was spawned or suspended.
pub type Site = &'static Location<'static>;

pub(crate) fn serialize_site<S: Serializer>(site: &Site, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(site)
}

pub(crate) fn serialize_opt_site<S: Serializer>(
    site: &Option<Site>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match site {
        Some(site) => s.collect_str(site),
        None => s.serialize_none(),
    }
}

/// Quantiles of a distribution of durations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Quantiles {
    /// How many values the quantiles are computed over.
    pub count: u64,
    /// The smallest value.
    #[serde(serialize_with = "crate::durations::secs")]
    pub min: Duration,
    /// 25th percentile.
    #[serde(serialize_with = "crate::durations::secs")]
    pub p25: Duration,
    /// Median.
    #[serde(serialize_with = "crate::durations::secs")]
    pub p50: Duration,
    /// 75th percentile.
    #[serde(serialize_with = "crate::durations::secs")]
    pub p75: Duration,
    /// 90th percentile.
    #[serde(serialize_with = "crate::durations::secs")]
    pub p90: Duration,
    /// 95th percentile.
    #[serde(serialize_with = "crate::durations::secs")]
    pub p95: Duration,
    /// 99th percentile.
    #[serde(serialize_with = "crate::durations::secs")]
    pub p99: Duration,
    /// The largest value.
    #[serde(serialize_with = "crate::durations::secs")]
    pub max: Duration,
    /// The arithmetic mean.
    #[serde(serialize_with = "crate::durations::secs")]
    pub mean: Duration,
}

/// The runtime's latency histograms, merged over processors.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Histograms {
    #[doc = help!(poll_duration)]
    ///
    /// Which polls are timed is the scheduler's policy (see the crate docs).
    pub poll_duration: Quantiles,
    #[doc = help!(scheduling_latency)]
    pub scheduling_latency: Quantiles,
    #[doc = help!(netpoll_block)]
    pub netpoll_block: Quantiles,
    #[doc = help!(task_lifetime)]
    pub task_lifetime: Quantiles,
}

/// One processor in a [`Snapshot`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProcSnapshot {
    /// The processor's index, `0..processors`.
    pub index: usize,
    #[doc = help!(runqueue)]
    pub runqueue: usize,
    /// Parked (in its poller, the poller watch, or its sleeper).
    pub idle: bool,
    /// Sockets registered on its poller now.
    pub io_sources: usize,
    /// Its scheduler counters.
    pub counters: CounterSnapshot,
}

/// Task counts over the runtime's life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TaskCounts {
    #[doc = help!(live)]
    pub live: u64,
    #[doc = help!(spawned)]
    pub spawned: u64,
    #[doc = help!(completed)]
    pub completed: u64,
    #[doc = help!(orphaned)]
    pub orphaned: u64,
    #[doc = help!(reclaimed)]
    pub reclaimed: u64,
    #[doc = help!(deadlocked)]
    pub deadlocked: u64,
}

/// Tasks spawned at one place in the source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiteStats {
    /// The source location.
    #[serde(serialize_with = "serialize_site")]
    pub spawned_at: Site,
    #[doc = help!(site_spawned)]
    pub spawned: u64,
    #[doc = help!(site_completed)]
    pub completed: u64,
    #[doc = help!(site_live)]
    pub live: u64,
    /// Lifetimes of the site's completed tasks.
    pub lifetime: Quantiles,
}

/// Stats cycles and their pauses, like Go's `debug.GCStats`.
///
/// A cycle's *pause* is the longest time in that cycle that a processor had runnable work
/// and did not start a poll.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Pauses {
    #[doc = help!(num_cycles)]
    pub num_cycles: u64,
    /// When the last cycle ran, as time since the runtime started.
    #[serde(serialize_with = "crate::durations::opt_secs")]
    pub last_cycle: Option<Duration>,
    #[doc = help!(pause_total)]
    #[serde(serialize_with = "crate::durations::secs")]
    pub pause_total: Duration,
    #[doc = help!(recent_pauses)]
    #[serde(serialize_with = "crate::durations::vec_secs")]
    pub pauses: Vec<Duration>,
    /// Quantiles of `pauses`.
    pub quantiles: Quantiles,
    #[doc = help!(stall_alarms)]
    pub stall_alarms: u64,
    #[doc = help!(pause_baseline)]
    #[serde(serialize_with = "crate::durations::secs")]
    pub baseline: Duration,
}

/// Where a task is in its life, as far as a report can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    /// Returned `Pending` and waits for a wake.
    Idle,
    /// In a run queue.
    Scheduled,
    /// Being polled.
    Running,
    /// Idle while no waker for it exists: nothing can wake it again.
    Orphaned,
    /// Orphaned, then cancelled by `reclaim_orphans`.
    Reclaimed,
    /// Waits on a lock or semaphore in a cycle of tasks that each hold what the next one
    /// waits on: nothing can ever wake it (see [`Deadlock`](crate::Deadlock)).
    Deadlocked,
}

/// One task, as a report shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskInfo {
    /// The task's id, unique in the runtime's life.
    pub id: u64,
    /// The name given at spawn (`Builder::name`), if any.
    pub name: Option<String>,
    /// Where it was spawned.
    #[serde(serialize_with = "serialize_site")]
    pub spawned_at: Site,
    /// Where the goro future it last suspended on was created; `None` if it never
    /// suspended on one of goro's own futures.
    #[serde(serialize_with = "serialize_opt_site")]
    pub suspended_at: Option<Site>,
    /// Which goro future that was.
    pub wait_op: Option<WaitOp>,
    /// Where it is in its life.
    pub state: TaskState,
    /// Since spawn.
    #[serde(serialize_with = "crate::durations::secs")]
    pub age: Duration,
    /// Since it last returned `Pending` (zero if it is scheduled or running).
    #[serde(serialize_with = "crate::durations::secs")]
    pub idle: Duration,
    /// Times it was polled.
    pub polls: u64,
    /// Times it was woken.
    pub wakes: u64,
    /// Wakers for it that exist right now.
    pub wakers: u32,
}

/// Why a group of tasks is suspected of leaking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SuspectReason {
    /// The group's idle count kept rising across cycles.
    Growing,
    /// Its tasks stayed idle past `leak_threshold` on an in-process wait.
    StuckInProcess,
    /// Both.
    GrowingAndStuck,
}

/// A group of idle tasks (same spawn site, suspension point and wait op) suspected of
/// leaking.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suspect {
    /// Where the group's tasks were spawned.
    #[serde(serialize_with = "serialize_site")]
    pub spawned_at: Site,
    /// Where they last suspended on a goro future; `None` if they never did.
    #[serde(serialize_with = "serialize_opt_site")]
    pub suspended_at: Option<Site>,
    /// Which goro future that was.
    pub wait_op: Option<WaitOp>,
    /// Idle tasks in the group now.
    pub live: u64,
    /// Change of `live` over the detector's window of cycles.
    pub growth: i64,
    /// The longest any task of the group has been idle.
    #[serde(serialize_with = "crate::durations::secs")]
    pub oldest_idle: Duration,
    /// Why the group is suspected.
    pub reason: SuspectReason,
}

/// A task whose current poll has not returned for a long time: it is blocked inside the
/// poll (a `std::sync` or `parking_lot` lock taken twice, a blocking call), where no goro
/// wait can see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LongPoll {
    /// The task (state `Running`).
    pub task: TaskInfo,
    /// How long it has been in this one poll, at least (seen in the same poll by
    /// consecutive stats cycles).
    #[serde(serialize_with = "crate::durations::secs")]
    pub polling_for: Duration,
}

/// Tasks that leaked or look like they did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LeakReport {
    /// Orphaned tasks, oldest first (the most recent ones if there were very many).
    pub orphaned: Vec<TaskInfo>,
    /// Every orphan found so far, including ones no longer listed.
    pub orphaned_total: u64,
    /// Orphans cancelled by `reclaim_orphans`.
    pub reclaimed: u64,
    /// Deadlocks found, oldest first (the most recent ones if there were very many).
    pub deadlocked: Vec<crate::Deadlock>,
    /// Tasks in one poll for more than a stats cycle, longest first.
    pub stuck_in_poll: Vec<LongPoll>,
    /// Suspected groups, most suspicious first (by count, then growth).
    pub suspected: Vec<Suspect>,
    #[doc = help!(stall_alarms)]
    pub stall_alarms: u64,
    #[doc = help!(live)]
    pub live_tasks: u64,
    #[doc = help!(num_cycles)]
    pub cycles: u64,
    /// How long an idle task waits before the detector calls it stuck
    /// (`Builder::leak_threshold`).
    #[serde(serialize_with = "crate::durations::secs")]
    pub leak_threshold: Duration,
}

/// The whole runtime at one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Snapshot {
    #[doc = help!(uptime)]
    #[serde(serialize_with = "crate::durations::secs")]
    pub uptime: Duration,
    #[doc = help!(processors)]
    pub processors: usize,
    #[doc = help!(idle_processors)]
    pub idle_processors: usize,
    #[doc = help!(spinning)]
    pub spinning: usize,
    #[doc = help!(threads)]
    pub threads: usize,
    #[doc = help!(idle_threads)]
    pub idle_threads: usize,
    #[doc = help!(injector)]
    pub injector: usize,
    /// Each processor, by index.
    pub procs: Vec<ProcSnapshot>,
    /// Every processor's counters summed.
    pub totals: CounterSnapshot,
    /// Task counts over the runtime's life.
    pub tasks: TaskCounts,
    /// Per spawn site, most live tasks first.
    pub sites: Vec<SiteStats>,
    /// The latency histograms, merged over processors.
    pub histograms: Histograms,
    /// The stats cycles and their pauses.
    pub pauses: Pauses,
    #[doc = help!(stats_enabled)]
    pub stats_enabled: bool,
}

/// Tasks that share a spawn site, a suspension point and a wait op.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskGroup {
    /// Where the group's tasks were spawned.
    #[serde(serialize_with = "serialize_site")]
    pub spawned_at: Site,
    /// Where they last suspended on a goro future; `None` if they never did.
    #[serde(serialize_with = "serialize_opt_site")]
    pub suspended_at: Option<Site>,
    /// Which goro future that was.
    pub wait_op: Option<WaitOp>,
    /// The group's tasks.
    pub tasks: Vec<TaskInfo>,
}

/// Every live task, grouped like a goroutine dump, biggest group first.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TaskDump {
    #[doc = help!(uptime)]
    #[serde(serialize_with = "crate::durations::secs")]
    pub uptime: Duration,
    /// The groups, biggest first, ties in [`GroupKey`](crate::GroupKey) order.
    pub groups: Vec<TaskGroup>,
}
