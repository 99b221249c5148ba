//! The soak behind `goro-soak --seconds N --processors P`: a mixed workload run for a
//! while on one runtime, with exact books.
//!
//! Seven workloads run side by side until the deadline (`workload`): spawn churn, panics,
//! aborts of sleeping and of running tasks, timeouts that elapse and that do not, TCP echo
//! on loopback with one client in four resetting its connection, blocking-pool calls, and
//! every 250 ms a task stuck 25 ms in one poll (so the monitor hands its processor off).
//! Each workload settles every task it spawns before starting the next round, so the
//! live set stays bounded and RSS has no reason to grow.
//!
//! At the end (`ledger`): every task started was settled exactly once, with the outcome its
//! kind must have, its future was dropped exactly once, no task returned a wrong value, and
//! goro's own stats agree: per spawn site and in total, as many tasks spawned and completed
//! as the books say, none live, none orphaned. Meanwhile (`sampler`) RSS and the thread
//! count are read once a second and must stay flat after the warm-up (a quarter of the
//! run, at most 15 s).
//!
//! A soak that does not finish within a minute of its deadline (a lost wake-up, a
//! deadlock) is reported by a watchdog thread and fails with the counts so far.

pub mod ledger;
pub mod sampler;
pub mod workload;

use ledger::{Counts, Kind, Ledger};
use sampler::{Sample, Sampler};
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the soak runs, on how many processors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// How long the workload runs.
    pub seconds: u64,
    /// goro's processors.
    pub processors: usize,
}

/// What a soak found.
#[derive(Debug)]
pub struct Report {
    /// What ran.
    pub config: Config,
    /// Every kind's counts.
    pub counts: Vec<(Kind, Counts)>,
    /// goro's task counts at the end: spawned, completed, live.
    pub goro_tasks: (u64, u64, u64),
    /// RSS and thread readings over the run.
    pub samples: Vec<Sample>,
    /// Whether the samples were enough to judge flatness.
    pub flatness_checked: bool,
    /// Every mismatch; empty if the soak passed.
    pub problems: Vec<String>,
}

/// How long after its deadline a soak may take to wind down before the watchdog fails it.
const GRACE: Duration = Duration::from_secs(60);

/// Runs the soak.
pub fn run(config: Config) -> io::Result<Report> {
    quiet_deliberate_panics();
    let rt = goro::Builder::new().processors(config.processors).build()?;
    let sampler = Sampler::start(Duration::from_secs(1))?;
    let ledger = Arc::new(Ledger::default());
    let until = Instant::now() + Duration::from_secs(config.seconds);
    let watchdog = watchdog(ledger.clone(), until + GRACE);
    let drivers_ok = rt.block_on({
        let ledger = ledger.clone();
        async move {
            let handles: Vec<_> = workload::drivers(&ledger, until)
                .into_iter()
                .map(|driver| ledger.spawn(Kind::Driver, driver))
                .collect();
            let mut ok = true;
            for h in handles {
                ok &= ledger.settle(Kind::Driver, h).await == Some(true);
            }
            ok
        }
    });
    drop(watchdog);
    let mut problems = Vec::new();
    if !drivers_ok {
        problems.push("a workload failed (see its message above)".to_string());
    }
    let handle = rt.handle().clone();
    // A task's JoinHandle can wake just before the task leaves goro's registry.
    let stats = quiesce(&handle, Duration::from_secs(1));
    problems.extend(ledger.check(&stats, handle.leak_report().orphaned_total));
    drop(rt);
    let samples = sampler.finish()?;
    let warmup = Duration::from_secs((config.seconds / 4).min(15));
    let flatness = sampler::check_flat(&samples, warmup);
    let flatness_checked = flatness.is_some();
    problems.extend(flatness.unwrap_or_default());
    Ok(Report {
        config,
        counts: Kind::ALL.iter().map(|&k| (k, ledger.counts(k))).collect(),
        goro_tasks: (stats.tasks.spawned, stats.tasks.completed, stats.tasks.live),
        samples,
        flatness_checked,
        problems,
    })
}

/// Waits up to `limit` for `handle`'s runtime to have no live task, and returns its stats.
pub fn quiesce(handle: &goro::Handle, limit: Duration) -> goro::stats::Snapshot {
    let until = Instant::now() + limit;
    loop {
        let stats = handle.stats();
        if stats.tasks.live == 0 || Instant::now() >= until {
            return stats;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Keeps the default panic hook for every panic but the soak's own.
fn quiet_deliberate_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied());
        if message != Some(workload::DELIBERATE_PANIC) {
            default(info);
        }
    }));
}

/// A thread that fails the process with the counts so far if it is not dropped by
/// `deadline`.
fn watchdog(ledger: Arc<Ledger>, deadline: Instant) -> std::sync::mpsc::Sender<()> {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let left = deadline.saturating_duration_since(Instant::now());
        if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(left) {
            eprintln!("goro-soak: FAILED: the workload did not wind down within {GRACE:?} of its deadline");
            for kind in Kind::ALL {
                eprintln!("  {kind:?}: {:?}", ledger.counts(kind));
            }
            std::process::exit(1);
        }
    });
    tx
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = self.config;
        writeln!(
            f,
            "goro-soak: {} s at {} processors",
            c.seconds, c.processors
        )?;
        writeln!(
            f,
            "{:<14} {:>10} {:>10} {:>10} {:>10} {:>10} {:>6}",
            "kind", "started", "completed", "panicked", "cancelled", "dropped", "wrong"
        )?;
        let mut total = Counts::default();
        for (kind, n) in &self.counts {
            writeln!(
                f,
                "{:<14} {:>10} {:>10} {:>10} {:>10} {:>10} {:>6}",
                format!("{kind:?}"),
                n.started,
                n.completed,
                n.panicked,
                n.cancelled,
                n.dropped,
                n.wrong
            )?;
            total.started += n.started;
            total.completed += n.completed;
            total.panicked += n.panicked;
            total.cancelled += n.cancelled;
            total.dropped += n.dropped;
            total.wrong += n.wrong;
        }
        writeln!(
            f,
            "{:<14} {:>10} {:>10} {:>10} {:>10} {:>10} {:>6}",
            "total",
            total.started,
            total.completed,
            total.panicked,
            total.cancelled,
            total.dropped,
            total.wrong
        )?;
        let (spawned, completed, live) = self.goro_tasks;
        writeln!(
            f,
            "goro stats: {spawned} spawned, {completed} completed, {live} live"
        )?;
        let rss: Vec<u64> = self.samples.iter().map(|s| s.rss_kb).collect();
        let threads: Vec<u64> = self.samples.iter().map(|s| s.threads).collect();
        writeln!(f, "RSS kB, once a second: {rss:?}")?;
        writeln!(f, "threads, once a second: {threads:?}")?;
        if !self.flatness_checked {
            writeln!(
                f,
                "(too short a run to judge whether RSS and threads stay flat)"
            )?;
        }
        if self.problems.is_empty() {
            writeln!(
                f,
                "OK: every task accounted for exactly once; goro's stats agree"
            )
        } else {
            writeln!(f, "FAILED:")?;
            for p in &self.problems {
                writeln!(f, "  {p}")?;
            }
            Ok(())
        }
    }
}
