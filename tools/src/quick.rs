//! Quick mode of the scheduler suite, for `goro-bench`.
//!
//! For every selected processor count and workload, both runtimes are timed in two rounds in
//! ABBA order (goro then tokio, then tokio then goro). Each round builds a fresh runtime with
//! that many workers, warms it up, times its share of `--iters` runs and shuts it down, so
//! only one runtime is ever alive and neither always goes first. A runtime's figure is the
//! median of all its runs. A cell whose runs are slow stops early once it has spent
//! [`CELL_BUDGET`] (keeping at least [`MIN_RUNS`] runs per round), so that one pathological
//! workload cannot make the whole suite take minutes. A watchdog thread ends the process with
//! a clear message if a single run (or a runtime's start-up or shutdown) makes no progress for
//! `--timeout` seconds; a panic marks that cell as failed and the suite goes on. Threads are
//! not pinned.

use std::fmt::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use goro_benches::sched::Workload;
use goro_benches::BenchRuntime;

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

/// Usage text for `--help` and flag errors.
pub const USAGE: &str = "\
usage: goro-bench [--procs 1,2] [--filter SUBSTR] [--iters N] [--warmup N] [--timeout SECS] [--json]

Runs the scheduler suite (shapes of tokio's benches/rt_multi_threaded.rs) on goro and on
tokio with the same number of workers, in quick mode, and prints goro/tokio ratios.

options:
  --procs LIST      comma-separated worker counts (default 1,2)
  --filter SUBSTR   only workloads whose name contains SUBSTR
  --iters N         timed runs per workload and runtime; the median is reported (default 30)
  --warmup N        warm-up runs on each freshly built runtime (default 3)
  --timeout SECS    give up if one run makes no progress for this long (default 30)
  --json            print JSON instead of the table
  --list            list the workloads and exit
  -h, --help        print this help";

/// Parsed command line.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    pub procs: Vec<usize>,
    pub filter: Option<String>,
    pub iters: usize,
    pub warmup: usize,
    pub timeout: Duration,
    pub json: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            procs: DEFAULT_PROCS.to_vec(),
            filter: None,
            iters: DEFAULT_ITERS,
            warmup: DEFAULT_WARMUP,
            timeout: DEFAULT_TIMEOUT,
            json: false,
        }
    }
}

