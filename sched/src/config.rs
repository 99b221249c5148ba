//! Scheduler configuration, validated by [`Config::validate`].

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A function the monitor calls on every round (every 25 µs to 10 ms), with the round's
/// time. This is where a stats cycle hooks in; it must return quickly.
#[derive(Clone)]
pub struct MonitorHook(pub Arc<dyn Fn(Instant) + Send + Sync>);

impl fmt::Debug for MonitorHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MonitorHook(..)")
    }
}

/// A function every machine and blocking thread of the runtime calls once, first thing,
/// on itself (the `tokio-compat` feature of `goro` enters a tokio runtime context here). It
/// runs after the thread became the runtime's (`Handle::try_current` works) and before it
/// runs any task or blocking closure. Threads inside `block_on` do not call it: they are
/// the caller's, and `goro` wraps `block_on` itself.
#[derive(Clone)]
pub struct ThreadStartHook(pub Arc<dyn Fn() + Send + Sync>);

impl fmt::Debug for ThreadStartHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ThreadStartHook(..)")
    }
}

/// How a [`Scheduler`](crate::Scheduler) is built. The `goro` crate's `Builder` fills it in.
#[derive(Debug, Clone)]
pub struct Config {
    /// Processors (Go's GOMAXPROCS): how many tasks run in parallel. At least 1.
    pub processors: usize,
    /// Pin machine threads to cores, round-robin.
    pub pin_threads: bool,
    /// The prefix of the runtime's thread names: machines are `{prefix}-machine-{id}`, the
    /// blocking pool's threads `{prefix}-blocking`, the monitor `{prefix}-monitor`.
    pub thread_name: String,
    /// Most threads the blocking pool starts. At least 1.
    pub max_blocking_threads: usize,
    /// How long an idle blocking thread waits for work before it exits.
    pub blocking_keep_alive: Duration,
    /// Stack size of the runtime's threads, if not the default.
    pub thread_stack_size: Option<usize>,
    /// Called by the monitor on every round.
    pub monitor_hook: Option<MonitorHook>,
    /// Timing and histograms on (`false` keeps counters, task records and orphan detection,
    /// which cost nothing extra, but takes no clock readings on the hot path).
    pub stats: bool,
    /// How often the monitor runs a stats cycle (pause, suspected leaks).
    pub stats_interval: Duration,
    /// How long a task may sit idle on an in-process wait before it is suspected of leaking.
    pub leak_threshold: Duration,
    /// Cancel orphaned tasks (their `JoinHandle` yields an orphaned `JoinError`).
    pub reclaim_orphans: bool,
    /// The stall alarm: the p95 pause of the last `window` cycles against `factor` times the
    /// baseline.
    pub stall_alarm_window: usize,
    /// See `stall_alarm_window`. Must be finite and above 1.
    pub stall_alarm_factor: f64,
    /// Print a `SCHED` line to stderr this often (`GORO_SCHEDTRACE`).
    pub schedtrace: Option<Duration>,
    /// A poll that has run on a CPU this long loses its processor to a spare machine (a
    /// poll asleep in the kernel loses it within [`BLOCKED_GRACE`](crate::BLOCKED_GRACE)).
    pub handoff_after: Duration,
    /// Called on each machine and blocking thread as it starts.
    pub on_thread_start: Option<ThreadStartHook>,
}

impl Config {
    /// Defaults with `processors` processors.
    pub fn with_processors(processors: usize) -> Config {
        Config {
            processors,
            pin_threads: false,
            thread_name: "goro".to_string(),
            max_blocking_threads: 512,
            blocking_keep_alive: Duration::from_secs(10),
            thread_stack_size: None,
            monitor_hook: None,
            stats: true,
            stats_interval: Duration::from_secs(1),
            leak_threshold: Duration::from_secs(30),
            reclaim_orphans: false,
            stall_alarm_window: 10,
            stall_alarm_factor: 3.2,
            schedtrace: None,
            handoff_after: DEFAULT_HANDOFF_AFTER,
            on_thread_start: None,
        }
    }

    /// Checks every field, returning an `InvalidInput` error that says what is wrong.
    pub fn validate(&self) -> io::Result<()> {
        if self.processors == 0 {
            return Err(invalid(
                "processors(0): a runtime needs at least 1 processor".to_string(),
            ));
        }
        if self.processors > MAX_PROCESSORS {
            return Err(invalid(format!(
                "processors({}): at most {MAX_PROCESSORS} processors are supported",
                self.processors
            )));
        }
        if self.max_blocking_threads == 0 {
            return Err(invalid(
                "max_blocking_threads(0): the blocking pool needs at least 1 thread".to_string(),
            ));
        }
        if self.stats_interval < MIN_STATS_INTERVAL {
            return Err(invalid(format!(
                "stats_interval({:?}): must be at least {MIN_STATS_INTERVAL:?}",
                self.stats_interval
            )));
        }
        if self.leak_threshold.is_zero() {
            return Err(invalid(
                "leak_threshold(0): a task idle for no time at all is not a leak".to_string(),
            ));
        }
        if self.stall_alarm_window == 0 {
            return Err(invalid(
                "stall_alarm window 0: the alarm needs at least 1 cycle".to_string(),
            ));
        }
        if !(self.stall_alarm_factor.is_finite() && self.stall_alarm_factor > 1.0) {
            return Err(invalid(format!(
                "stall_alarm factor {}: must be a finite number above 1",
                self.stall_alarm_factor
            )));
        }
        if self.handoff_after < MIN_HANDOFF_AFTER {
            return Err(invalid(format!(
                "handoff_after({:?}): must be at least {MIN_HANDOFF_AFTER:?} (the monitor's \
                 resolution)",
                self.handoff_after
            )));
        }
        if let Some(period) = self.schedtrace {
            if period.is_zero() {
                return Err(invalid(
                    "schedtrace period 0: must be at least 1 ms".to_string(),
                ));
            }
        }
        Ok(())
    }
}

/// The default of [`Config::handoff_after`], as Go's sysmon's `forcePreemptNS`.
pub const DEFAULT_HANDOFF_AFTER: Duration = Duration::from_millis(10);

/// The shortest [`Config::handoff_after`]: below it the monitor cannot tell the age of a
/// poll.
pub const MIN_HANDOFF_AFTER: Duration = Duration::from_micros(500);

/// The shortest stats cycle: the monitor's own resolution is 25 µs to 10 ms.
pub const MIN_STATS_INTERVAL: Duration = Duration::from_millis(10);

/// The most processors a runtime may have.
///
/// What one processor costs: a machine thread (started with the runtime, with its stack), a
/// poller (an epoll instance, a duplicate of it for registrations from other threads and an
/// eventfd: three file descriptors, so 4096 processors need a descriptor limit above
/// 12 288), a local run queue, counters and about 24 KiB of resident memory in all
/// (measured: 28.6 MB at 1024 processors, 103 MB at 4096, 3.7 MB at 1); its four latency
/// histograms (36 KiB each) are allocated only when it first records into them. Starting a
/// runtime costs time in the number of processors (threads, pollers, and each new machine's
/// first search walks every processor): about 0.25 s for 1024 and 2.3 s for 4096 on a
/// loaded 2-core machine. More processors than cores buy nothing for
/// CPU-bound work; this limit only bounds the cost of a misconfiguration.
pub const MAX_PROCESSORS: usize = 4096;

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}
