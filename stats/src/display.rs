//! The text forms of the reports, for people: `Display` for [`LeakReport`] and [`TaskDump`]
//! (grouped like a goroutine dump), [`Pauses`], [`Quantiles`] and [`Snapshot`].
//!
//! Tasks are grouped by (spawn site, suspension point, wait op), biggest group first (ties in
//! [`GroupKey`] order, see `group.rs`), one line a group, then its tasks with their names and
//! how long each has been idle, like a goroutine dump:
//!
//! ```text
//! 2 tasks [TcpStream::read, 41 s] at src/server.rs:102, spawned at src/server.rs:88
//!     #12 "conn" (41 s), #14 (40 s)
//! ```
//!
//! The bracket holds the wait op and the longest idle time of the group; sites print as
//! `file:line` ([`FileLine`]). A task that never suspended on a goro future says so instead
//! of a wait site. Durations print humanly ([`HumanDuration`], spaced inside brackets); a
//! group lists at most [`MAX_LISTED`] tasks.

use crate::group::{GroupKey, Grouping};
use crate::human::HumanDuration;
use crate::report::{
    LeakReport, Pauses, Quantiles, Site, Snapshot, Suspect, SuspectReason, TaskDump, TaskInfo,
};
use crate::wait::WaitOp;
use std::fmt::{self, Display, Formatter, Write};
use std::time::Duration;

/// How many tasks of a group a dump names.
pub const MAX_LISTED: usize = 16;
/// How many spawn sites a snapshot's text lists.
const MAX_SITES: usize = 10;

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// A site as `file:line`, as the dumps print it: the column adds noise, not meaning.
///
/// ```
/// use goro_stats::FileLine;
/// let here = std::panic::Location::caller();
/// assert_eq!(FileLine(here).to_string(), format!("{}:{}", here.file(), here.line()));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileLine(pub Site);

impl Display for FileLine {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.0.file(), self.0.line())
    }
}

/// "[Mutex::lock, 41 s] at src/cache.rs:88": a wait and how long it has lasted (`not idle`
/// if it has not), or ", never suspended on a goro future" without a wait site.
fn wait_bracket(
    f: &mut Formatter<'_>,
    suspended_at: Option<Site>,
    wait_op: Option<WaitOp>,
    idle: Duration,
) -> fmt::Result {
    let op = wait_op.map_or_else(|| "unnamed wait".to_string(), |op| op.to_string());
    if idle.is_zero() {
        write!(f, "[{op}, not idle]")?;
    } else {
        write!(f, "[{op}, {:#}]", HumanDuration(idle))?;
    }
    match suspended_at {
        Some(site) => write!(f, " at {}", FileLine(site)),
        None => f.write_str(", never suspended on a goro future"),
    }
}

/// "`n` tasks [op, D] at Y, spawned at X", `D` the longest idle time of the group, without
/// a newline.
fn group_line(f: &mut Formatter<'_>, n: u64, key: GroupKey, longest_idle: Duration) -> fmt::Result {
    let GroupKey {
        spawned_at,
        suspended_at,
        wait_op,
    } = key;
    write!(f, "{} ", plural(n, "task", "tasks"))?;
    wait_bracket(f, suspended_at, wait_op, longest_idle)?;
    write!(f, ", spawned at {}", FileLine(spawned_at))
}

