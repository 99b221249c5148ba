//! Quick mode of goro-benches' suites, for `goro-bench`.
//!
//! Suites (`--suite`, default the three goro vs tokio ones): `sched` (tokio's
//! `rt_multi_threaded` shapes), `timers` (arm/cancel 10 000 sleeps; 1 000 tasks sleeping 1 ms
//! ten times) and `echo` (TCP echo, 64 loopback connections x 100 round trips of 1 KiB or 64 B,
//! the server on the runtime under test and the clients on a tokio `current_thread` runtime of
//! their own; tokio's side is its `current_thread` runtime at procs=1 and `multi_thread`
//! otherwise). See the `goro_benches` crate for what each workload stresses. A fourth suite,
//! `overhead`, compares goro with itself: the sched and echo workloads on goro with
//! `stats(true)` (the default) against `stats(false)`, and reports stats-on/stats-off ratios,
//! their geomean over the sched workloads and the echo throughput ratio (the issue's bar:
//! stats cost at most 2%).
//!
//! For every selected suite, processor count and workload, both runtimes are timed in rounds in
//! ABBA order (goro then tokio, then tokio then goro; two rounds, or [`OVERHEAD_ROUNDS`] for
//! `overhead`, whose ratios are close to 1). Each round builds a fresh runtime with
//! that many workers, warms it up, times its share of `--iters` runs and shuts it down, so
//! only one runtime is ever alive and neither always goes first. A runtime's figure is the
//! median of all its runs. A cell whose runs are slow stops early once it has spent
//! [`CELL_BUDGET`] ([`OVERHEAD_CELL_BUDGET`] for `overhead`) (keeping at least [`MIN_RUNS`] runs per round), so that one pathological
//! workload cannot make the whole suite take minutes. A watchdog thread ends the process with
//! a clear message if a single run (or a runtime's start-up or shutdown) makes no progress for
//! `--timeout` seconds; a panic marks that cell as failed and the suite goes on. The sched and
//! timers suites pin nothing; the echo suite pins as `goro_benches::affinity` describes
//! (clients on one core, the server on the other at procs=1; `GORO_BENCH_PIN=0` to disable).

use std::fmt::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use std::fmt;
use std::io;

use goro_benches::affinity::Placement;
use goro_benches::server::Side;
use goro_benches::{echo, sched, timers, Goro, GoroNoStats, RuntimeWorkload};

/// Default number of timed runs per cell.
pub const DEFAULT_ITERS: usize = 30;
/// Default number of warm-up runs per cell.
pub const DEFAULT_WARMUP: usize = 3;
/// Default processor counts.
pub const DEFAULT_PROCS: [usize; 2] = [1, 2];
/// Default watchdog timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Time after which a cell (one workload on one runtime, all rounds) stops taking more
/// timed runs.
pub const CELL_BUDGET: Duration = Duration::from_secs(3);
/// Rounds per row, in ABBA order (see [`measure_row`]).
pub const ROUNDS: usize = 2;
/// Time after which a round's warm-up stops (at least one warm-up run is made if any).
pub const WARMUP_BUDGET: Duration = Duration::from_secs(1);
/// Fewest timed runs a round keeps, budget or not.
pub const MIN_RUNS: usize = 3;
/// Rounds per row of the `overhead` suite: its two sides differ by a few percent at most, so
/// their runs are interleaved more finely, each round on fresh runtimes.
pub const OVERHEAD_ROUNDS: usize = 10;
/// [`CELL_BUDGET`] of the `overhead` suite, which needs many runs for stable medians.
pub const OVERHEAD_CELL_BUDGET: Duration = Duration::from_secs(15);
/// The issue's bar: stats on may cost at most this much against stats off.
pub const OVERHEAD_BAR: f64 = 0.02;

/// Usage text for `--help` and flag errors.
pub const USAGE: &str = "\
usage: goro-bench [--suite sched,timers,echo,overhead,latency,hyper] [--procs 1,2]
                  [--filter SUBSTR] [--iters N] [--warmup N] [--timeout SECS] [--json]
                  [--latency-rounds N] [--latency-duration S] [--latency-rate R]
                  [--hyper-rounds N] [--hyper-duration S]

Runs goro-benches' suites on goro and on tokio with the same number of workers, in quick
mode, and prints one table per suite with goro/tokio ratios and their geometric mean.

suites:
  sched    shapes of tokio's benches/rt_multi_threaded.rs; threads not pinned
  timers   arm and cancel 10 000 sleeps; 1 000 tasks x 10 sleeps of 1 ms; not pinned
  echo     TCP echo over loopback, 64 connections x 100 round trips, 1 KiB and 64 B; server
           on the runtime under test (tokio: current_thread at procs=1, multi_thread
           otherwise), clients on a separate tokio current_thread runtime pinned to one
           core, server pinned to the other at procs=1 (GORO_BENCH_PIN=0: no pinning)
  overhead goro with stats(true) vs goro with stats(false): the sched and echo workloads,
           in 10 ABBA rounds; prints on/off ratios, their geomean over sched and the echo
           throughput ratio (not in the default set nor in `all`)
  latency  tail latency of HTTP keep-alive GET / at a fixed rate (goro-loadgen, open loop,
           coordinated omission corrected) while another client's handler blocks its thread
           (/block?ms=20) or spins (/spin?ms=20) every 100 ms; goro procs=1 vs tokio
           current_thread, goro procs=2 vs tokio multi_thread(2); servers are http-hello
           child processes (build with `cargo build --release -p goro-tools`), pinned to
           CPU 1 (1 worker) or CPUs 0-1 (2), the generator to CPU 0; about 1.5 minutes
           (not in the default set nor in `all`; --procs and --filter do not apply)
  hyper    the issue's HTTP bar: the same hyper 1.x server (hyper-hello: a hello route and
           an axum JSON route) on goro and on tokio, loaded closed loop by goro-loadgen
           over 64 keep-alive connections; requests/s and server CPU us per request,
           goro procs=1 vs tokio current_thread, goro procs=2 vs tokio multi_thread(2),
           ABBA rounds, pinned as in `latency`; needs hyper-hello next to goro-bench;
           about 1.7 minutes (not in the default set nor in `all`)

