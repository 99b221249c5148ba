//! # How the scheduler watches itself
//!
//! goro keeps its statistics always on, so they must cost next to nothing on the hot path.
//! What is measured where:
//!
//! * **Counters** (`goro_stats::ProcCounters`): one cache-padded block per processor,
//!   written only by the machine holding it.
//! * **Task records** (`task/record.rs`): polls, wakes, idle time and the suspension point,
//!   in the task header, updated with relaxed stores by the machine that holds RUNNING.
//! * **Orphans**: the task state word counts wakers, so the moment a task is idle with no
//!   waker left is the result of one atomic operation. [`RuntimeStats::orphaned`] records the
//!   task then, and cancels it if `reclaim_orphans` is on. There are no false positives: a
//!   task with no waker, not queued and not running cannot be woken by anyone.
//! * **Deadlocks**: `goro::sync` proves lock cycles and hands them to
//!   [`RuntimeStats::deadlocked`], which keeps the most recent ones (a cycle once) for the
//!   leak report and counts their tasks. Nothing is cancelled: a deadlock is a bug to report.
//! * **Histograms** (per processor, `ProcHistograms`): poll duration, scheduling latency,
//!   netpoll block time and task lifetime, in nanoseconds. Clock readings are what costs, so
//!   they are *sampled*: one poll in [`POLL_SAMPLE`] (256) is timed, one wake in 256 of each
//!   task is timestamped, one task in 64 (by id) has its lifetime measured; every park is
//!   timed (it is a system call anyway). A clock reading costs about 26 ns on this machine;
//!   sampled, it costs well under a nanosecond per poll. The overhead is measured by
//!   `goro-bench --suite overhead` (stats on versus off, same process). With `Config::stats == false` none of these clocks are read.
//! * **Per-site counts** (`sites.rs`), under the registry shard lock that spawn and
//!   completion take anyway.
//! * **Stats cycles** (`cycle.rs`), run by the monitor every `stats_interval`: the cycle's
//!   pause (the longest time a processor had runnable work and did not start a poll, which
//!   the monitor measures by sampling each processor's `run_state` every round, at no cost to
//!   the machines), the stall alarm, and the suspected-leak scan over the registry.
//! * **Reports** (`report.rs`) assemble `goro_stats` values from all of the above.

pub(crate) mod cycle;
mod report;
pub(crate) mod sites;

pub(crate) use cycle::{CycleState, PauseTracker};
pub(crate) use report::{leak_report, pauses, snapshot, task_dump, task_info, task_infos};

use crate::task::RawTask;
use goro_stats::{Deadlock, SharedHistogram, TaskInfo, TaskState};
use parking_lot::Mutex;
use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

/// One poll in this many is timed for the poll-duration histogram (a power of two).
pub(crate) const POLL_SAMPLE: u64 = 256;
/// The orphan report keeps this many of the most recent orphans.
const ORPHANS_KEPT: usize = 1024;
/// The leak report keeps this many of the most recent deadlocks.
const DEADLOCKS_KEPT: usize = 256;

/// A processor's latency histograms (nanoseconds).
#[derive(Default)]
pub(crate) struct ProcHistograms {
    pub(crate) poll_duration: SharedHistogram,
    pub(crate) scheduling_latency: SharedHistogram,
    pub(crate) netpoll_block: SharedHistogram,
    pub(crate) task_lifetime: SharedHistogram,
}

/// The stats state of one runtime.
pub(crate) struct RuntimeStats {
    /// Timing and histograms on (`Config::stats`).
    pub(crate) timing: bool,
    pub(crate) started: Instant,
    orphans: Mutex<OrphanLog>,
    reclaimed: AtomicU64,
    deadlocks: Mutex<DeadlockLog>,
    pub(crate) cycle: Mutex<CycleState>,
}

#[derive(Default)]
struct DeadlockLog {
    recent: VecDeque<Deadlock>,
    /// Tasks of every deadlock recorded so far.
    tasks: u64,
}

