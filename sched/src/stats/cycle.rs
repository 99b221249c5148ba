//! The stats cycle: Go's GC cycle, for a scheduler.
//!
//! The monitor samples every processor each round ([`PauseTracker`]) and, every
//! `stats_interval`, closes a cycle ([`run`]):
//!
//! 1. **Pause.** A processor is *paused* while it has runnable work (its local queue or its
//!    `runnext` slot is not empty) and its `run_state` sequence does not move (it does not
//!    start a poll). The tracker measures each pause from the first round that saw the
//!    work queued behind an unchanged `run_state`; the cycle's pause is the longest of any
//!    processor in the cycle (a pause that spans cycles counts in each for the part inside
//!    it). The resolution is the monitor's round: 20 µs while the monitor is busy, up to
//!    10 ms when it has backed off. A task that blocks its processor shows up as a pause of
//!    about the monitor's hand-off delay (10 ms or more), since the hand-off ends it.
//! 2. **Stall alarm.** The pause goes into the `PauseLog`, which raises the alarm when the
//!    p95 of the recent cycles exceeds the baseline times the configured factor.
//! 3. **Leak scan.** Every idle task in the registry is grouped by (spawn site, suspension
//!    point, wait op: `goro_stats::GroupKey`); the groups go to the `SuspectDetector`, whose
//!    verdict the leak report shows.
//! 4. **Long polls.** A task seen running by two cycles with the same poll count has been
//!    in one poll at least since the first of them: it is blocked inside the poll (a
//!    `std::sync` lock taken twice, a blocking call), where no goro wait sees it. Such
//!    tasks are listed in the leak report as stuck in one poll, with how long.
//! 5. **Lifetimes.** Sampled task lifetimes queued in the registry shards go into per-site
//!    histograms.

use crate::ownership::RunState;
use crate::shared::Shared;
use crate::time::clock;
use goro_stats::{
    GroupKey, Grouping, Histogram, IdleGroup, LongPoll, PauseLog, Site, StallAlarm, Suspect,
    SuspectDetector, TaskInfo,
};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// What the monitor keeps between cycles.
pub(crate) struct CycleState {
    pub(crate) pauses: PauseLog,
    detector: SuspectDetector,
    pub(crate) suspects: Vec<Suspect>,
    pub(crate) site_lifetimes: HashMap<Site, Histogram>,
    leak_threshold: Duration,
    /// Tasks seen running: id -> (poll count, uptime of the first cycle that saw this poll).
    running: HashMap<u64, (u64, Duration)>,
    /// Tasks in one poll since before the last cycle, longest first.
    pub(crate) long_polls: Vec<LongPoll>,
}

impl CycleState {
    pub(crate) fn new(config: &crate::Config) -> CycleState {
        CycleState {
            pauses: PauseLog::new(StallAlarm {
                window: config.stall_alarm_window,
                factor: config.stall_alarm_factor,
                ..StallAlarm::default()
            }),
            detector: SuspectDetector::new(config.leak_threshold),
            suspects: Vec::new(),
            site_lifetimes: HashMap::new(),
            leak_threshold: config.leak_threshold,
            running: HashMap::new(),
            long_polls: Vec::new(),
        }
    }

    pub(crate) fn leak_threshold(&self) -> Duration {
        self.leak_threshold
    }
}

/// One processor's pause, as the monitor sees it.
#[derive(Clone, Copy, Default)]
pub(crate) struct PauseTracker {
    run_state: RunState,
    /// Since when the processor has had work queued behind an unchanged `run_state`.
    paused_since: Option<Instant>,
    /// The longest pause seen in the current cycle.
    cycle_max: Duration,
}

impl PauseTracker {
    /// One monitor round: `run_state` and whether the processor has runnable work now.
    pub(crate) fn observe(
        &mut self,
        now: Instant,
        run_state: RunState,
        runnable: bool,
        cycle_start: Instant,
    ) {
        let moved = run_state != self.run_state;
        self.run_state = run_state;
        if !runnable {
            self.paused_since = None;
            return;
        }
        if moved {
            // A poll started (or ended) since the last round: any pause ended, and the
            // queued work now waits behind this poll.
            self.paused_since = Some(now);
            return;
        }
        let since = *self.paused_since.get_or_insert(now);
        let in_cycle = now.saturating_duration_since(since.max(cycle_start));
        self.cycle_max = self.cycle_max.max(in_cycle);
    }

    /// The cycle's longest pause; starts the next cycle.
    pub(crate) fn take_cycle_max(&mut self) -> Duration {
        std::mem::take(&mut self.cycle_max)
    }
}