options:
  --suite LIST      comma-separated suites (default sched,timers,echo = all)
  --procs LIST      comma-separated worker counts (default 1,2)
  --filter SUBSTR   only workloads whose name (or suite/name) contains SUBSTR
  --iters N         timed runs per workload and runtime; the median is reported (default 30)
  --warmup N        warm-up runs on each freshly built runtime (default 3)
  --timeout SECS    give up if one run makes no progress for this long (default 30)
  --json            print JSON instead of the table
  --latency-rounds N    latency suite: ABBA rounds, medians reported (default 3)
  --latency-duration S  latency suite: measured seconds per run (default 1.5; +0.5 warm-up)
  --latency-rate R      latency suite: offered requests/s over 64 connections (default 20000)
  --hyper-rounds N       hyper suite: ABBA rounds, medians reported (default 3)
  --hyper-duration S     hyper suite: measured seconds per run (default 3; +1 warm-up)
  --list            list the suites' workloads and exit
  -h, --help        print this help";

/// A suite of goro-benches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Suite {
    Sched,
    Timers,
    Echo,
    /// goro stats on vs off over the sched and echo workloads.
    Overhead,
}

impl Suite {
    /// The goro vs tokio suites, in the order they run: the default, and `--suite all`.
    pub const ALL: [Suite; 3] = [Suite::Sched, Suite::Timers, Suite::Echo];
    /// Every suite, the `overhead` one last.
    pub const EVERY: [Suite; 4] = [Suite::Sched, Suite::Timers, Suite::Echo, Suite::Overhead];

    /// `sched`, `timers`, `echo` or `overhead`.
    pub fn name(self) -> &'static str {
        match self {
            Suite::Sched => "sched",
            Suite::Timers => "timers",
            Suite::Echo => "echo",
            Suite::Overhead => "overhead",
        }
    }

    /// The two runtimes a row compares; its ratio is the first's median over the second's.
    pub fn sides(self) -> [Side; 2] {
        match self {
            Suite::Overhead => [Side::Goro, Side::GoroNoStats],
            _ => [Side::Goro, Side::Tokio],
        }
    }

    /// What a row's ratio is, for headers.
    pub fn ratio_name(self) -> &'static str {
        match self {
            Suite::Overhead => "on/off",
            _ => "goro/tokio",
        }
    }

    /// ABBA rounds per row.
    pub fn rounds(self) -> usize {
        match self {
            Suite::Overhead => OVERHEAD_ROUNDS,
            _ => ROUNDS,
        }
    }

    /// Time after which a cell stops taking more timed runs.
    pub fn cell_budget(self) -> Duration {
        match self {
            Suite::Overhead => OVERHEAD_CELL_BUDGET,
            _ => CELL_BUDGET,
        }
    }

    /// The suite called `name`.
    pub fn from_name(name: &str) -> Option<Suite> {
        Suite::EVERY.into_iter().find(|s| s.name() == name)
    }

    /// The suite's workloads, in order.
    pub fn workloads(self) -> Vec<Workload> {
        match self {
            Suite::Sched => sched::Workload::ALL.map(Workload::Sched).to_vec(),
            Suite::Timers => timers::Workload::ALL.map(Workload::Timers).to_vec(),
            Suite::Echo => echo::Workload::ALL.map(Workload::Echo).to_vec(),
            Suite::Overhead => [Suite::Sched, Suite::Echo]
                .into_iter()
                .flat_map(Suite::workloads)
                .collect(),
        }
    }

    /// One line on what the suite measures and where its threads run, for the table.
    pub fn description(self) -> &'static str {
        match self {
            Suite::Sched => "scheduler suite (shapes of tokio's benches/rt_multi_threaded.rs)",
            Suite::Timers => {
                "timer suite: arm_cancel = arm and cancel 10 000 sleep(10 s) in one task; \
                 sleep_loop = 1 000 tasks x 10 x sleep(1 ms)"
            }
            Suite::Echo => {
                "TCP echo over loopback: one run = 64 connections x 100 round trips; \
                 tokio server = current_thread at procs=1, multi_thread(n) otherwise; \
                 clients = a separate tokio current_thread runtime on its own thread"
            }
            Suite::Overhead => {
                "goro stats(true) vs stats(false): the sched workloads and TCP echo (as in \
                 those suites), runs of both interleaved in ABBA rounds on fresh runtimes"
            }
        }
    }
}