impl Options {
    /// The workloads selected by `--filter`.
    pub fn workloads(&self) -> Vec<Workload> {
        Workload::ALL
            .into_iter()
            .filter(|w| match &self.filter {
                Some(f) => w.name().contains(f.as_str()),
                None => true,
            })
            .collect()
    }
}

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq)]
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
    if opts.workloads().is_empty() {
        let names: Vec<_> = Workload::ALL.iter().map(|w| w.name()).collect();
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

/// One row of the table: a workload at a processor count on both runtimes.
#[derive(Clone, Debug)]
pub struct Row {
    pub workload: Workload,
    pub procs: usize,
    pub goro: Outcome,
    pub tokio: Outcome,
}

impl Row {
    /// goro median / tokio median, if both ran.
    pub fn ratio(&self) -> Option<f64> {
        match (&self.goro, &self.tokio) {
            (Ok(g), Ok(t)) if !t.median.is_zero() => {
                Some(g.median.as_secs_f64() / t.median.as_secs_f64())
            }
            _ => None,
        }
    }
}

/// The whole run.
#[derive(Clone, Debug)]
pub struct Report {
    pub options: Options,
    pub cores: usize,
    pub rows: Vec<Row>,
}

impl Report {
    /// Geometric mean of goro/tokio over the rows at `procs` that have a ratio, with the
    /// number of rows it covers.
    pub fn geomean(&self, procs: usize) -> Option<(f64, usize)> {
        let ratios: Vec<f64> = self
            .rows
            .iter()
            .filter(|r| r.procs == procs)
            .filter_map(Row::ratio)
            .collect();
        geomean(&ratios).map(|g| (g, ratios.len()))
    }

    /// Whether any cell failed.
    pub fn any_failed(&self) -> bool {
        self.rows
            .iter()
            .any(|r| r.goro.is_err() || r.tokio.is_err())
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

/// The machine's core count as the process sees it.
pub fn available_cores() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs the suite. `progress` is told about each cell before it starts (for a line on
/// stderr); the watchdog exits the process if a run hangs.
pub fn run(opts: &Options, mut progress: impl FnMut(&str)) -> Report {
    let watchdog = Watchdog::start(opts.timeout);
    let mut rows = Vec::new();
    for &procs in &opts.procs {
        for workload in opts.workloads() {
            progress(&format!("{workload} procs={procs}"));
            rows.push(measure_row(workload, procs, opts, &watchdog));
        }
    }
    watchdog.idle();
    Report {
        options: opts.clone(),
        cores: available_cores(),
        rows,
    }
}

/// Times `workload` at `procs` workers on both runtimes.
///
/// The timed runs are split into [`ROUNDS`] rounds in ABBA order (goro, tokio, then tokio,
/// goro), each on a freshly built and warmed-up runtime, so that neither runtime always
/// goes first; a runtime's figure is the median of all its runs. Only one runtime is alive
/// at a time.
pub fn measure_row(workload: Workload, procs: usize, opts: &Options, watchdog: &Watchdog) -> Row {
    let mut goro = Ok(Vec::new());
    let mut tokio = Ok(Vec::new());
    let rounds = ROUNDS.min(opts.iters);
    for round in 0..rounds {
        // Runs for this round: spread `iters` as evenly as possible.
        let iters = opts.iters / rounds + usize::from(round < opts.iters % rounds);
        let session = Session {
            workload,
            procs,
            iters,
            warmup: opts.warmup,
            budget: CELL_BUDGET / rounds as u32,
            watchdog,
        };
        if round % 2 == 0 {
            session.extend::<goro::Runtime>(&mut goro);
            session.extend::<tokio::runtime::Runtime>(&mut tokio);
        } else {
            session.extend::<tokio::runtime::Runtime>(&mut tokio);
            session.extend::<goro::Runtime>(&mut goro);
        }
    }
    let summarise = |runs: Result<Vec<Duration>, String>| {
        runs.and_then(|r| Sample::from_runs(r).ok_or_else(|| "no runs".to_string()))
    };
    Row {
        workload,
        procs,
        goro: summarise(goro),
        tokio: summarise(tokio),
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
    /// Runs the session on `R` and appends its run times to `acc`, unless `acc` already
    /// holds an error (the runtime failed in an earlier round). A panic becomes an error.
    fn extend<R: BenchRuntime>(&self, acc: &mut Result<Vec<Duration>, String>) {
        let Ok(runs) = acc else { return };
        let watchdog = self.watchdog;
        watchdog.enter(&format!(
            "{} on {} with {} workers",
            self.workload,
            R::NAME,
            self.procs
        ));
        let result = panic::catch_unwind(AssertUnwindSafe(|| -> Result<(), String> {
            let mut prepared = self
                .workload
                .prepare::<R>(self.procs)
                .map_err(|e| format!("building the runtime: {e}"))?;
            watchdog.progress();

            let warm_start = Instant::now();
            for i in 0..self.warmup {
                if i > 0 && warm_start.elapsed() > WARMUP_BUDGET {
                    break;
                }
                prepared.run();
                watchdog.progress();
            }

            let start = Instant::now();
            for i in 0..self.iters {
                if i >= MIN_RUNS && start.elapsed() > self.budget {
                    break;
                }
                let t = Instant::now();
                prepared.run();
                runs.push(t.elapsed());
                watchdog.progress();
            }

            drop(prepared);
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

/// Renders the report as one text table followed by the geometric means.
pub fn render_table(report: &Report) -> String {
    let opts = &report.options;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "goro-bench quick mode: scheduler suite (shapes of tokio's benches/rt_multi_threaded.rs)"
    );
    let _ = writeln!(
        out,
        "median of {} runs per cell, in {ROUNDS} ABBA rounds on fresh runtimes with up to {} \
         warm-up runs each; {} cores available; threads not pinned",
        opts.iters, opts.warmup, report.cores
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<24} {:>5} {:>12} {:>12} {:>11}",
        "workload", "procs", "goro", "tokio", "goro/tokio"
    );
    let _ = writeln!(out, "{}", "-".repeat(24 + 1 + 5 + 1 + 12 + 1 + 12 + 1 + 11));
    let mut last_procs = None;
    for row in &report.rows {
        if last_procs.is_some_and(|p| p != row.procs) {
            let _ = writeln!(out);
        }
        last_procs = Some(row.procs);
        let ratio = row
            .ratio()
            .map_or_else(|| "-".to_string(), |r| format!("{r:.2}"));
        let _ = writeln!(
            out,
            "{:<24} {:>5} {:>12} {:>12} {:>11}",
            row.workload.name(),
            row.procs,
            cell_text(&row.goro, opts.iters),
            cell_text(&row.tokio, opts.iters),
            ratio
        );
    }
    let _ = writeln!(out, "{}", "-".repeat(24 + 1 + 5 + 1 + 12 + 1 + 12 + 1 + 11));
    for &procs in &opts.procs {
        let text = match report.geomean(procs) {
            Some((g, n)) => format!("{g:.2}  (over {n} workloads)"),
            None => "-".to_string(),
        };
        let _ = writeln!(out, "geomean goro/tokio at procs={procs}: {text}");
    }
    let _ = writeln!(out, "cores (available_parallelism): {}", report.cores);
    let _ = writeln!(out, "goro/tokio < 1 means goro is faster.");

    let short = report
        .rows
        .iter()
        .flat_map(|r| [&r.goro, &r.tokio])
        .any(|o| matches!(o, Ok(s) if s.runs < opts.iters));
    if short {
        let _ = writeln!(
            out,
            "* fewer runs than --iters: the cell hit its {}s budget",
            CELL_BUDGET.as_secs()
        );
    }
    for row in &report.rows {
        for (name, outcome) in [("goro", &row.goro), ("tokio", &row.tokio)] {
            if let Err(e) = outcome {
                let _ = writeln!(
                    out,
                    "FAILED {} procs={} {name}: {e}",
                    row.workload.name(),
                    row.procs
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

/// Renders the report as one JSON object.
pub fn render_json(report: &Report) -> String {
    let opts = &report.options;
    let rows: Vec<String> = report
        .rows
        .iter()
        .map(|r| {
            format!(
                "{{\"workload\":{},\"procs\":{},\"goro\":{},\"tokio\":{},\"ratio\":{}}}",
                json_string(r.workload.name()),
                r.procs,
                json_outcome(&r.goro),
                json_outcome(&r.tokio),
                json_f64(r.ratio())
            )
        })
        .collect();
    let geomeans: Vec<String> = opts
        .procs
        .iter()
        .map(|&p| {
            format!(
                "{}:{}",
                json_string(&p.to_string()),
                json_f64(report.geomean(p).map(|(g, _)| g))
            )
        })
        .collect();
    format!(
        "{{\"suite\":\"sched\",\"mode\":\"quick\",\"iters\":{},\"warmup\":{},\"cores\":{},\
         \"pinned\":false,\"rows\":[{}],\"geomean_ratio\":{{{}}}}}",
        opts.iters,
        opts.warmup,
        report.cores,
        rows.join(","),
        geomeans.join(",")
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

    #[test]
    fn defaults() {
        let o = run_opts("");
        assert_eq!(o, Options::default());
        assert_eq!(o.workloads().len(), Workload::ALL.len());
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
        ] {
            assert!(parse_args(args(bad)).is_err(), "{bad} should be rejected");
        }
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
        let sample = |d| {
            Ok(Sample {
                median: d,
                min: d,
                max: d,
                runs: DEFAULT_ITERS,
            })
        };
        let report = Report {
            options: Options::default(),
            cores: 2,
            rows: vec![
                Row {
                    workload: Workload::YieldMany,
                    procs: 1,
                    goro: sample(ms(2)),
                    tokio: sample(ms(1)),
                },
                Row {
                    workload: Workload::PingPong,
                    procs: 2,
                    goro: Err("panicked: \"boom\"".into()),
                    tokio: sample(ms(1)),
                },
            ],
        };
        let table = render_table(&report);
        assert!(table.contains("yield_many"), "{table}");
        assert!(table.contains("2.00"), "{table}");
        assert!(table.contains("FAILED ping_pong procs=2 goro"), "{table}");
        let json = render_json(&report);
        assert!(json.contains("\"ratio\":2.0000"), "{json}");
        assert!(json.contains("\\\"boom\\\""), "{json}");
        assert!(
            json.contains("\"geomean_ratio\":{\"1\":2.0000,\"2\":null}"),
            "{json}"
        );
        assert!(report.any_failed());
    }
}