/// Closes a stats cycle whose longest pause was `pause`.
pub(crate) fn run(shared: &Shared, now: Instant, pause: Duration) {
    let uptime = now.saturating_duration_since(shared.stats.started);
    let (groups, running) = idle_groups(shared);
    let lifetimes = shared.registry.take_lifetimes();
    let mut cycle = shared.stats.cycle.lock();
    cycle.track_long_polls(running, uptime);
    cycle.pauses.record_cycle(uptime, pause);
    cycle.detector.observe_cycle_at(uptime, groups);
    cycle.suspects = cycle.detector.suspects();
    for (site, nanos) in lifetimes {
        cycle.site_lifetimes.entry(site).or_default().record(nanos);
    }
}

impl CycleState {
    /// Takes this cycle's running tasks (info, poll count); see the module docs.
    fn track_long_polls(&mut self, running: Vec<(TaskInfo, u64)>, uptime: Duration) {
        let mut next = HashMap::with_capacity(running.len());
        self.long_polls.clear();
        for (task, polls) in running {
            let since = match self.running.get(&task.id) {
                Some(&(seen, since)) if seen == polls => since,
                _ => uptime,
            };
            next.insert(task.id, (polls, since));
            if since < uptime {
                self.long_polls.push(LongPoll {
                    task,
                    polling_for: uptime - since,
                });
            }
        }
        self.running = next;
        self.long_polls
            .sort_by_key(|p| std::cmp::Reverse(p.polling_for));
    }
}

/// Groups the idle tasks by (spawn site, suspension point, wait op), leaving out the ones found
/// exactly (orphaned, deadlocked): the detector judges the rest. Also returns the running
/// tasks (not blocking-pool ones) with their poll counts.
fn idle_groups(shared: &Shared) -> (Vec<IdleGroup>, Vec<(TaskInfo, u64)>) {
    let now = clock::coarse_now();
    let threshold = shared.config.leak_threshold;
    let deadlocked = shared.stats.deadlocked_ids();
    let mut groups = Grouping::new();
    let mut running = Vec::new();
    shared.registry.for_each(|task, spawn| {
        let header = task.header();
        if header.state.load().is_running() && !task.is_blocking() {
            running.push((
                super::report::task_info(task, spawn, clock::now()),
                header.record.polls(),
            ));
        }
        if !header.state.load().is_idle()
            || header.record.is_orphaned()
            || task.is_blocking()
            || deadlocked.contains(&header.id.as_u64())
        {
            return;
        }
        let suspension = header.record.suspension();
        let key = GroupKey {
            spawned_at: spawn.site,
            suspended_at: suspension.map(|s| s.at),
            wait_op: suspension.map(|s| s.op),
        };
        let idle = clock::duration_between(header.record.idle_since(), now);
        let group = groups.entry(key, || IdleGroup::empty(key));
        group.idle += 1;
        group.oldest_idle = group.oldest_idle.max(idle);
        group.stuck += (idle > threshold) as u64;
    });
    let groups = groups.ranked(|g| g.idle).into_iter().map(|(_, g)| g);
    (groups.collect(), running)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_poll_that_keeps_queued_work_waiting_is_a_pause() {
        let t0 = Instant::now();
        let mut p = PauseTracker::default();
        // A poll starts (seq 1, in poll) with work queued behind it, and stays for 30 ms.
        p.observe(t0, RunState::polling(1), true, t0);
        p.observe(t0 + 10 * MS, RunState::polling(1), true, t0);
        p.observe(t0 + 30 * MS, RunState::polling(1), true, t0);
        // The next poll starts: the pause ends.
        p.observe(t0 + 31 * MS, RunState::polling(2), true, t0);
        p.observe(t0 + 32 * MS, RunState::polling(3), true, t0);
        assert_eq!(p.take_cycle_max(), 30 * MS);
        assert_eq!(p.take_cycle_max(), Duration::ZERO);
    }

    #[test]
    fn no_queued_work_is_no_pause_however_long_the_poll() {
        let t0 = Instant::now();
        let mut p = PauseTracker::default();
        p.observe(t0, RunState::polling(1), false, t0);
        p.observe(t0 + 50 * MS, RunState::polling(1), false, t0);
        assert_eq!(p.take_cycle_max(), Duration::ZERO);
    }

    #[test]
    fn a_pause_across_cycles_counts_in_each_for_its_part() {
        let t0 = Instant::now();
        let mut p = PauseTracker::default();
        p.observe(t0, RunState::polling(1), true, t0);
        p.observe(t0 + 20 * MS, RunState::polling(1), true, t0);
        assert_eq!(p.take_cycle_max(), 20 * MS);
        let next_cycle = t0 + 20 * MS;
        p.observe(t0 + 35 * MS, RunState::polling(1), true, next_cycle);
        assert_eq!(p.take_cycle_max(), 15 * MS);
    }
}