impl Display for TaskInfo {
    /// One task as a goroutine dump heads it: `#12 "name" [Mutex::lock, 41 s] at
    /// src/cache.rs:88, spawned at src/cache.rs:60` (the idle time as of the report).
    ///
    /// ```
    /// use goro_stats::{FileLine, TaskInfo, TaskState, WaitOp};
    /// use std::time::Duration;
    ///
    /// let here = std::panic::Location::caller();
    /// let task = TaskInfo {
    ///     id: 12,
    ///     name: Some("cache".into()),
    ///     spawned_at: here,
    ///     suspended_at: Some(here),
    ///     wait_op: Some(WaitOp::MutexLock),
    ///     state: TaskState::Deadlocked,
    ///     age: Duration::from_secs(50),
    ///     idle: Duration::from_secs(41),
    ///     polls: 2,
    ///     wakes: 1,
    ///     wakers: 1,
    /// };
    /// let at = FileLine(here);
    /// assert_eq!(
    ///     task.to_string(),
    ///     format!("#12 \"cache\" [Mutex::lock, 41 s] at {at}, spawned at {at}")
    /// );
    /// ```
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.id)?;
        if let Some(name) = &self.name {
            write!(f, " {name:?}")?;
        }
        f.write_char(' ')?;
        wait_bracket(f, self.suspended_at, self.wait_op, self.idle)?;
        write!(f, ", spawned at {}", FileLine(self.spawned_at))
    }
}

/// "    #12 "name" (41 s), #14 (and 3 more)" with a newline: each task with its name and
/// how long it has been idle (nothing if it is not).
fn task_list<'a>(
    f: &mut Formatter<'_>,
    tasks: impl ExactSizeIterator<Item = &'a TaskInfo>,
) -> fmt::Result {
    let total = tasks.len();
    f.write_str("    ")?;
    for (i, t) in tasks.take(MAX_LISTED).enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "#{}", t.id)?;
        if let Some(name) = &t.name {
            write!(f, " {name:?}")?;
        }
        if !t.idle.is_zero() {
            write!(f, " ({:#})", HumanDuration(t.idle))?;
        }
    }
    if total > MAX_LISTED {
        write!(f, " (and {} more)", total - MAX_LISTED)?;
    }
    f.write_char('\n')
}

fn longest_idle<'a>(tasks: impl Iterator<Item = &'a TaskInfo>) -> Duration {
    tasks.map(|t| t.idle).max().unwrap_or_default()
}

/// Groups tasks by [`GroupKey`], ranked like every grouped report (biggest group first,
/// ties in key order).
fn group_tasks(tasks: &[TaskInfo]) -> Vec<(GroupKey, Vec<&TaskInfo>)> {
    let mut groups = Grouping::new();
    for t in tasks {
        groups.entry(GroupKey::of(t), Vec::new).push(t);
    }
    groups.ranked(Vec::len)
}

impl Display for LeakReport {
    /// A grouped dump of orphaned and suspected tasks, then the stall alarm count.
    ///
    /// # Example
    ///
    /// ```
    /// use goro_stats::{LeakReport, TaskInfo, TaskState, WaitOp};
    /// use std::panic::Location;
    /// use std::time::Duration;
    ///
    /// let orphan = TaskInfo {
    ///     id: 12,
    ///     name: Some("conn".into()),
    ///     spawned_at: Location::caller(),
    ///     suspended_at: Some(Location::caller()),
    ///     wait_op: Some(WaitOp::TcpRead),
    ///     state: TaskState::Orphaned,
    ///     age: Duration::from_secs(50),
    ///     idle: Duration::from_secs(41),
    ///     polls: 3,
    ///     wakes: 2,
    ///     wakers: 0,
    /// };
    /// let report = LeakReport {
    ///     orphaned: vec![orphan.clone(), TaskInfo { id: 14, name: None, ..orphan }],
    ///     orphaned_total: 2,
    ///     ..LeakReport::default()
    /// };
    /// let text = report.to_string();
    /// assert!(text.starts_with("orphaned: 2 tasks (2 found in total, 0 reclaimed)\n"));
    /// assert!(text.contains("\n  2 tasks [TcpStream::read, 41 s] at "));
    /// assert!(text.contains("\n    #12 \"conn\" (41 s), #14 (41 s)\n"));
    /// assert!(text.contains("\ndeadlocked: none\n"));
    /// assert!(text.contains("suspected: none"));
    /// assert!(text.ends_with("stall alarms: 0\n"));
    /// ```
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.orphaned.is_empty() {
            f.write_str("orphaned: none")?;
        } else {
            write!(
                f,
                "orphaned: {}",
                plural(self.orphaned.len() as u64, "task", "tasks")
            )?;
        }
        writeln!(
            f,
            " ({} found in total, {} reclaimed)",
            self.orphaned_total, self.reclaimed
        )?;
        for (key, tasks) in group_tasks(&self.orphaned) {
            let idle = longest_idle(tasks.iter().copied());
            f.write_str("  ")?;
            group_line(f, tasks.len() as u64, key, idle)?;
            f.write_char('\n')?;
            task_list(f, tasks.into_iter())?;
        }

