//! Stats cycles, their pauses, and the stall alarm.
//!
//! The monitor runs a *stats cycle* every `stats_interval`, like Go runs GC cycles. Each
//! cycle reports its *pause*: the longest time in that cycle that a processor had runnable
//! work and did not start a poll. [`PauseLog`] keeps them the way Go's `debug.GCStats` does:
//! the number of cycles, when the last one ran, the total, and the most recent pauses
//! (newest first, at most [`MAX_RECENT`]).
//!
//! ## The stall alarm
//!
//! A stall is a run of cycles whose pauses are far above what this program normally sees.
//! After each cycle, the log compares
//!
//! - the **p95 of the last `window` pauses** (nearest rank: with the default window of 10 it
//!   is the largest of them, so one bad cycle is enough), against
//! - the **baseline**: the *median of the pauses of older cycles*, those that have already
//!   left the window (up to `4 x window` of them).
//!
//! The alarm condition holds when the p95 exceeds both `factor x baseline` and `floor`. The
//! floor keeps an idle runtime, whose baseline is a few microseconds of noise, from alarming
//! on noise.
//!
//! Why a median of older cycles: a stall is inside the window while it is being judged, so
//! it cannot raise the baseline it is judged against; once it leaves the window it is one
//! outlier among up to 40 older cycles, and a median ignores outliers. If pauses settle at a
//! higher level for good, the level becomes the median after about `window + 2 x window`
//! cycles and the alarm stops: a lasting change is the new normal, not a stall. Steady
//! pauses of any size never alarm (their p95 *is* the baseline, and `factor > 1`).
//!
//! There is no baseline, and so no alarm, until `window` cycles older than the window exist,
//! that is during the first `2 x window` cycles.
//!
//! The alarm **fires** on the cycle the condition starts to hold, and is counted once per
//! episode: the ten cycles during which one bad pause stays in the window are one stall,
//! not ten. It can fire again once the condition has stopped holding.

use crate::histogram::nearest_rank;
use crate::report::{Pauses, Quantiles};
use std::collections::VecDeque;
use std::time::Duration;

/// How many recent pauses a [`PauseLog`] keeps (like Go's `debug.GCStats`, 256).
pub const MAX_RECENT: usize = 256;

/// When the stall alarm fires; see the module docs of [`PauseLog`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StallAlarm {
    /// How many recent cycles the p95 is taken over (default 10).
    pub window: usize,
    /// How far above the baseline the p95 must be (default 3.2).
    pub factor: f64,
    /// The p95 must also exceed this, so tiny baselines do not alarm on noise (default 1 ms).
    pub floor: Duration,
}

impl Default for StallAlarm {
    fn default() -> StallAlarm {
        StallAlarm {
            window: 10,
            factor: 3.2,
            floor: Duration::from_millis(1),
        }
    }
}

impl StallAlarm {
    /// Checks the settings: `factor` must be finite and above 1, `window` at least 1.
    ///
    /// ```
    /// use goro_stats::StallAlarm;
    /// assert!(StallAlarm::default().validate().is_ok());
    /// let bad = StallAlarm { factor: 0.5, ..StallAlarm::default() };
    /// assert!(bad.validate().unwrap_err().contains("factor"));
    /// ```
    pub fn validate(&self) -> Result<(), String> {
        if !self.factor.is_finite() || self.factor <= 1.0 {
            return Err(format!(
                "stall alarm factor must be a finite number above 1, got {}",
                self.factor
            ));
        }
        if self.window == 0 {
            return Err("stall alarm window must be at least 1 cycle, got 0".to_string());
        }
        Ok(())
    }

    /// How many cycles older than the window the baseline is the median of.
    fn history(&self) -> usize {
        self.window.max(1).saturating_mul(4)
    }
}

/// The record of stats cycles and their pauses, with the stall alarm.
///
/// ```
/// use goro_stats::{PauseLog, StallAlarm};
/// use std::time::Duration;
/// let mut log = PauseLog::new(StallAlarm::default());
/// let mut fired = false;
/// for i in 1..=25u64 {
///     let pause = if i == 25 { Duration::from_millis(60) } else { Duration::from_micros(50) };
///     fired |= log.record_cycle(Duration::from_secs(i), pause);
/// }
/// assert!(fired);
/// let p = log.pauses();
/// assert_eq!((p.num_cycles, p.stall_alarms), (25, 1));
/// assert_eq!(p.pauses[0], Duration::from_millis(60));
/// ```
#[derive(Debug, Clone)]
pub struct PauseLog {
    alarm: StallAlarm,
    num_cycles: u64,
    last_cycle: Option<Duration>,
    pause_total: Duration,
    /// Newest first, at most `MAX_RECENT`.
    recent: VecDeque<Duration>,
    /// The last `window` pauses, oldest first.
    window: VecDeque<Duration>,
    /// Pauses that left the window, oldest first, at most `alarm.history()`.
    older: VecDeque<Duration>,
    baseline: Option<Duration>,
    in_alarm: bool,
    stall_alarms: u64,
}

