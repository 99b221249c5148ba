//! The suspected-leak detector.
//!
//! Orphaned tasks are found exactly by the scheduler (no waker left). Everything else that
//! looks leaked is a *suspicion*, judged here from what the scheduler sees at each stats
//! cycle: the idle tasks grouped by spawn site, suspension point and wait op
//! ([`IdleGroup`]). [`SuspectDetector`] keeps each group's idle count over the last
//! [`WINDOW`] cycles (a group missing from a cycle counts 0) and suspects a group when
//!
//! - **Growing**: its idle count rose in each of the last [`RISES`] cycles (the last `RISES + 1`
//!   observations strictly increase), the latest count is the highest of the window, and
//!   the tasks that made it grow are still there: its oldest idle task has been idle at
//!   least since the first of those rises was observed (`oldest_idle` is at least the time
//!   between that cycle and now). That last condition is what tells a leak from churn: a
//!   leaking group keeps its tasks, so its oldest one ages with the clock, while a group of
//!   short tasks that happens to be sampled high four times in a row has replaced its tasks
//!   in between. (When the scheduler has timing off and every `oldest_idle` of the run is
//!   zero, the condition is skipped.) `growth` is the latest count minus the count at the
//!   start of the window. Cycle times come from [`SuspectDetector::observe_cycle_at`], or
//!   from the detector's own clock with [`SuspectDetector::observe_cycle`].
//! - **StuckInProcess**: some task of the group has been idle past `leak_threshold`
//!   (`stuck > 0`, or `oldest_idle` past the threshold) on an *in-process* wait: `wait_op`
//!   is `None` (it never suspended on a goro future, so it waits on a channel, a lock, a
//!   future of another library) or an op of kind [`WaitKind::InProcess`] (a `JoinHandle`).
//!   A goro timer or socket can still be woken by the outside world, so a group waiting on
//!   one is only suspected when it grows.
//!
//! What this leaves alone, by construction (each has a test): a stable pool of idle
//! keep-alive connections (flat count, socket wait), workers on a channel that do get
//! messages (their idle time stays short), long sleepers (flat count, timer wait), churn of
//! short tasks (counts go up and down, the oldest idle age keeps resetting), and a group that
//! grew for fewer than `RISES` cycles and then stopped.
//!
//! Suspects are ranked most idle tasks first, then highest growth. A group whose count was
//! zero for the whole window is forgotten, so the history stays bounded by the groups seen in
//! the last [`WINDOW`] cycles.

use crate::group::{rank, GroupKey};
use crate::report::{Site, Suspect, SuspectReason};
use crate::wait::{WaitKind, WaitOp};
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// How many consecutive rises make a group "growing".
pub const RISES: usize = 3;
/// How many cycles of history the detector keeps per group (growth is measured over them).
pub const WINDOW: usize = 8;

/// The idle tasks of one group (same spawn site, suspension point and wait op) at one
/// stats cycle, as the scheduler counts them.
#[derive(Debug, Clone, PartialEq)]
pub struct IdleGroup {
    /// Where the group's tasks were spawned.
    pub spawned_at: Site,
    /// Where they last suspended on a goro future; `None` if they never did.
    pub suspended_at: Option<Site>,
    /// Which goro future that was.
    pub wait_op: Option<WaitOp>,
    /// Idle tasks in the group now.
    pub idle: u64,
    /// The longest any of them has been idle.
    pub oldest_idle: Duration,
    /// Of them, how many have been idle longer than the leak threshold.
    pub stuck: u64,
}

impl IdleGroup {
    /// A group of `key` with no tasks yet.
    pub fn empty(key: GroupKey) -> IdleGroup {
        IdleGroup {
            spawned_at: key.spawned_at,
            suspended_at: key.suspended_at,
            wait_op: key.wait_op,
            idle: 0,
            oldest_idle: Duration::ZERO,
            stuck: 0,
        }
    }

    /// Counts `other`'s tasks into this group.
    pub fn add(&mut self, other: &IdleGroup) {
        self.idle += other.idle;
        self.stuck += other.stuck;
        self.oldest_idle = self.oldest_idle.max(other.oldest_idle);
    }
}

/// One group's history.
#[derive(Debug)]
struct History {
    /// (idle count, oldest idle) per cycle, oldest first, at most `WINDOW`; the last entry
    /// is the latest cycle, aligned with the end of `SuspectDetector::times`.
    seen: VecDeque<(u64, Duration)>,
    stuck: u64,
}