        if self.deadlocked.is_empty() {
            f.write_str("deadlocked: none\n")?;
        } else {
            writeln!(
                f,
                "deadlocked: {}",
                plural(self.deadlocked.len() as u64, "cycle", "cycles")
            )?;
        }
        for d in &self.deadlocked {
            writeln!(f, "  {d}")?;
            for t in &d.tasks {
                writeln!(f, "    {t}")?;
            }
        }

        if !self.stuck_in_poll.is_empty() {
            writeln!(
                f,
                "stuck in one poll: {} (blocked inside a poll, where no goro wait sees it)",
                plural(self.stuck_in_poll.len() as u64, "task", "tasks")
            )?;
        }
        for p in &self.stuck_in_poll {
            write!(f, "  #{}", p.task.id)?;
            if let Some(name) = &p.task.name {
                write!(f, " {name:?}")?;
            }
            writeln!(
                f,
                " [in one poll, {:#}], spawned at {}",
                HumanDuration(p.polling_for),
                FileLine(p.task.spawned_at)
            )?;
        }

        if self.suspected.is_empty() {
            f.write_str("suspected: none")?;
        } else {
            write!(
                f,
                "suspected: {}",
                plural(self.suspected.len() as u64, "group", "groups")
            )?;
        }
        writeln!(
            f,
            " ({} live tasks, leak threshold {}, {} cycles)",
            self.live_tasks,
            HumanDuration(self.leak_threshold),
            self.cycles
        )?;
        for s in &self.suspected {
            f.write_str("  ")?;
            suspect_line(f, s, self.leak_threshold)?;
            f.write_char('\n')?;
        }
        writeln!(f, "stall alarms: {}", self.stall_alarms)
    }
}

fn suspect_line(f: &mut Formatter<'_>, s: &Suspect, threshold: Duration) -> fmt::Result {
    group_line(f, s.live, s.key(), s.oldest_idle)?;
    let stuck = format!(
        "long wait: idle past {} on an in-process wait (by age only, not proved stuck)",
        HumanDuration(threshold)
    );
    match s.reason {
        SuspectReason::Growing => write!(f, ": growing, {:+} over the last cycles", s.growth),
        SuspectReason::StuckInProcess => write!(f, ": {stuck}"),
        SuspectReason::GrowingAndStuck => {
            write!(
                f,
                ": growing, {:+} over the last cycles, and {stuck}",
                s.growth
            )
        }
    }
}

impl Display for TaskDump {
    /// Every live task, one line a group, biggest group first, with the tasks' ids.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let tasks: usize = self.groups.iter().map(|g| g.tasks.len()).sum();
        writeln!(
            f,
            "tasks at {}: {} in {}",
            HumanDuration(self.uptime),
            plural(tasks as u64, "task", "tasks"),
            plural(self.groups.len() as u64, "group", "groups")
        )?;
        for g in &self.groups {
            let idle = longest_idle(g.tasks.iter());
            group_line(f, g.tasks.len() as u64, g.key(), idle)?;
            f.write_char('\n')?;
            task_list(f, g.tasks.iter())?;
        }
        Ok(())
    }
}

impl Display for Quantiles {
    /// `n=120 min=3µs p50=35µs p90=80µs p99=1.2ms max=4ms mean=41µs`, or `no samples`.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.count == 0 {
            return f.write_str("no samples");
        }
        write!(
            f,
            "n={} min={} p50={} p90={} p99={} max={} mean={}",
            self.count,
            HumanDuration(self.min),
            HumanDuration(self.p50),
            HumanDuration(self.p90),
            HumanDuration(self.p99),
            HumanDuration(self.max),
            HumanDuration(self.mean)
        )
    }
}