impl PauseLog {
    /// An empty log. An invalid `alarm` (see [`StallAlarm::validate`]) does not panic: a
    /// zero window counts as 1 and a factor that is not a number never alarms.
    pub fn new(alarm: StallAlarm) -> PauseLog {
        PauseLog {
            alarm,
            num_cycles: 0,
            last_cycle: None,
            pause_total: Duration::ZERO,
            recent: VecDeque::new(),
            window: VecDeque::new(),
            older: VecDeque::new(),
            baseline: None,
            in_alarm: false,
            stall_alarms: 0,
        }
    }

    /// Records one cycle that ran at `at` (time since the runtime started) with the given
    /// pause. Returns true if the stall alarm fired on this cycle.
    pub fn record_cycle(&mut self, at: Duration, pause: Duration) -> bool {
        self.num_cycles += 1;
        self.last_cycle = Some(at);
        self.pause_total = self.pause_total.saturating_add(pause);
        self.recent.push_front(pause);
        self.recent.truncate(MAX_RECENT);

        self.window.push_back(pause);
        if self.window.len() > self.alarm.window.max(1) {
            let left = self.window.pop_front().expect("window is not empty");
            self.older.push_back(left);
            if self.older.len() > self.alarm.history() {
                self.older.pop_front();
            }
        }
        self.baseline = self.compute_baseline();

        let condition = match self.baseline {
            Some(baseline) => {
                let mut sorted: Vec<Duration> = self.window.iter().copied().collect();
                sorted.sort_unstable();
                let p95 = nearest_rank(&sorted, 0.95);
                p95 > self.alarm.floor
                    && p95.as_secs_f64() > self.alarm.factor * baseline.as_secs_f64()
            }
            None => false,
        };
        let fired = condition && !self.in_alarm;
        self.in_alarm = condition;
        if fired {
            self.stall_alarms += 1;
        }
        fired
    }

    /// The median of the older cycles, once there are `window` of them.
    fn compute_baseline(&self) -> Option<Duration> {
        if self.older.len() < self.alarm.window.max(1) {
            return None;
        }
        let mut sorted: Vec<Duration> = self.older.iter().copied().collect();
        sorted.sort_unstable();
        Some(nearest_rank(&sorted, 0.5))
    }

    /// Everything a report shows: cycles, total, recent pauses newest first, their
    /// quantiles, alarms and the baseline (zero until one exists).
    pub fn pauses(&self) -> Pauses {
        let pauses: Vec<Duration> = self.recent.iter().copied().collect();
        Pauses {
            num_cycles: self.num_cycles,
            last_cycle: self.last_cycle,
            pause_total: self.pause_total,
            quantiles: Quantiles::from_durations(&pauses),
            pauses,
            stall_alarms: self.stall_alarms,
            baseline: self.baseline.unwrap_or(Duration::ZERO),
        }
    }

    /// The alarm settings.
    pub fn alarm(&self) -> &StallAlarm {
        &self.alarm
    }

    /// How many cycles were recorded.
    pub fn num_cycles(&self) -> u64 {
        self.num_cycles
    }

    /// How many times the stall alarm fired.
    pub fn stall_alarms(&self) -> u64 {
        self.stall_alarms
    }

    /// Whether the alarm condition held on the last cycle (a stall is in progress or still in
    /// the window).
    pub fn in_alarm(&self) -> bool {
        self.in_alarm
    }

