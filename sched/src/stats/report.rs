//! Assembles the `goro_stats` reports from the scheduler's state.

use crate::registry::Spawn;
use crate::shared::Shared;
use crate::task::RawTask;
use crate::time::clock;
use goro_stats::{
    CounterSnapshot, GroupKey, Grouping, Histogram, Histograms, LeakReport, Pauses, ProcSnapshot,
    SiteStats, Snapshot, TaskCounts, TaskDump, TaskGroup, TaskInfo, TaskState,
};
use std::collections::HashMap;
use std::time::Duration;

/// One task, which comes from `spawn`, as a report shows it, at clock time `now`.
pub(crate) fn task_info(task: RawTask, spawn: Spawn<'_>, now: u64) -> TaskInfo {
    let header = task.header();
    let record = &header.record;
    let state = header.state.load();
    let suspension = record.suspension();
    let task_state = if state.is_running() {
        TaskState::Running
    } else if state.is_notified() {
        TaskState::Scheduled
    } else if record.is_reclaimed() {
        TaskState::Reclaimed
    } else if record.is_orphaned() {
        TaskState::Orphaned
    } else {
        TaskState::Idle
    };
    let idle = match task_state {
        TaskState::Running | TaskState::Scheduled => Duration::ZERO,
        _ => clock::duration_between(record.idle_since(), now),
    };
    TaskInfo {
        id: header.id.as_u64(),
        name: spawn.name.map(str::to_string),
        spawned_at: spawn.site,
        suspended_at: suspension.map(|s| s.at),
        wait_op: suspension.map(|s| s.op),
        state: task_state,
        age: clock::duration_between(record.created(), now),
        idle,
        polls: record.polls(),
        wakes: record.wakes(),
        wakers: u32::try_from(state.wakers()).unwrap_or(u32::MAX),
    }
}

/// The whole runtime now.
pub(crate) fn snapshot(shared: &Shared) -> Snapshot {
    let n = shared.procs.len();
    let (unparked, spinning) = shared.idle.counts();
    let (threads, idle_threads) = shared.machines.thread_counts();
    let mut totals = CounterSnapshot::default();
    let procs: Vec<ProcSnapshot> = shared
        .procs
        .iter()
        .enumerate()
        .map(|(index, ps)| {
            let counters = ps.counters.snapshot();
            totals.merge(&counters);
            ProcSnapshot {
                index,
                runqueue: ps.stealer.len() + ps.runnext.is_occupied() as usize,
                idle: ps.park.parked_in().is_some(),
                io_sources: ps.poller.registrations(),
                counters,
            }
        })
        .collect();
    let (_, orphaned, reclaimed) = shared.stats.orphans();
    let (sites, live) = site_stats(shared);
    let spawned = sites.iter().map(|s| s.spawned).sum();
    let completed = sites.iter().map(|s| s.completed).sum();
    Snapshot {
        uptime: shared.stats.started.elapsed(),
        processors: n,
        idle_processors: n.saturating_sub(unparked),
        spinning,
        threads,
        idle_threads,
        injector: shared.injector.len(),
        procs,
        totals,
        tasks: TaskCounts {
            live: live as u64,
            spawned,
            completed,
            orphaned,
            reclaimed,
            deadlocked: shared.stats.deadlocks().1,
        },
        sites,
        histograms: histograms(shared),
        pauses: pauses(shared),
        stats_enabled: shared.stats.timing,
    }
}

fn histograms(shared: &Shared) -> Histograms {
    let mut poll = Histogram::new();
    let mut latency = Histogram::new();
    let mut block = Histogram::new();
    let mut lifetime = Histogram::new();
    for ps in shared.procs.iter() {
        ps.hist.poll_duration.add_to(&mut poll);
        ps.hist.scheduling_latency.add_to(&mut latency);
        ps.hist.netpoll_block.add_to(&mut block);
        ps.hist.task_lifetime.add_to(&mut lifetime);
    }
    Histograms {
        poll_duration: poll.quantiles(),
        scheduling_latency: latency.quantiles(),
        netpoll_block: block.quantiles(),
        task_lifetime: lifetime.quantiles(),
    }
}