impl fmt::Display for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One workload of any suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Workload {
    Sched(sched::Workload),
    Timers(timers::Workload),
    Echo(echo::Workload),
}

impl Workload {
    /// The goro vs tokio suite it comes from.
    pub fn suite(self) -> Suite {
        match self {
            Workload::Sched(_) => Suite::Sched,
            Workload::Timers(_) => Suite::Timers,
            Workload::Echo(_) => Suite::Echo,
        }
    }

    /// The workload's name within its suite.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Sched(w) => w.name(),
            Workload::Timers(w) => w.name(),
            Workload::Echo(w) => w.name(),
        }
    }

    /// Sets the workload up on `side` with `procs` workers; the returned closure runs one
    /// iteration, and dropping it tears everything down.
    pub fn prepare(self, side: Side, procs: usize) -> io::Result<Box<dyn FnMut()>> {
        fn boxed<P: 'static>(mut p: P, run: fn(&mut P)) -> Box<dyn FnMut()> {
            Box::new(move || run(&mut p))
        }
        fn on_side<W: RuntimeWorkload>(
            w: W,
            side: Side,
            procs: usize,
        ) -> io::Result<Box<dyn FnMut()>> {
            Ok(match side {
                Side::Goro => boxed(w.prepare::<Goro>(procs)?, W::run),
                Side::GoroNoStats => boxed(w.prepare::<GoroNoStats>(procs)?, W::run),
                Side::Tokio => boxed(w.prepare::<tokio::runtime::Runtime>(procs)?, W::run),
            })
        }
        match self {
            Workload::Sched(w) => on_side(w, side, procs),
            Workload::Timers(w) => on_side(w, side, procs),
            Workload::Echo(w) => Ok(boxed(w.prepare(side, procs)?, |p| p.run())),
        }
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.suite(), self.name())
    }
}

/// Parsed command line.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    pub suites: Vec<Suite>,
    pub procs: Vec<usize>,
    pub filter: Option<String>,
    pub iters: usize,
    pub warmup: usize,
    pub timeout: Duration,
    pub json: bool,
    /// The latency suite's settings, if `--suite` names it.
    pub latency: Option<crate::latency::Options>,
    /// The hyper suite's settings, if `--suite` names it.
    pub hyper: Option<crate::hyper_suite::Options>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            suites: Suite::ALL.to_vec(),
            procs: DEFAULT_PROCS.to_vec(),
            filter: None,
            iters: DEFAULT_ITERS,
            warmup: DEFAULT_WARMUP,
            timeout: DEFAULT_TIMEOUT,
            json: false,
            latency: None,
            hyper: None,
        }
    }
}

impl Options {
    /// The workloads of the selected suites that `--filter` selects, suite by suite, each
    /// with the suite that runs it.
    pub fn workloads(&self) -> Vec<(Suite, Workload)> {
        self.suites
            .iter()
            .flat_map(|&s| s.workloads().into_iter().map(move |w| (s, w)))
            .filter(|(_, w)| match &self.filter {
                Some(f) => w.name().contains(f.as_str()) || w.to_string().contains(f.as_str()),
                None => true,
            })
            .collect()
    }
}

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)] // made once per process, never stored in bulk
pub enum Command {
    Run(Options),
    Help,
    List,
}

/// Parses the arguments (without the program name). Accepts `--flag value` and
/// `--flag=value`. Errors are one-line messages meant for the user.
pub fn parse_args<I>(args: I) -> Result<Command, String>
where
    I: IntoIterator<Item = String>,
{
    let mut opts = Options::default();
    let mut latency = crate::latency::Options::default();
    let mut want_latency = false;
    let mut hyper = crate::hyper_suite::Options::default();
    let mut want_hyper = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            match inline.clone().or_else(|| args.next()) {
                Some(v) => Ok(v),
                None => Err(format!("{name} needs a value")),
            }
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--list" => return Ok(Command::List),
            "--json" if inline.is_none() => opts.json = true,
            "--suite" | "--suites" => {
                (opts.suites, want_latency, want_hyper) = parse_suites(&value("--suite")?)?
            }
            "--latency-rounds" => {
                latency.rounds = crate::cli::number(&flag, &value(&flag)?, 1, 100)?
            }
            "--latency-duration" => {
                let secs = crate::cli::number(&flag, &value(&flag)?, 0.1, 60.0)?;
                latency.duration = Duration::from_secs_f64(secs);
            }
            "--latency-rate" => {
                latency.rate = crate::cli::number(&flag, &value(&flag)?, 100.0, 1_000_000.0)?
            }
            "--hyper-rounds" => hyper.rounds = crate::cli::number(&flag, &value(&flag)?, 1, 100)?,
            "--hyper-duration" => {
                let secs = crate::cli::number(&flag, &value(&flag)?, 0.1, 60.0)?;
                hyper.duration = Duration::from_secs_f64(secs);
            }
            "--procs" => opts.procs = parse_procs(&value("--procs")?)?,
            "--filter" => opts.filter = Some(value("--filter")?),
            "--iters" => opts.iters = parse_count("--iters", &value("--iters")?, 1)?,
            "--warmup" => opts.warmup = parse_count("--warmup", &value("--warmup")?, 0)?,
            "--timeout" => {
                let secs = parse_count("--timeout", &value("--timeout")?, 1)?;
                opts.timeout = Duration::from_secs(secs as u64);
            }
            "--json" => return Err("--json takes no value".to_string()),
            _ if flag.starts_with('-') => return Err(format!("unknown flag `{flag}`")),
            _ => return Err(format!("unexpected argument `{arg}`")),
        }
    }
    opts.latency = want_latency.then_some(latency);
    opts.hyper = want_hyper.then_some(hyper);
    if !opts.suites.is_empty() && opts.workloads().is_empty() {
        let names: Vec<_> = opts
            .suites
            .iter()
            .flat_map(|s| s.workloads())
            .map(|w| w.to_string())
            .collect();
        return Err(format!(
            "--filter `{}` matches no workload (workloads: {})",
            opts.filter.as_deref().unwrap_or_default(),
            names.join(", ")
        ));
    }
    Ok(Command::Run(opts))
}