    /// The baseline pause, once enough cycles exist.
    pub fn baseline(&self) -> Option<Duration> {
        self.baseline
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const US: Duration = Duration::from_micros(1);
    const MS: Duration = Duration::from_millis(1);

    /// Records `pauses` as consecutive one-second cycles; returns on which cycles
    /// (1-based, counting from the first cycle ever) the alarm fired.
    fn feed(log: &mut PauseLog, pauses: &[Duration]) -> Vec<u64> {
        let mut fired = Vec::new();
        for &p in pauses {
            let at = Duration::from_secs(log.num_cycles() + 1);
            if log.record_cycle(at, p) {
                fired.push(log.num_cycles());
            }
        }
        fired
    }

    /// ~50 µs with a little deterministic jitter.
    fn normal(n: usize) -> Vec<Duration> {
        (0..n).map(|i| US * (45 + (i as u32 * 7) % 11)).collect()
    }

    #[test]
    fn a_stall_after_normal_cycles_fires_once() {
        let mut log = PauseLog::new(StallAlarm::default());
        assert!(feed(&mut log, &normal(20)).is_empty());
        assert!(log.baseline().is_some());
        let base = log.baseline().unwrap();
        assert!(base >= US * 45 && base <= US * 55, "{base:?}");

        assert_eq!(feed(&mut log, &[MS * 50]), vec![21]);
        assert!(log.in_alarm());
        // The stall stays in the window for 9 more cycles: still one alarm.
        assert!(feed(&mut log, &normal(9)).is_empty());
        assert!(log.in_alarm());
        assert!(feed(&mut log, &normal(1)).is_empty());
        assert!(!log.in_alarm(), "the stall left the window");
        // It did not drag the baseline up.
        assert!(log.baseline().unwrap() <= US * 55);
        // A second stall is a second alarm.
        assert_eq!(feed(&mut log, &[MS * 80, MS * 70, MS * 90]), vec![32]);
        let p = log.pauses();
        assert_eq!(p.stall_alarms, 2);
        assert_eq!(p.num_cycles, 34);
        assert_eq!(p.pauses[..3], [MS * 90, MS * 70, MS * 80]);
        assert!(p.baseline <= US * 55);
    }

    #[test]
    fn steady_pauses_of_any_size_never_alarm() {
        for level in [
            Duration::ZERO,
            US * 3,
            US * 50,
            MS * 5,
            MS * 200,
            Duration::from_secs(2),
        ] {
            let mut log = PauseLog::new(StallAlarm::default());
            let pauses: Vec<Duration> = (0..300)
                .map(|i| level + level / 10 * ((i % 3) as u32))
                .collect();
            assert!(feed(&mut log, &pauses).is_empty(), "level {level:?}");
            assert_eq!(log.pauses().stall_alarms, 0);
        }
    }

    #[test]
    fn no_alarm_before_a_baseline_exists() {
        let mut log = PauseLog::new(StallAlarm::default());
        // Fewer than `window` cycles older than the window: 19 cycles in all.
        let mut pauses = normal(18);
        pauses.push(MS * 500);
        assert!(feed(&mut log, &pauses).is_empty());
        assert_eq!(log.baseline(), None);
        assert_eq!(log.pauses().baseline, Duration::ZERO);
    }

    #[test]
    fn an_idle_runtime_does_not_alarm_on_noise() {
        let mut log = PauseLog::new(StallAlarm::default());
        let mut pauses = vec![Duration::ZERO; 30];
        pauses.extend([US * 400, US * 900, Duration::ZERO]); // under the 1 ms floor
        assert!(feed(&mut log, &pauses).is_empty());
        assert_eq!(
            feed(&mut log, &[MS * 3]),
            vec![34],
            "above the floor it does"
        );
    }

    #[test]
    fn a_lasting_new_level_stops_alarming() {
        let mut log = PauseLog::new(StallAlarm::default());
        feed(&mut log, &normal(50));
        let fired = feed(&mut log, &vec![MS * 20; 100]);
        assert_eq!(fired, vec![51], "one alarm for the change");
        assert!(!log.in_alarm(), "the new level became the baseline");
        assert_eq!(log.baseline(), Some(MS * 20));
    }

    #[test]
    fn window_and_factor_are_honoured() {
        let alarm = StallAlarm {
            window: 20,
            factor: 10.0,
            floor: Duration::ZERO,
        };
        let mut log = PauseLog::new(alarm);
        feed(&mut log, &vec![MS; 40]);
        // With a window of 20 the p95 is the second largest: one outlier is not enough.
        assert!(feed(&mut log, &[MS * 50]).is_empty());
        // 8x is under the factor of 10.
        assert!(feed(&mut log, &[MS * 8]).is_empty());
        assert_eq!(feed(&mut log, &[MS * 11]), vec![43]);
    }

    #[test]
    fn recent_pauses_are_bounded_newest_first_with_totals() {
        let mut log = PauseLog::new(StallAlarm::default());
        let pauses: Vec<Duration> = (1..=300).map(|i| US * i).collect();
        feed(&mut log, &pauses);
        let p = log.pauses();
        assert_eq!(p.num_cycles, 300);
        assert_eq!(p.last_cycle, Some(Duration::from_secs(300)));
        assert_eq!(p.pause_total, US * (300 * 301 / 2));
        assert_eq!(p.pauses.len(), MAX_RECENT);
        assert_eq!(p.pauses[0], US * 300);
        assert_eq!(p.pauses[MAX_RECENT - 1], US * 45);
        assert_eq!(p.quantiles.count, MAX_RECENT as u64);
        assert_eq!(p.quantiles.max, US * 300);
        assert_eq!(p.quantiles.min, US * 45);
        assert_eq!(
            PauseLog::new(StallAlarm::default()).pauses(),
            Pauses::default()
        );
    }

    #[test]
    fn validate_rejects_bad_settings() {
        assert_eq!(StallAlarm::default().validate(), Ok(()));
        for factor in [1.0, 0.0, -3.0, f64::NAN, f64::INFINITY] {
            let a = StallAlarm {
                factor,
                ..StallAlarm::default()
            };
            assert!(a.validate().unwrap_err().contains("factor"), "{factor}");
        }
        let a = StallAlarm {
            window: 0,
            ..StallAlarm::default()
        };
        assert!(a.validate().unwrap_err().contains("window"));
        // An invalid alarm does not panic the log.
        let mut log = PauseLog::new(StallAlarm {
            window: 0,
            factor: f64::NAN,
            floor: Duration::ZERO,
        });
        assert!(feed(&mut log, &[MS, MS, MS * 100]).is_empty());
    }
}