/// Per spawn site, most live tasks first; and the live tasks, counted in the same pass.
fn site_stats(shared: &Shared) -> (Vec<SiteStats>, usize) {
    let (counts, live) = shared.registry.site_counts();
    let cycle = shared.stats.cycle.lock();
    let mut sites: Vec<SiteStats> = counts
        .into_iter()
        .map(|c| SiteStats {
            spawned_at: c.site,
            spawned: c.spawned,
            completed: c.completed,
            live: c.spawned.saturating_sub(c.completed),
            lifetime: cycle
                .site_lifetimes
                .get(c.site)
                .map(Histogram::quantiles)
                .unwrap_or_default(),
        })
        .collect();
    sites.sort_by(|a, b| b.live.cmp(&a.live).then(b.spawned.cmp(&a.spawned)));
    (sites, live)
}

/// The stats cycles so far.
pub(crate) fn pauses(shared: &Shared) -> Pauses {
    shared.stats.cycle.lock().pauses.pauses()
}

/// Orphaned and suspected tasks.
pub(crate) fn leak_report(shared: &Shared) -> LeakReport {
    let (mut orphaned, orphaned_total, reclaimed) = shared.stats.orphans();
    let (mut deadlocked, _) = shared.stats.deadlocks();
    refresh_idle(
        shared,
        orphaned
            .iter_mut()
            .chain(deadlocked.iter_mut().flat_map(|d| d.tasks.iter_mut())),
    );
    let cycle = shared.stats.cycle.lock();
    let pauses = cycle.pauses.pauses();
    LeakReport {
        orphaned,
        orphaned_total,
        reclaimed,
        deadlocked,
        stuck_in_poll: cycle.long_polls.clone(),
        suspected: cycle.suspects.clone(),
        stall_alarms: pauses.stall_alarms,
        live_tasks: shared.registry.len() as u64,
        cycles: pauses.num_cycles,
        leak_threshold: cycle.leak_threshold(),
    }
}

/// The tasks of `ids` that are live, in the order of `ids` (one walk over the registry).
pub(crate) fn task_infos(shared: &Shared, ids: &[u64]) -> Vec<TaskInfo> {
    let now = clock::now();
    let index: HashMap<u64, usize> = ids.iter().enumerate().map(|(i, &id)| (id, i)).collect();
    let mut found: Vec<Option<TaskInfo>> = vec![None; ids.len()];
    shared.registry.for_each(|task, spawn| {
        if let Some(&i) = index.get(&task.header().id.as_u64()) {
            found[i] = Some(task_info(task, spawn, now));
        }
    });
    found.into_iter().flatten().collect()
}

/// Sets the idle time of each of `tasks` still live to what it is now (a report keeps the
/// record of the moment the task was found).
fn refresh_idle<'a>(shared: &Shared, tasks: impl Iterator<Item = &'a mut TaskInfo>) {
    let mut tasks: Vec<&mut TaskInfo> = tasks.collect();
    if tasks.is_empty() {
        return;
    }
    let ids: Vec<u64> = tasks.iter().map(|t| t.id).collect();
    let now: HashMap<u64, TaskInfo> = task_infos(shared, &ids)
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    for t in tasks.iter_mut() {
        if let Some(now) = now.get(&t.id) {
            t.idle = now.idle;
            t.age = now.age;
        }
    }
}

/// Every live task, grouped by spawn site, suspension point and wait op, biggest group
/// first, ties in key order ([`goro_stats::Grouping`]).
pub(crate) fn task_dump(shared: &Shared) -> TaskDump {
    let now = clock::now();
    let deadlocked = shared.stats.deadlocked_ids();
    let mut groups = Grouping::new();
    shared.registry.for_each(|task, spawn| {
        let mut info = task_info(task, spawn, now);
        if info.state == TaskState::Idle && deadlocked.contains(&info.id) {
            info.state = TaskState::Deadlocked;
        }
        let key = GroupKey::of(&info);
        groups.entry(key, || TaskGroup::empty(key)).tasks.push(info);
    });
    TaskDump {
        uptime: shared.stats.started.elapsed(),
        groups: groups
            .ranked(|g| g.tasks.len())
            .into_iter()
            .map(|(_, g)| g)
            .collect(),
    }
}