fn parse_count(flag: &str, s: &str, min: usize) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if n >= min => Ok(n),
        Ok(_) => Err(format!("{flag} must be at least {min}, got `{s}`")),
        Err(_) => Err(format!("{flag} expects a whole number, got `{s}`")),
    }
}

/// The suites named in `s`, and whether `latency` and `hyper` are among them.
fn parse_suites(s: &str) -> Result<(Vec<Suite>, bool, bool), String> {
    let mut suites = Vec::new();
    let mut latency = false;
    let mut hyper = false;
    for part in s.split(',') {
        let part = part.trim();
        let suite = if part == "latency" {
            latency = true;
            vec![]
        } else if part == "hyper" {
            hyper = true;
            vec![]
        } else if part == "all" {
            Suite::ALL.to_vec()
        } else {
            vec![Suite::from_name(part).ok_or_else(|| {
                format!(
                    "--suite: unknown suite `{part}` (suites: sched, timers, echo, overhead, \
                     latency, hyper, all)"
                )
            })?]
        };
        for s in suite {
            if !suites.contains(&s) {
                suites.push(s);
            }
        }
    }
    Ok((suites, latency, hyper))
}

fn parse_procs(s: &str) -> Result<Vec<usize>, String> {
    let mut procs = Vec::new();
    for part in s.split(',') {
        let n = parse_count("--procs", part, 1)?;
        if !procs.contains(&n) {
            procs.push(n);
        }
    }
    Ok(procs)
}

/// Timings of one workload on one runtime.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub median: Duration,
    pub min: Duration,
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
    pub suite: Suite,
    pub workload: Workload,
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
    pub options: Options,
    pub cores: usize,
    /// The share of all CPUs busy with other work in the 250 ms before the run started
    /// (Linux, from `/proc/stat`), to spot a machine that is not quiet.
    pub busy_at_start: Option<f64>,
    /// `/proc/loadavg` (1, 5 and 15 minutes) at the start and at the end of the run.
    pub loadavg: [Option<String>; 2],
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

/// The 1, 5 and 15 minute load averages from `/proc/loadavg`, if there is one.
pub fn loadavg() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let fields: Vec<&str> = text.split_whitespace().take(3).collect();
    (fields.len() == 3).then(|| fields.join(" "))
}

/// Geometric mean of positive numbers; `None` for an empty slice.
pub fn geomean(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let log_sum: f64 = xs.iter().map(|x| x.ln()).sum();
    Some((log_sum / xs.len() as f64).exp())
}

/// The share (0 to 1) of all CPUs' time spent not idle over the next `window`, from
/// `/proc/stat`; `None` where there is no such file.
pub fn cpu_busy(window: Duration) -> Option<f64> {
    fn sample() -> Option<(u64, u64)> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let fields: Vec<u64> = stat
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .take(8)
            .map(|f| f.parse().ok())
            .collect::<Option<_>>()?;
        // user nice system idle iowait irq softirq steal
        let idle = fields.get(3)? + fields.get(4)?;
        Some((fields.iter().sum(), idle))
    }
    let (t0, i0) = sample()?;
    thread::sleep(window);
    let (t1, i1) = sample()?;
    let total = t1.checked_sub(t0).filter(|&t| t > 0)?;
    let idle = i1.saturating_sub(i0).min(total);
    Some((total - idle) as f64 / total as f64)
}

/// The machine's core count as the process sees it.
pub fn available_cores() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
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

/// Ends the process if the current cell makes no progress for too long.
pub struct Watchdog {
    state: Arc<Mutex<WatchState>>,
}

struct WatchState {
    label: Option<String>,
    last: Instant,
}

impl Watchdog {
    /// Starts the watchdog thread.
    pub fn start(timeout: Duration) -> Watchdog {
        let state = Arc::new(Mutex::new(WatchState {
            label: None,
            last: Instant::now(),
        }));
        let watched = state.clone();
        let tick = (timeout / 10).clamp(Duration::from_millis(10), Duration::from_millis(500));
        thread::Builder::new()
            .name("goro-bench-watchdog".into())
            .spawn(move || loop {
                thread::sleep(tick);
                let st = watched.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(label) = &st.label {
                    if st.last.elapsed() > timeout {
                        eprintln!(
                            "goro-bench: {label}: no progress for {}s (a run, or the runtime's \
                             start-up or shutdown, never finished); giving up",
                            timeout.as_secs()
                        );
                        std::process::exit(3);
                    }
                }
            })
            .expect("spawning the watchdog thread");
        Watchdog { state }
    }