impl Display for Pauses {
    /// One line: cycles, total, the latest pause, quantiles, baseline and alarms.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let Some(last_cycle) = self.last_cycle.filter(|_| self.num_cycles > 0) else {
            return write!(f, "no stats cycle yet, {} stall alarms", self.stall_alarms);
        };
        write!(
            f,
            "{} at {}, pause total {}",
            plural(self.num_cycles, "cycle", "cycles"),
            HumanDuration(last_cycle),
            HumanDuration(self.pause_total)
        )?;
        if let Some(&latest) = self.pauses.first() {
            write!(
                f,
                ", latest {}, recent p50 {} p95 {} max {}",
                HumanDuration(latest),
                HumanDuration(self.quantiles.p50),
                HumanDuration(self.quantiles.p95),
                HumanDuration(self.quantiles.max)
            )?;
        }
        write!(
            f,
            ", baseline {}, {}",
            HumanDuration(self.baseline),
            plural(self.stall_alarms, "stall alarm", "stall alarms")
        )
    }
}

impl Display for Snapshot {
    /// A multi-line summary: processors and threads, counters, tasks, busiest spawn sites,
    /// histogram quantiles and pauses.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "goro at {}: {} ({} idle, {} spinning), {} ({} idle), injector {}, stats {}",
            HumanDuration(self.uptime),
            plural(self.processors as u64, "processor", "processors"),
            self.idle_processors,
            self.spinning,
            plural(self.threads as u64, "thread", "threads"),
            self.idle_threads,
            self.injector,
            if self.stats_enabled { "on" } else { "off" }
        )?;
        for p in &self.procs {
            let c = &p.counters;
            writeln!(
                f,
                "  P{}: runqueue {}{}, polls {}, steals {}, parks {}, handoffs {}",
                p.index,
                p.runqueue,
                if p.idle { ", idle" } else { "" },
                c.polls,
                c.steals,
                c.parks,
                c.handoffs
            )?;
        }
        let counters: Vec<String> = self
            .totals
            .values()
            .map(|(name, _, v)| format!("{name}={v}"))
            .collect();
        for (i, chunk) in counters.chunks(6).enumerate() {
            let head = if i == 0 { "counters:" } else { "         " };
            writeln!(f, "{head} {}", chunk.join(" "))?;
        }
        let t = &self.tasks;
        writeln!(
            f,
            "tasks: {} live, {} spawned, {} completed, {} orphaned, {} reclaimed",
            t.live, t.spawned, t.completed, t.orphaned, t.reclaimed
        )?;
        for s in self.sites.iter().take(MAX_SITES) {
            writeln!(
                f,
                "  {} live at {}: {} spawned, {} completed, lifetime p50 {} p99 {}",
                s.live,
                s.spawned_at,
                s.spawned,
                s.completed,
                HumanDuration(s.lifetime.p50),
                HumanDuration(s.lifetime.p99)
            )?;
        }
        if self.sites.len() > MAX_SITES {
            writeln!(f, "  (and {} more sites)", self.sites.len() - MAX_SITES)?;
        }
        let h = &self.histograms;
        writeln!(f, "poll duration:      {}", h.poll_duration)?;
        writeln!(f, "scheduling latency: {}", h.scheduling_latency)?;
        writeln!(f, "netpoll block:      {}", h.netpoll_block)?;
        writeln!(f, "task lifetime:      {}", h.task_lifetime)?;
        writeln!(f, "pauses: {}", self.pauses)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Site, TaskGroup, TaskState};
    use crate::wait::WaitOp;
    use std::panic::Location;

    const SEC: Duration = Duration::from_secs(1);

    fn task(
        id: u64,
        spawned_at: Site,
        suspended_at: Option<Site>,
        op: Option<WaitOp>,
        idle: Duration,
    ) -> TaskInfo {
        TaskInfo {
            id,
            name: None,
            spawned_at,
            suspended_at,
            wait_op: op,
            state: TaskState::Orphaned,
            age: idle + SEC,
            idle,
            polls: 1,
            wakes: 0,
            wakers: 0,
        }
    }

    #[test]
    fn leak_report_groups_orphans_and_lists_suspects() {
        let (server, read, worker) = (Location::caller(), Location::caller(), Location::caller());
        let mut named = task(3, worker, None, None, 2 * SEC);
        named.name = Some("worker-3".into());
        let report = LeakReport {
            orphaned: vec![
                task(12, server, Some(read), Some(WaitOp::TcpRead), 41 * SEC),
                named,
                task(14, server, Some(read), Some(WaitOp::TcpRead), 40 * SEC),
            ],
            orphaned_total: 5,
            reclaimed: 2,
            deadlocked: vec![],
            stuck_in_poll: vec![],
            suspected: vec![
                Suspect {
                    spawned_at: worker,
                    suspended_at: Some(read),
                    wait_op: Some(WaitOp::Join),
                    live: 37,
                    growth: 30,
                    oldest_idle: Duration::from_millis(120),
                    reason: SuspectReason::GrowingAndStuck,
                },
                Suspect {
                    spawned_at: server,
                    suspended_at: None,
                    wait_op: None,
                    live: 1,
                    growth: 0,
                    oldest_idle: 45 * SEC,
                    reason: SuspectReason::StuckInProcess,
                },
            ],
            stall_alarms: 2,
            live_tasks: 90,
            cycles: 12,
            leak_threshold: 30 * SEC,
        };
        let text = report.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "orphaned: 3 tasks (5 found in total, 2 reclaimed)"
        );
        let (server, read, worker) = (FileLine(server), FileLine(read), FileLine(worker));
        assert_eq!(
            lines[1],
            format!("  2 tasks [TcpStream::read, 41 s] at {read}, spawned at {server}")
        );
        assert_eq!(lines[2], "    #12 (41 s), #14 (40 s)");
        assert_eq!(
            lines[3],
            format!(
                "  1 task [unnamed wait, 2 s], never suspended on a goro future, spawned at \
                 {worker}"
            )
        );
        assert_eq!(lines[4], "    #3 \"worker-3\" (2 s)");
        assert_eq!(lines[5], "deadlocked: none");
        assert_eq!(
            lines[6],
            "suspected: 2 groups (90 live tasks, leak threshold 30s, 12 cycles)"
        );
        assert_eq!(
            lines[7],
            format!(
                "  37 tasks [JoinHandle, 120 ms] at {read}, spawned at {worker}: growing, +30 over the last cycles, and long wait: idle past 30s on an \
                 in-process wait (by age only, not proved stuck)"
            )
        );
        assert_eq!(
            lines[8],
            format!(
                "  1 task [unnamed wait, 45 s], never suspended on a goro future, spawned at \
                 {server}: long wait: idle past 30s on an in-process wait (by age only, not proved \
                 stuck)"
            )
        );
        assert_eq!(lines[9], "stall alarms: 2");
        assert_eq!(lines.len(), 10);
    }

    #[test]
    fn empty_leak_report() {
        let text = LeakReport::default().to_string();
        assert_eq!(
            text,
            "orphaned: none (0 found in total, 0 reclaimed)\n\
             deadlocked: none\n\
             suspected: none (0 live tasks, leak threshold 0s, 0 cycles)\n\
             stall alarms: 0\n"
        );
    }

    #[test]
    fn task_dump_lists_groups_and_caps_ids() {
        let (spawn, read) = (Location::caller(), Location::caller());
        let mut tasks: Vec<TaskInfo> = (0..37)
            .map(|i| {
                task(
                    i,
                    spawn,
                    Some(read),
                    Some(WaitOp::TcpRead),
                    SEC * (i as u32 + 5),
                )
            })
            .collect();
        tasks[0].name = Some("first".into());
        let running = TaskInfo {
            idle: Duration::ZERO,
            state: TaskState::Running,
            ..task(99, spawn, Some(read), None, Duration::ZERO)
        };
        let dump = TaskDump {
            uptime: 90 * SEC,
            groups: vec![
                TaskGroup {
                    spawned_at: spawn,
                    suspended_at: Some(read),
                    wait_op: Some(WaitOp::TcpRead),
                    tasks,
                },
                TaskGroup {
                    spawned_at: spawn,
                    suspended_at: Some(read),
                    wait_op: None,
                    tasks: vec![running],
                },
            ],
        };
        let text = dump.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "tasks at 1m30s: 38 tasks in 2 groups");
        let (spawn, read) = (FileLine(spawn), FileLine(read));
        assert_eq!(
            lines[1],
            format!("37 tasks [TcpStream::read, 41 s] at {read}, spawned at {spawn}")
        );
        assert!(
            lines[2].starts_with("    #0 \"first\" (5 s), #1 (6 s), #2 (7 s),"),
            "{}",
            lines[2]
        );
        assert!(
            lines[2].ends_with("#15 (20 s) (and 21 more)"),
            "{}",
            lines[2]
        );
        assert_eq!(
            lines[3],
            format!("1 task [unnamed wait, not idle] at {read}, spawned at {spawn}")
        );
        assert_eq!(lines[4], "    #99");
    }

    #[test]
    fn pauses_and_quantiles_read_well() {
        assert_eq!(
            Pauses::default().to_string(),
            "no stats cycle yet, 0 stall alarms"
        );
        assert_eq!(Quantiles::default().to_string(), "no samples");
        let pauses = vec![Duration::from_micros(40), Duration::from_micros(60)];
        let p = Pauses {
            num_cycles: 12,
            last_cycle: Some(12 * SEC),
            pause_total: Duration::from_micros(600),
            quantiles: Quantiles::from_durations(&pauses),
            pauses,
            stall_alarms: 1,
            baseline: Duration::from_micros(50),
        };
        assert_eq!(
            p.to_string(),
            "12 cycles at 12s, pause total 600µs, latest 40µs, recent p50 40µs p95 60µs max 60µs, \
             baseline 50µs, 1 stall alarm"
        );
        assert_eq!(
            p.quantiles.to_string(),
            "n=2 min=40µs p50=40µs p90=60µs p99=60µs max=60µs mean=50µs"
        );
    }

    #[test]
    fn snapshot_summary_has_every_section() {
        let snap = crate::fixtures::snapshot();
        let site = snap.sites[0].spawned_at;
        let text = snap.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "goro at 2s: 2 processors (1 idle, 0 spinning), 5 threads (2 idle), injector 4, stats on"
        );
        assert_eq!(
            lines[1],
            "  P0: runqueue 3, polls 100, steals 0, parks 0, handoffs 0"
        );
        assert_eq!(
            lines[2],
            "  P1: runqueue 0, idle, polls 101, steals 5, parks 0, handoffs 0"
        );
        assert!(
            lines[3].starts_with("counters: polls=201 spawns=0"),
            "{}",
            lines[3]
        );
        assert!(text.contains(" steals=5"));
        assert!(text.contains("accept_errors=0"));
        assert!(text
            .contains("\ntasks: 45 live, 1000 spawned, 955 completed, 2 orphaned, 1 reclaimed\n"));
        assert!(text.contains(&format!(
            "  40 live at {site}: 1000 spawned, 960 completed, lifetime p50 1ms p99 1ms\n"
        )));
        assert!(text.contains(
            "poll duration:      n=100 min=1µs p50=50µs p90=90µs p99=99µs max=100µs mean=50µs\n"
        ));
        assert!(text.contains("task lifetime:      no samples\n"));
        assert!(text.ends_with(
            "pauses: 2 cycles at 2s, pause total 2ms, latest 2ms, recent p50 50µs p95 2ms max 2ms, \
             baseline 40µs, 1 stall alarm\n"
        ));
    }
}
