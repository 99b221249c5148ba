//! `goro-bench`'s command line: flags to [`Options`], with one-line errors for the user.

use super::suite::{Suite, Workload};
use super::{DEFAULT_ITERS, DEFAULT_PROCS, DEFAULT_TIMEOUT, DEFAULT_WARMUP};
use std::time::Duration;

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

/// Parsed command line.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// Suites to run, in order.
    pub suites: Vec<Suite>,
    /// Worker counts to run each workload at.
    pub procs: Vec<usize>,
    /// Only workloads whose name (or `suite/name`) contains this.
    pub filter: Option<String>,
    /// Timed runs per cell.
    pub iters: usize,
    /// Warm-up runs per round.
    pub warmup: usize,
    /// The watchdog's limit for a run without progress.
    pub timeout: Duration,
    /// Print JSON instead of tables.
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
    /// Run these suites.
    Run(Options),
    /// Print the usage.
    Help,
    /// List the workloads.
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