    fn with(&self, f: impl FnOnce(&mut WatchState)) {
        f(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// A new cell starts.
    pub fn enter(&self, label: &str) {
        self.with(|st| {
            st.label = Some(label.to_string());
            st.last = Instant::now();
        });
    }

    /// The current cell made progress.
    pub fn progress(&self) {
        self.with(|st| st.last = Instant::now());
    }

    /// Nothing to watch any more.
    pub fn idle(&self) {
        self.with(|st| st.label = None);
    }
}

/// Formats a duration with a unit that keeps three or four significant digits.
pub fn format_duration(d: Duration) -> String {
    let ns = d.as_nanos() as f64;
    if ns < 1e3 {
        format!("{ns:.0} ns")
    } else if ns < 1e6 {
        format!("{:.1} µs", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.2} s", ns / 1e9)
    }
}

fn cell_text(outcome: &Outcome, iters: usize) -> String {
    match outcome {
        Ok(s) if s.runs < iters => format!("{}*", format_duration(s.median)),
        Ok(s) => format_duration(s.median),
        Err(_) => "FAILED".to_string(),
    }
}

/// How the suite's threads were placed, one line per processor count.
fn placement_note(suite: Suite, procs: &[usize]) -> String {
    let echo = || {
        procs
            .iter()
            .map(|&p| format!("procs={p}: {}", Placement::for_procs(p).describe()))
            .collect::<Vec<_>>()
            .join("; ")
    };
    match suite {
        Suite::Sched | Suite::Timers => "threads not pinned".to_string(),
        Suite::Echo => echo(),
        Suite::Overhead => format!("sched: threads not pinned; echo: {}", echo()),
    }
}

/// A ratio as the suite's table shows it: `overhead` needs the third decimal.
fn ratio_text(suite: Suite, ratio: Option<f64>) -> String {
    match (ratio, suite) {
        (None, _) => "-".to_string(),
        (Some(r), Suite::Overhead) => format!("{r:.3}"),
        (Some(r), _) => format!("{r:.2}"),
    }
}

/// `cost` (a fraction) as a signed percentage, with whether it is within [`OVERHEAD_BAR`].
fn cost_text(cost: f64) -> String {
    let verdict = if cost <= OVERHEAD_BAR {
        "within"
    } else {
        "OVER"
    };
    format!(
        "stats cost {:+.1}% ({verdict} the {:.0}% bar)",
        cost * 100.0,
        OVERHEAD_BAR * 100.0
    )
}

/// The summary lines under a suite's table: geomeans per processor count, and for
/// `overhead` the echo throughput ratios and what the stats cost.
fn summary_lines(report: &Report, suite: Suite) -> Vec<String> {
    let mut lines = Vec::new();
    for &procs in &report.options.procs {
        let geomean = report.geomean(suite, procs);
        let text = match geomean {
            Some((g, n)) => format!("{}  (over {n} workloads)", ratio_text(suite, Some(g))),
            None => "-".to_string(),
        };
        if suite != Suite::Overhead {
            lines.push(format!(
                "geomean goro/tokio ({suite}) at procs={procs}: {text}"
            ));
            continue;
        }
        let cost = geomean.map_or_else(String::new, |(g, _)| format!(": {}", cost_text(g - 1.0)));
        lines.push(format!(
            "geomean stats on/off (sched workloads) at procs={procs}: {text}{cost}"
        ));
        for (w, throughput) in report.echo_throughput(procs) {
            let cost = throughput.map_or_else(String::new, |t| format!(": {}", cost_text(1.0 - t)));
            lines.push(format!(
                "echo {w} throughput stats on/off at procs={procs}: {}{cost}",
                ratio_text(suite, throughput)
            ));
        }
    }
    lines
}

/// Renders the report as one text table per suite, each followed by its geometric means.
pub fn render_table(report: &Report) -> String {
    let opts = &report.options;
    let mut out = String::new();
    let rounds = if opts.suites.contains(&Suite::Overhead) {
        format!("{ROUNDS} ({OVERHEAD_ROUNDS} for overhead)")
    } else {
        ROUNDS.to_string()
    };
    let _ = writeln!(
        out,
        "goro-bench quick mode: median of {} runs per cell, in {rounds} ABBA rounds on fresh \
         runtimes with up to {} warm-up runs each; {} cores available",
        opts.iters, opts.warmup, report.cores
    );
    for &suite in &opts.suites {
        let rows: Vec<&Row> = report.rows.iter().filter(|r| r.suite == suite).collect();
        if rows.is_empty() {
            continue;
        }
        // `overhead` mixes suites: its rows are named `sched/...` and `echo/...`.
        let label = |row: &Row| match suite {
            Suite::Overhead => row.workload.to_string(),
            _ => row.workload.name().to_string(),
        };
        let width = rows
            .iter()
            .map(|r| label(r).len())
            .max()
            .unwrap_or(0)
            .max(24);
        let rule = "-".repeat(width + 1 + 5 + 1 + 12 + 1 + 12 + 1 + 11);
        let [a, b] = suite.sides().map(Side::name);
        let _ = writeln!(out);
        let _ = writeln!(out, "== {suite}: {}", suite.description());
        let _ = writeln!(out, "   placement: {}", placement_note(suite, &opts.procs));
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<width$} {:>5} {:>12} {:>12} {:>11}",
            "workload",
            "procs",
            a,
            b,
            suite.ratio_name()
        );
        let _ = writeln!(out, "{rule}");
        let mut last_procs = None;
        for row in &rows {
            if last_procs.is_some_and(|p| p != row.procs) {
                let _ = writeln!(out);
            }
            last_procs = Some(row.procs);
            let [cell_a, cell_b] = &row.outcomes;
            let _ = writeln!(
                out,
                "{:<width$} {:>5} {:>12} {:>12} {:>11}",
                label(row),
                row.procs,
                cell_text(cell_a, opts.iters),
                cell_text(cell_b, opts.iters),
                ratio_text(suite, row.ratio())
            );
        }
        let _ = writeln!(out, "{rule}");
        for line in summary_lines(report, suite) {
            let _ = writeln!(out, "{line}");
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "cores (available_parallelism): {}", report.cores);
    if let Some(busy) = report.busy_at_start {
        let note = if busy > 0.1 {
            " (something else was running: figures are noisy)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "CPU busy just before the run: {:.0}%{note}",
            busy * 100.0
        );
    }
    if let [Some(start), Some(end)] = &report.loadavg {
        let _ = writeln!(
            out,
            "load average (1 5 15 min): {start} at start, {end} at end"
        );
    }
    if opts.suites.iter().any(|&s| s != Suite::Overhead) {
        let _ = writeln!(out, "goro/tokio < 1 means goro is faster.");
    }
    if opts.suites.contains(&Suite::Overhead) {
        let _ = writeln!(
            out,
            "on/off = time with stats(true) / time with stats(false): > 1 means the stats cost time."
        );
    }

    let short = report.rows.iter().any(|r| {
        r.outcomes
            .iter()
            .any(|o| matches!(o, Ok(s) if s.runs < opts.iters))
    });
    if short {
        let _ = writeln!(
            out,
            "* fewer runs than --iters: the cell hit its {}s budget ({}s for overhead)",
            CELL_BUDGET.as_secs(),
            OVERHEAD_CELL_BUDGET.as_secs()
        );
    }
    for row in &report.rows {
        for (side, outcome) in row.sides() {
            if let Err(e) = outcome {
                let _ = writeln!(
                    out,
                    "FAILED {} procs={} {}: {e}",
                    row.workload,
                    row.procs,
                    side.name()
                );
            }
        }
    }
    out
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_outcome(outcome: &Outcome) -> String {
    match outcome {
        Ok(s) => format!(
            "{{\"median_ns\":{},\"min_ns\":{},\"max_ns\":{},\"runs\":{}}}",
            s.median.as_nanos(),
            s.min.as_nanos(),
            s.max.as_nanos(),
            s.runs
        ),
        Err(e) => format!("{{\"error\":{}}}", json_string(e)),
    }
}

fn json_f64(x: Option<f64>) -> String {
    match x {
        Some(x) if x.is_finite() => format!("{x:.4}"),
        _ => "null".to_string(),
    }
}

/// Renders the report as one JSON object: the run's settings and one entry per suite with
/// its rows and geometric means.
pub fn render_json(report: &Report) -> String {
    let opts = &report.options;
    let suites: Vec<String> = opts
        .suites
        .iter()
        .map(|&suite| {
            let rows: Vec<String> = report
                .rows
                .iter()
                .filter(|r| r.suite == suite)
                .map(|r| {
                    let name = match suite {
                        Suite::Overhead => r.workload.to_string(),
                        _ => r.workload.name().to_string(),
                    };
                    let sides: String = r
                        .sides()
                        .map(|(side, o)| {
                            format!("{}:{},", json_string(side.name()), json_outcome(o))
                        })
                        .collect();
                    format!(
                        "{{\"workload\":{},\"procs\":{},{sides}\"ratio\":{}}}",
                        json_string(&name),
                        r.procs,
                        json_f64(r.ratio())
                    )
                })
                .collect();
            let per_procs = |value: &dyn Fn(usize) -> String| {
                let entries: Vec<String> = opts
                    .procs
                    .iter()
                    .map(|&p| format!("{}:{}", json_string(&p.to_string()), value(p)))
                    .collect();
                format!("{{{}}}", entries.join(","))
            };
            let geomeans = per_procs(&|p| json_f64(report.geomean(suite, p).map(|(g, _)| g)));
            let echo = match suite {
                Suite::Overhead => {
                    let echo = per_procs(&|p| {
                        let sizes: Vec<String> = report
                            .echo_throughput(p)
                            .into_iter()
                            .map(|(w, t)| format!("{}:{}", json_string(w.name()), json_f64(t)))
                            .collect();
                        format!("{{{}}}", sizes.join(","))
                    });
                    format!(",\"echo_throughput_ratio\":{echo}")
                }
                _ => String::new(),
            };
            format!(
                "{{\"suite\":{},\"placement\":{},\"rows\":[{}],\"geomean_ratio\":{geomeans}{echo}}}",
                json_string(suite.name()),
                json_string(&placement_note(suite, &opts.procs)),
                rows.join(","),
            )
        })
        .collect();
    format!(
        "{{\"mode\":\"quick\",\"iters\":{},\"warmup\":{},\"cores\":{},\"busy_at_start\":{},\
         \"loadavg\":[{}],\"suites\":[{}]}}",
        opts.iters,
        opts.warmup,
        report.cores,
        json_f64(report.busy_at_start),
        report
            .loadavg
            .iter()
            .map(|l| l.as_deref().map_or_else(|| "null".to_string(), json_string))
            .collect::<Vec<_>>()
            .join(","),
        suites.join(",")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn run_opts(s: &str) -> Options {
        match parse_args(args(s)) {
            Ok(Command::Run(o)) => o,
            other => panic!("{s}: {other:?}"),
        }
    }

    /// A cell whose every run took `d`.
    fn sample(d: Duration) -> Outcome {
        Ok(Sample {
            median: d,
            min: d,
            max: d,
            runs: DEFAULT_ITERS,
        })
    }

    fn row(suite: Suite, workload: Workload, procs: usize, a: Outcome, b: Outcome) -> Row {
        Row {
            suite,
            workload,
            procs,
            outcomes: [a, b],
        }
    }

    #[test]
    fn defaults() {
        let o = run_opts("");
        assert_eq!(o, Options::default());
        assert_eq!(o.suites, Suite::ALL.to_vec());
        assert_eq!(o.workloads().len(), 6 + 2 + 2);
    }

    #[test]
    fn flags() {
        let o = run_opts("--procs 2,1,2 --filter spawn --iters 5 --warmup=0 --json --timeout=9");
        assert_eq!(o.procs, vec![2, 1]);
        assert_eq!(o.iters, 5);
        assert_eq!(o.warmup, 0);
        assert!(o.json);
        assert_eq!(o.timeout, Duration::from_secs(9));
        assert_eq!(o.workloads().len(), 4);
        let o = run_opts("--suite echo,timers --filter 64B");
        assert_eq!(o.suites, vec![Suite::Echo, Suite::Timers]);
        assert_eq!(
            o.workloads(),
            vec![(Suite::Echo, Workload::Echo(echo::Workload::B64))]
        );
        let o = run_opts("--suite=timers --filter timers/sleep");
        assert_eq!(
            o.workloads(),
            vec![(Suite::Timers, Workload::Timers(timers::Workload::SleepLoop))]
        );
        let o = run_opts("--suite overhead");
        assert_eq!(o.suites, vec![Suite::Overhead]);
        assert_eq!(o.workloads().len(), 6 + 2);
        assert!(o.workloads().iter().all(|(s, _)| *s == Suite::Overhead));
        let o = run_opts("--suite overhead --filter echo/");
        assert_eq!(
            o.workloads(),
            echo::Workload::ALL.map(|w| (Suite::Overhead, Workload::Echo(w)))
        );
        assert_eq!(run_opts("--suite all").suites, Suite::ALL.to_vec());
        assert_eq!(parse_args(args("--help")), Ok(Command::Help));
        assert_eq!(parse_args(args("--list")), Ok(Command::List));
    }

    #[test]
    fn bad_flags() {
        for bad in [
            "--procs",
            "--procs 0",
            "--procs 1,x",
            "--procs 1,,2",
            "--iters 0",
            "--iters -3",
            "--bogus",
            "extra",
            "--filter nothing_matches_this",
            "--json=yes",
            "--suite",
            "--suite bogus",
            "--suite sched,",
            "--suite echo --filter yield",
            "--suite overhead --filter timers",
            "--suite latency --latency-rounds 0",
            "--suite latency --latency-duration x",
            "--suite latency --latency-rate 5",
            "--suite hyper --hyper-rounds 0",
            "--suite hyper --hyper-duration 0",
        ] {
            assert!(parse_args(args(bad)).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn latency_suite_flags() {
        let o = run_opts("--suite latency");
        assert!(o.suites.is_empty());
        assert_eq!(o.latency, Some(crate::latency::Options::default()));
        let o = run_opts(
            "--suite echo,latency --latency-rounds 5 --latency-duration 2.5 --latency-rate 9000",
        );
        assert_eq!(o.suites, vec![Suite::Echo]);
        let lat = o.latency.unwrap();
        assert_eq!((lat.rounds, lat.rate), (5, 9000.0));
        assert_eq!(lat.duration, Duration::from_millis(2500));
        assert_eq!(run_opts("").latency, None, "not in the default set");
        assert_eq!(run_opts("--suite all").latency, None, "nor in all");
    }

    #[test]
    fn hyper_suite_flags() {
        let o = run_opts("--suite hyper");
        assert!(o.suites.is_empty());
        assert_eq!(o.hyper, Some(crate::hyper_suite::Options::default()));
        let o = run_opts("--suite sched,hyper --hyper-rounds 5 --hyper-duration 2.5");
        assert_eq!(o.suites, vec![Suite::Sched]);
        let h = o.hyper.unwrap();
        assert_eq!((h.rounds, h.duration), (5, Duration::from_millis(2500)));
        assert_eq!(run_opts("").hyper, None, "not in the default set");
        assert_eq!(run_opts("--suite all").hyper, None, "nor in all");
    }

    #[test]
    fn sample_and_geomean() {
        let ms = Duration::from_millis;
        let s = Sample::from_runs(vec![ms(3), ms(1), ms(2)]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.runs), (ms(2), ms(1), ms(3), 3));
        assert_eq!(Sample::from_runs(vec![ms(1), ms(3)]).unwrap().median, ms(2));
        assert!(Sample::from_runs(vec![]).is_none());
        let g = geomean(&[2.0, 0.5]).unwrap();
        assert!((g - 1.0).abs() < 1e-12);
        assert!(geomean(&[]).is_none());
    }

    #[test]
    fn renders() {
        let ms = Duration::from_millis;
        let row = |w: Workload, procs, a, b| row(w.suite(), w, procs, a, b);
        let report = Report {
            options: Options::default(),
            cores: 2,
            busy_at_start: Some(0.5),
            loadavg: [Some("0.10 0.20 0.30".into()), None],
            rows: vec![
                row(
                    Workload::Sched(sched::Workload::YieldMany),
                    1,
                    sample(ms(2)),
                    sample(ms(1)),
                ),
                row(
                    Workload::Sched(sched::Workload::PingPong),
                    2,
                    Err("panicked: \"boom\"".into()),
                    sample(ms(1)),
                ),
                row(
                    Workload::Echo(echo::Workload::B64),
                    1,
                    sample(ms(1)),
                    sample(ms(4)),
                ),
            ],
        };
        let table = render_table(&report);
        assert!(table.contains("yield_many"), "{table}");
        assert!(table.contains("2.00"), "{table}");
        assert!(
            table.contains("FAILED sched/ping_pong procs=2 goro"),
            "{table}"
        );
        assert!(table.contains("== echo"), "{table}");
        assert!(
            table.contains("geomean goro/tokio (echo) at procs=1: 0.25"),
            "{table}"
        );
        assert!(!table.contains("== timers"), "{table}");
        assert!(
            table.contains("CPU busy just before the run: 50% (something else"),
            "{table}"
        );
        let json = render_json(&report);
        assert!(json.contains("\"ratio\":2.0000"), "{json}");
        assert!(
            json.contains("\"workload\":\"yield_many\",\"procs\":1,\"goro\":{"),
            "{json}"
        );
        assert!(json.contains("\"tokio\":{\"median_ns\":1000000,"), "{json}");
        assert!(
            json.contains("\"loadavg\":[\"0.10 0.20 0.30\",null]"),
            "{json}"
        );
        assert!(json.contains("\\\"boom\\\""), "{json}");
        assert!(
            json.contains("\"geomean_ratio\":{\"1\":2.0000,\"2\":null}"),
            "{json}"
        );
        assert!(
            json.contains("\"geomean_ratio\":{\"1\":0.2500,\"2\":null}"),
            "{json}"
        );
        assert!(report.any_failed());
    }

    #[test]
    fn renders_overhead() {
        let us = Duration::from_micros;
        let row = |w, on, off| row(Suite::Overhead, w, 2, sample(us(on)), sample(us(off)));
        let report = Report {
            options: run_opts("--suite overhead --procs 2"),
            cores: 2,
            busy_at_start: None,
            loadavg: [None, None],
            rows: vec![
                row(Workload::Sched(sched::Workload::YieldMany), 1010, 1000),
                row(Workload::Sched(sched::Workload::PingPong), 1040, 1000),
                row(Workload::Echo(echo::Workload::Kib1), 1000, 1000),
                row(Workload::Echo(echo::Workload::B64), 1050, 1000),
            ],
        };
        // The sched geomean leaves the echo rows out.
        let (g, n) = report.geomean(Suite::Overhead, 2).unwrap();
        assert_eq!(n, 2);
        assert!((g - (1.01f64 * 1.04).sqrt()).abs() < 1e-9);
        let echo = report.echo_throughput(2);
        assert_eq!(echo.len(), 2);
        assert!((echo[1].1.unwrap() - 1.0 / 1.05).abs() < 1e-9);

        let table = render_table(&report);
        assert!(table.contains("== overhead"), "{table}");
        assert!(table.contains("goro-nostats"), "{table}");
        assert!(table.contains("sched/yield_many"), "{table}");
        assert!(
            table.contains("geomean stats on/off (sched workloads) at procs=2: 1.025"),
            "{table}"
        );
        assert!(
            table.contains("stats cost +2.5% (OVER the 2% bar)"),
            "{table}"
        );
        assert!(
            table.contains(
                "echo 1KiB throughput stats on/off at procs=2: 1.000: stats cost +0.0% (within"
            ),
            "{table}"
        );
        assert!(
            table.contains("echo 64B throughput stats on/off at procs=2: 0.952"),
            "{table}"
        );
        assert!(!table.contains("goro/tokio"), "{table}");
        let json = render_json(&report);
        assert!(
            json.contains("\"workload\":\"sched/ping_pong\",\"procs\":2,\"goro\":{"),
            "{json}"
        );
        assert!(
            json.contains("\"goro-nostats\":{\"median_ns\":1000000,"),
            "{json}"
        );
        assert!(json.contains("\"geomean_ratio\":{\"2\":1.0249}"), "{json}");
        assert!(
            json.contains("\"echo_throughput_ratio\":{\"2\":{\"1KiB\":1.0000,\"64B\":0.9524}}"),
            "{json}"
        );
    }
}
