//! Taking the figures: rounds in ABBA order on fresh runtimes, each a session of warm-up and
//! timed runs under the watchdog; a cell's figure is the median of its runs.

use super::args::Options;
use super::probe::{available_cores, cpu_busy, loadavg};
use super::suite::{Suite, Workload};
use super::watchdog::Watchdog;
use super::{MIN_RUNS, WARMUP_BUDGET};
use goro_benches::echo;
use goro_benches::server::Side;
use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant};

/// Timings of one workload on one runtime.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The median run.
    pub median: Duration,
    /// The fastest run.
    pub min: Duration,
    /// The slowest run.
    pub max: Duration,
    /// Timed runs taken (fewer than `--iters` if the cell ran out of budget).
    pub runs: usize,
}

impl Sample {
    /// Summarises run times; `None` if there are none.
    pub fn from_runs(mut runs: Vec<Duration>) -> Option<Sample> {
        if runs.is_empty() {
            return None;
        }
        runs.sort_unstable();
        let n = runs.len();
        let median = if n % 2 == 1 {
            runs[n / 2]
        } else {
            (runs[n / 2 - 1] + runs[n / 2]) / 2
        };
        Some(Sample {
            median,
            min: runs[0],
            max: runs[n - 1],
            runs: n,
        })
    }
}

/// A cell's result: its timings, or why it failed.
pub type Outcome = Result<Sample, String>;

/// One row of the table: a workload at a processor count on both of its suite's runtimes.
#[derive(Clone, Debug)]
pub struct Row {
    /// The suite the row belongs to.
    pub suite: Suite,
    /// The workload timed.
    pub workload: Workload,
    /// The worker count.
    pub procs: usize,
    /// On `suite.sides()`, in that order: goro and tokio, or goro with stats on and off.
    pub outcomes: [Outcome; 2],
}

impl Row {
    /// The first side's median over the second's (goro/tokio, stats on/off), if both ran.
    pub fn ratio(&self) -> Option<f64> {
        match &self.outcomes {
            [Ok(a), Ok(b)] if !b.median.is_zero() => {
                Some(a.median.as_secs_f64() / b.median.as_secs_f64())
            }
            _ => None,
        }
    }

    /// Each side with its outcome.
    pub fn sides(&self) -> impl Iterator<Item = (Side, &Outcome)> {
        self.suite.sides().into_iter().zip(&self.outcomes)
    }
}

/// The whole run.
#[derive(Clone, Debug)]
pub struct Report {
    /// The settings of the run.
    pub options: Options,
    /// Cores available to the process.
    pub cores: usize,
    /// The share of all CPUs busy with other work in the 250 ms before the run started
    /// (Linux, from `/proc/stat`), to spot a machine that is not quiet.
    pub busy_at_start: Option<f64>,
    /// `/proc/loadavg` (1, 5 and 15 minutes) at the start and at the end of the run.
    pub loadavg: [Option<String>; 2],
    /// Every row, suite by suite.
    pub rows: Vec<Row>,
}

impl Report {
    /// Geometric mean of the ratios of the rows of `suite` at `procs` that have one, with the
    /// number of rows it covers. For `overhead`, over its sched workloads only (the echo
    /// figures are reported on their own: [`Report::echo_throughput`]).
    pub fn geomean(&self, suite: Suite, procs: usize) -> Option<(f64, usize)> {
        let ratios: Vec<f64> = self
            .rows
            .iter()
            .filter(|r| r.suite == suite && r.procs == procs)
            .filter(|r| suite != Suite::Overhead || r.workload.suite() == Suite::Sched)
            .filter_map(Row::ratio)
            .collect();
        geomean(&ratios).map(|g| (g, ratios.len()))
    }

    /// For `overhead`: echo throughput with stats on over throughput with stats off (the
    /// inverse of the time ratio), per message size at `procs`.
    pub fn echo_throughput(&self, procs: usize) -> Vec<(echo::Workload, Option<f64>)> {
        self.rows
            .iter()
            .filter(|r| r.suite == Suite::Overhead && r.procs == procs)
            .filter_map(|r| match r.workload {
                Workload::Echo(w) => Some((w, r.ratio().map(f64::recip))),
                _ => None,
            })
            .collect()
    }

    /// Whether any cell failed.
    pub fn any_failed(&self) -> bool {
        self.rows
            .iter()
            .any(|r| r.outcomes.iter().any(Result::is_err))
    }
}