/// Suspects groups of idle tasks of leaking, cycle after cycle; see the module docs.
///
/// ```
/// use goro_stats::{IdleGroup, SuspectDetector, SuspectReason};
/// use std::panic::Location;
/// use std::time::Duration;
///
/// let site = Location::caller();
/// let mut d = SuspectDetector::new(Duration::from_secs(30));
/// for cycle in 1..=4u64 {
///     d.observe_cycle(vec![IdleGroup {
///         spawned_at: site,
///         suspended_at: None,
///         wait_op: None,
///         idle: 50 * cycle,
///         oldest_idle: Duration::from_secs(cycle),
///         stuck: 0,
///     }]);
/// }
/// let s = d.suspects();
/// assert_eq!((s[0].live, s[0].growth, s[0].reason), (200, 150, SuspectReason::Growing));
/// ```
#[derive(Debug)]
pub struct SuspectDetector {
    leak_threshold: Duration,
    cycles: u64,
    /// When the last `WINDOW` cycles ran, oldest first.
    times: VecDeque<Duration>,
    started: Instant,
    groups: HashMap<GroupKey, History>,
}

impl SuspectDetector {
    /// A detector that calls a task stuck once it has been idle for `leak_threshold`.
    pub fn new(leak_threshold: Duration) -> SuspectDetector {
        SuspectDetector {
            leak_threshold,
            cycles: 0,
            times: VecDeque::with_capacity(WINDOW + 1),
            started: Instant::now(),
            groups: HashMap::new(),
        }
    }

    /// The threshold given to [`SuspectDetector::new`].
    pub fn leak_threshold(&self) -> Duration {
        self.leak_threshold
    }

    /// How many cycles were observed.
    pub fn cycles(&self) -> u64 {
        self.cycles
    }

    /// How many groups the detector remembers.
    pub fn tracked_groups(&self) -> usize {
        self.groups.len()
    }

    /// Takes one cycle's idle groups, timed by the detector's own clock. Groups with the
    /// same key are added up.
    pub fn observe_cycle(&mut self, groups: Vec<IdleGroup>) {
        let at = self.started.elapsed();
        self.observe_cycle_at(at, groups);
    }

    /// Takes one cycle's idle groups, which the scheduler counted at `at` (any monotonic
    /// time, e.g. the runtime's uptime). Groups with the same key are added up.
    pub fn observe_cycle_at(&mut self, at: Duration, groups: Vec<IdleGroup>) {
        let mut now: HashMap<GroupKey, IdleGroup> = HashMap::with_capacity(groups.len());
        for g in groups {
            let key = g.key();
            now.entry(key)
                .or_insert_with(|| IdleGroup::empty(key))
                .add(&g);
        }
        // Cycles observed before this one, during which a new group counted 0.
        let earlier = usize::try_from(self.cycles)
            .unwrap_or(usize::MAX)
            .min(WINDOW - 1);
        self.cycles += 1;
        self.times.push_back(at);
        if self.times.len() > WINDOW {
            self.times.pop_front();
        }

        for (key, h) in self.groups.iter_mut() {
            let (idle, oldest, stuck) = match now.remove(key) {
                Some(g) => (g.idle, g.oldest_idle, g.stuck),
                None => (0, Duration::ZERO, 0),
            };
            h.seen.push_back((idle, oldest));
            if h.seen.len() > WINDOW {
                h.seen.pop_front();
            }
            h.stuck = stuck;
        }
        for (key, g) in now {
            let mut seen = VecDeque::with_capacity(WINDOW);
            for _ in 0..earlier {
                seen.push_back((0, Duration::ZERO));
            }
            seen.push_back((g.idle, g.oldest_idle));
            self.groups.insert(
                key,
                History {
                    seen,
                    stuck: g.stuck,
                },
            );
        }
        self.groups
            .retain(|_, h| h.seen.iter().any(|&(n, _)| n > 0));
    }

    /// The groups suspected now, most idle tasks first, then highest growth.
    pub fn suspects(&self) -> Vec<Suspect> {
        let mut out: Vec<Suspect> = self
            .groups
            .iter()
            .filter_map(|(key, h)| self.judge(key, h))
            .collect();
        rank(&mut out, Suspect::key, |s| (s.live, s.growth));
        out
    }