#[derive(Default)]
struct OrphanLog {
    recent: VecDeque<TaskInfo>,
    total: u64,
}

impl RuntimeStats {
    pub(crate) fn new(config: &crate::Config) -> RuntimeStats {
        crate::time::clock::refresh_coarse();
        RuntimeStats {
            timing: config.stats,
            started: Instant::now(),
            orphans: Mutex::new(OrphanLog::default()),
            reclaimed: AtomicU64::new(0),
            deadlocks: Mutex::new(DeadlockLog::default()),
            cycle: Mutex::new(CycleState::new(config)),
        }
    }

    /// Records an orphaned task (see the module docs), of which `info` is the report;
    /// `reclaim` says it is about to be cancelled. The caller holds a reference.
    pub(crate) fn orphaned(&self, task: RawTask, mut info: TaskInfo, reclaim: bool) {
        let record = &task.header().record;
        record.mark_orphaned();
        info.state = if reclaim {
            TaskState::Reclaimed
        } else {
            TaskState::Orphaned
        };
        let mut log = self.orphans.lock();
        log.total += 1;
        if log.recent.len() == ORPHANS_KEPT {
            log.recent.pop_front();
        }
        log.recent.push_back(info);
        drop(log);
        if reclaim {
            self.reclaimed.fetch_add(1, Relaxed);
            record.mark_reclaimed();
        }
    }

    /// The orphans found so far: the most recent ones, the total, and how many were
    /// reclaimed.
    pub(crate) fn orphans(&self) -> (Vec<TaskInfo>, u64, u64) {
        let log = self.orphans.lock();
        (
            log.recent.iter().cloned().collect(),
            log.total,
            self.reclaimed.load(Relaxed),
        )
    }

    /// Records a deadlock, unless one with the same tasks is listed already (two tasks
    /// closing the same cycle at once both find it). Returns whether it was recorded.
    pub(crate) fn deadlocked(&self, deadlock: Deadlock) -> bool {
        let ids = |d: &Deadlock| {
            let mut ids: Vec<u64> = d.tasks.iter().map(|t| t.id).collect();
            ids.sort_unstable();
            ids
        };
        let new = ids(&deadlock);
        let mut log = self.deadlocks.lock();
        if log.recent.iter().any(|d| ids(d) == new) {
            return false;
        }
        log.tasks += new.len() as u64;
        if log.recent.len() == DEADLOCKS_KEPT {
            log.recent.pop_front();
        }
        log.recent.push_back(deadlock);
        true
    }

    /// The ids of the tasks of the deadlocks listed now.
    pub(crate) fn deadlocked_ids(&self) -> HashSet<u64> {
        let log = self.deadlocks.lock();
        log.recent
            .iter()
            .flat_map(|d| d.tasks.iter().map(|t| t.id))
            .collect()
    }

    /// The deadlocks found so far (the most recent ones) and how many tasks they held.
    pub(crate) fn deadlocks(&self) -> (Vec<Deadlock>, u64) {
        let log = self.deadlocks.lock();
        (log.recent.iter().cloned().collect(), log.tasks)
    }

    pub(crate) fn orphaned_total(&self) -> u64 {
        self.orphans.lock().total
    }

    /// A sampled wake at `woken_at` (clock nanoseconds) led to a poll starting now.
    pub(crate) fn scheduling_latency(&self, woken_at: u64) {
        let latency = crate::time::clock::now().saturating_sub(woken_at);
        record_local(|h| &h.scheduling_latency, latency);
    }
}

/// Records `nanos` into one of the histograms of the processor this thread holds, if any
/// (blocking threads hold none and record nothing).
pub(crate) fn record_local(which: impl FnOnce(&ProcHistograms) -> &SharedHistogram, nanos: u64) {
    crate::context::with_processor(|p| {
        if let Some(p) = p {
            which(&p.proc_shared().hist).record(nanos);
        }
    });
}