/// Geometric mean of positive numbers; `None` for an empty slice.
pub fn geomean(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let log_sum: f64 = xs.iter().map(|x| x.ln()).sum();
    Some((log_sum / xs.len() as f64).exp())
}

/// Runs the suite. `progress` is told about each cell before it starts (for a line on
/// stderr); the watchdog exits the process if a run hangs.
pub fn run(opts: &Options, mut progress: impl FnMut(&str)) -> Report {
    let load_at_start = loadavg();
    let busy_at_start = cpu_busy(Duration::from_millis(250));
    let watchdog = Watchdog::start(opts.timeout);
    let mut rows = Vec::new();
    let workloads = opts.workloads();
    for &suite in &opts.suites {
        for &procs in &opts.procs {
            for &(_, workload) in workloads.iter().filter(|(s, _)| *s == suite) {
                progress(&format!("{workload} procs={procs}"));
                rows.push(measure_row(suite, workload, procs, opts, &watchdog));
            }
        }
    }
    watchdog.idle();
    Report {
        options: opts.clone(),
        cores: available_cores(),
        busy_at_start,
        loadavg: [load_at_start, loadavg()],
        rows,
    }
}

/// Times `workload` at `procs` workers on both runtimes of `suite`.
///
/// The timed runs are split into [`Suite::rounds`] rounds in ABBA order (goro, tokio, then
/// tokio, goro, ...), each on a freshly built and warmed-up runtime, so that neither runtime
/// always goes first; a runtime's figure is the median of all its runs. Only one runtime is
/// alive at a time.
pub fn measure_row(
    suite: Suite,
    workload: Workload,
    procs: usize,
    opts: &Options,
    watchdog: &Watchdog,
) -> Row {
    let [a, b] = suite.sides();
    let mut runs = [Ok(Vec::new()), Ok(Vec::new())];
    let rounds = suite.rounds().min(opts.iters);
    for round in 0..rounds {
        // Runs for this round: spread `iters` as evenly as possible.
        let iters = opts.iters / rounds + usize::from(round < opts.iters % rounds);
        let session = Session {
            workload,
            procs,
            iters,
            warmup: opts.warmup,
            budget: suite.cell_budget() / rounds as u32,
            watchdog,
        };
        let [runs_a, runs_b] = &mut runs;
        if round % 2 == 0 {
            session.extend(a, runs_a);
            session.extend(b, runs_b);
        } else {
            session.extend(b, runs_b);
            session.extend(a, runs_a);
        }
    }
    let summarise = |runs: Result<Vec<Duration>, String>| {
        runs.and_then(|r| Sample::from_runs(r).ok_or_else(|| "no runs".to_string()))
    };
    Row {
        suite,
        workload,
        procs,
        outcomes: runs.map(summarise),
    }
}

/// One round of one runtime: build, warm up, time, shut down.
struct Session<'a> {
    workload: Workload,
    procs: usize,
    iters: usize,
    warmup: usize,
    budget: Duration,
    watchdog: &'a Watchdog,
}

impl Session<'_> {
    /// Runs the session on `side` and appends its run times to `acc`, unless `acc` already
    /// holds an error (the runtime failed in an earlier round). A panic becomes an error.
    fn extend(&self, side: Side, acc: &mut Result<Vec<Duration>, String>) {
        let Ok(runs) = acc else { return };
        let watchdog = self.watchdog;
        watchdog.enter(&format!(
            "{} on {} with {} workers",
            self.workload,
            side.name(),
            self.procs
        ));
        let result = panic::catch_unwind(AssertUnwindSafe(|| -> Result<(), String> {
            let mut run = self
                .workload
                .prepare(side, self.procs)
                .map_err(|e| format!("setting up: {e}"))?;
            watchdog.progress();

            let warm_start = Instant::now();
            for i in 0..self.warmup {
                if i > 0 && warm_start.elapsed() > WARMUP_BUDGET {
                    break;
                }
                run();
                watchdog.progress();
            }

            let start = Instant::now();
            for i in 0..self.iters {
                if i >= MIN_RUNS && start.elapsed() > self.budget {
                    break;
                }
                let t = Instant::now();
                run();
                runs.push(t.elapsed());
                watchdog.progress();
            }

            drop(run);
            Ok(())
        }));
        watchdog.progress();
        let error = match result {
            Ok(Ok(())) => return,
            Ok(Err(e)) => e,
            Err(payload) => format!("panicked: {}", panic_message(&*payload)),
        };
        *acc = Err(error);
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
    }
}