    fn judge(&self, key: &GroupKey, h: &History) -> Option<Suspect> {
        let GroupKey {
            spawned_at,
            suspended_at,
            wait_op,
        } = *key;
        let &(live, oldest_idle) = h.seen.back()?;
        if live == 0 {
            return None;
        }
        let growing = is_growing(&h.seen, &self.times);
        let in_process = !matches!(wait_op, Some(op) if op.kind() != WaitKind::InProcess);
        let stuck = in_process && (h.stuck > 0 || oldest_idle > self.leak_threshold);
        let reason = match (growing, stuck) {
            (true, true) => SuspectReason::GrowingAndStuck,
            (true, false) => SuspectReason::Growing,
            (false, true) => SuspectReason::StuckInProcess,
            (false, false) => return None,
        };
        let first = h.seen.front().map_or(0, |&(n, _)| n);
        Some(Suspect {
            spawned_at,
            suspended_at,
            wait_op,
            live,
            growth: live as i64 - first as i64,
            oldest_idle,
            reason,
        })
    }
}

/// The growing rule of the module docs, over a group's history and the cycle times.
fn is_growing(seen: &VecDeque<(u64, Duration)>, times: &VecDeque<Duration>) -> bool {
    if seen.len() < RISES + 1 || times.len() < RISES + 1 {
        return false;
    }
    let run: Vec<(u64, Duration)> = seen
        .iter()
        .skip(seen.len() - (RISES + 1))
        .copied()
        .collect();
    let counts_rise = run.windows(2).all(|w| w[1].0 > w[0].0);
    let last = run[RISES].0;
    let highest = seen.iter().all(|&(n, _)| n <= last);
    // The first rise was seen at the run's second cycle; the oldest task must be older.
    let first_rise = times[times.len() - RISES];
    let now = times[times.len() - 1];
    let oldest = run[RISES].1;
    let timed = run.iter().any(|&(_, age)| age > Duration::ZERO);
    let kept = !timed || oldest >= now.saturating_sub(first_rise);
    counts_rise && highest && kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::panic::Location;

    const SEC: Duration = Duration::from_secs(1);

    /// Distinct sites: each call of `site!()` is its own location.
    macro_rules! site {
        () => {
            Location::caller()
        };
    }

    fn group(spawned_at: Site, wait_op: Option<WaitOp>, idle: u64, oldest: Duration) -> IdleGroup {
        IdleGroup {
            spawned_at,
            suspended_at: Some(spawned_at),
            wait_op,
            idle,
            oldest_idle: oldest,
            stuck: 0,
        }
    }

    /// One cycle a second.
    fn tick(d: &mut SuspectDetector, groups: Vec<IdleGroup>) {
        let at = SEC * (d.cycles() as u32 + 1);
        d.observe_cycle_at(at, groups);
    }

    /// A tiny deterministic random number generator (xorshift64*).
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
        }
    }

    #[test]
    fn one_leaking_site_among_churn_is_the_only_suspect_and_ranks_first() {
        let leak = site!();
        let churn = [site!(), site!(), site!(), site!(), site!()];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut d = SuspectDetector::new(30 * SEC);
        for cycle in 1..=200u64 {
            let mut groups = vec![group(leak, None, 50 * cycle, SEC * cycle as u32)];
            for &site in &churn {
                // Short tasks: many idle at once, none for long.
                let idle = 20 + rng.below(400);
                let oldest = Duration::from_micros(1 + rng.below(900_000));
                groups.push(group(site, Some(WaitOp::Yield), idle, oldest));
                groups.push(group(site, None, rng.below(100), oldest / 2));
            }
            tick(&mut d, groups);
            let s = d.suspects();
            if cycle < 4 {
                assert!(s.is_empty(), "cycle {cycle}: {s:?}");
                continue;
            }
            assert_eq!(s.len(), 1, "cycle {cycle}: {s:?}");
            assert_eq!(s[0].spawned_at, leak);
            assert_eq!(s[0].live, 50 * cycle);
            assert_eq!(s[0].growth, 50 * (cycle.min(8) as i64 - 1));
            assert_eq!(
                s[0].reason,
                if cycle > 30 {
                    SuspectReason::GrowingAndStuck
                } else {
                    SuspectReason::Growing
                }
            );
        }
    }

    #[test]
    fn four_high_samples_of_short_tasks_are_not_growth() {
        let site = site!();
        let mut d = SuspectDetector::new(30 * SEC);
        for idle in [10, 40, 70, 90] {
            tick(
                &mut d,
                vec![group(site, None, idle, Duration::from_millis(300))],
            );
        }
        assert!(
            d.suspects().is_empty(),
            "the oldest task is younger than the rises"
        );
        // The same counts with tasks that stay: growth.
        let kept = site!();
        for (i, idle) in [10, 40, 70, 90].into_iter().enumerate() {
            tick(&mut d, vec![group(kept, None, idle, SEC * (i as u32 + 1))]);
        }
        assert_eq!(d.suspects().len(), 1);
    }

    #[test]
    fn a_leak_that_starts_later_is_found_after_three_rises() {
        let (quiet, leak) = (site!(), site!());
        let mut d = SuspectDetector::new(30 * SEC);
        for _ in 0..5 {
            tick(
                &mut d,
                vec![group(quiet, None, 3, Duration::from_millis(5))],
            );
        }
        // Leaks start between cycles 5 and 6; at cycle 8 the oldest is 2.5 s idle.
        for (i, n) in [10, 20, 30].into_iter().enumerate() {
            let age = Duration::from_millis(500) + SEC * i as u32;
            tick(
                &mut d,
                vec![
                    group(quiet, None, 3, Duration::from_millis(5)),
                    group(leak, None, n, age),
                ],
            );
        }
        let s = d.suspects();
        assert_eq!(s.len(), 1, "{s:?}");
        assert_eq!((s[0].spawned_at, s[0].live, s[0].growth), (leak, 30, 30));
    }

    #[test]
    fn the_detector_clock_times_observe_cycle() {
        let site = site!();
        let mut d = SuspectDetector::new(30 * SEC);
        for n in 1..=4 {
            d.observe_cycle(vec![group(site, None, n, SEC * n as u32)]);
        }
        assert_eq!(d.suspects().len(), 1);
    }

    #[test]
    fn high_churn_is_never_suspected() {
        let sites = [
            site!(),
            site!(),
            site!(),
            site!(),
            site!(),
            site!(),
            site!(),
            site!(),
        ];
        let mut rng = Rng(42);
        let mut d = SuspectDetector::new(30 * SEC);
        for cycle in 0..2_000 {
            let groups = sites
                .iter()
                .map(|&s| {
                    let idle = rng.below(100); // 40, 90, 10, 70, 30...
                    let oldest = Duration::from_millis(rng.below(500));
                    group(s, Some(WaitOp::Join), idle, oldest)
                })
                .collect();
            tick(&mut d, groups);
            assert_eq!(d.suspects(), vec![], "cycle {cycle}");
        }
        assert!(d.tracked_groups() <= sites.len());
    }

    #[test]
    fn a_stable_pool_of_keep_alive_connections_is_not_suspected() {
        let site = site!();
        let mut d = SuspectDetector::new(30 * SEC);
        for cycle in 1..=50u32 {
            let mut g = group(site, Some(WaitOp::TcpRead), 50, SEC * (10 + cycle));
            g.stuck = if cycle > 20 { 50 } else { 0 };
            tick(&mut d, vec![g]);
            assert!(d.suspects().is_empty(), "cycle {cycle}");
        }
    }

    #[test]
    fn busy_workers_on_a_channel_are_not_suspected() {
        let site = site!();
        let mut d = SuspectDetector::new(30 * SEC);
        for cycle in 0..50u64 {
            let oldest = Duration::from_millis(1 + cycle % 7);
            tick(&mut d, vec![group(site, None, 8, oldest)]);
            assert!(d.suspects().is_empty(), "cycle {cycle}");
        }
    }

    #[test]
    fn long_sleepers_are_not_suspected() {
        let site = site!();
        let mut d = SuspectDetector::new(30 * SEC);
        for cycle in 1..=50u32 {
            let mut g = group(site, Some(WaitOp::Sleep), 12, SEC * 60 * cycle);
            g.stuck = 12;
            tick(&mut d, vec![g]);
            assert!(d.suspects().is_empty(), "cycle {cycle}");
        }
    }

    #[test]
    fn growth_for_only_two_cycles_is_not_suspected() {
        let site = site!();
        let mut d = SuspectDetector::new(30 * SEC);
        for (cycle, idle) in [10, 10, 10, 20, 30, 30, 30, 30, 30, 30]
            .into_iter()
            .enumerate()
        {
            tick(
                &mut d,
                vec![group(site, None, idle, SEC * (cycle as u32 + 1))],
            );
            assert!(d.suspects().is_empty(), "cycle {cycle}");
        }
    }

    #[test]
    fn growth_on_a_socket_wait_is_suspected() {
        let site = site!();
        let mut d = SuspectDetector::new(30 * SEC);
        for cycle in 1..=4u32 {
            let mut g = group(
                site,
                Some(WaitOp::TcpRead),
                10 * cycle as u64,
                SEC * 40 * cycle,
            );
            g.stuck = 5;
            tick(&mut d, vec![g]);
        }
        let s = d.suspects();
        assert_eq!(s.len(), 1);
        assert_eq!(
            s[0].reason,
            SuspectReason::Growing,
            "a socket wait is never 'stuck'"
        );
        assert_eq!((s[0].live, s[0].growth), (40, 30));
    }

    #[test]
    fn tasks_stuck_in_process_are_suspected_with_the_right_count() {
        let site = site!();
        let joiner = site!();
        let mut d = SuspectDetector::new(30 * SEC);
        let mut g = group(site, None, 7, 31 * SEC);
        g.stuck = 7;
        let mut j = group(joiner, Some(WaitOp::Join), 3, 45 * SEC);
        j.stuck = 1;
        let young = group(site!(), None, 100, 29 * SEC);
        tick(&mut d, vec![g, j, young]);
        let s = d.suspects();
        assert_eq!(s.len(), 2, "{s:?}");
        assert_eq!((s[0].spawned_at, s[0].live), (site, 7));
        assert_eq!(s[0].reason, SuspectReason::StuckInProcess);
        assert_eq!(s[0].oldest_idle, 31 * SEC);
        assert_eq!(
            (s[1].spawned_at, s[1].live, s[1].wait_op),
            (joiner, 3, Some(WaitOp::Join))
        );
    }

    #[test]
    fn groups_with_the_same_key_are_added_up() {
        let site = site!();
        let mut d = SuspectDetector::new(30 * SEC);
        let mut a = group(site, None, 2, 40 * SEC);
        a.stuck = 1;
        let b = group(site, None, 3, 10 * SEC);
        tick(&mut d, vec![a, b]);
        let s = d.suspects();
        assert_eq!(s.len(), 1);
        assert_eq!((s[0].live, s[0].oldest_idle), (5, 40 * SEC));
    }

    #[test]
    fn ranking_is_by_count_then_growth() {
        let (a, b, c) = (site!(), site!(), site!());
        let mut d = SuspectDetector::new(30 * SEC);
        for cycle in 1..=4u64 {
            let age = SEC * cycle as u32;
            tick(
                &mut d,
                vec![
                    group(a, None, 10 * cycle, age),           // 40, growth 30
                    group(b, None, 100 + 10 * cycle, age),     // 140, growth 30
                    group(c, None, 20 + 40 * cycle - 40, age), // 140, growth 120
                ],
            );
        }
        let order: Vec<Site> = d.suspects().iter().map(|s| s.spawned_at).collect();
        assert_eq!(order, vec![c, b, a]);
    }

    #[test]
    fn growth_without_timing_still_counts() {
        let site = site!();
        let mut d = SuspectDetector::new(30 * SEC);
        for cycle in 1..=4 {
            tick(
                &mut d,
                vec![group(site, Some(WaitOp::Sleep), cycle, Duration::ZERO)],
            );
        }
        assert_eq!(d.suspects().len(), 1);
    }

    #[test]
    fn absent_groups_are_forgotten_and_count_zero() {
        let gone = site!();
        let stays = site!();
        let mut d = SuspectDetector::new(30 * SEC);
        tick(
            &mut d,
            vec![group(gone, None, 5, SEC), group(stays, None, 1, SEC)],
        );
        assert_eq!(d.tracked_groups(), 2);
        for _ in 0..WINDOW - 1 {
            tick(&mut d, vec![group(stays, None, 1, SEC)]);
            assert_eq!(d.tracked_groups(), 2, "still in the window");
        }
        tick(&mut d, vec![group(stays, None, 1, SEC)]);
        assert_eq!(d.tracked_groups(), 1);
        // A group that comes back after a gap counts the gap as zeros: 0, 0, 0 then 5 is
        // not three rises.
        tick(&mut d, vec![group(gone, None, 5, SEC)]);
        assert!(d.suspects().is_empty());
        assert_eq!(d.cycles(), 10);
    }
}
