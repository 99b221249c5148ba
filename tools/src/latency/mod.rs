//! The latency suite of `goro-bench` (`--suite latency`): tail latency of plain requests
//! while one handler misbehaves, goro against tokio, the same server code.
//!
//! The server is `http-hello` ([`crate::http`]) in a child process ([`crate::child`]) on
//! each of four configurations, compared in pairs: goro with 1 processor against tokio's
//! `current_thread` runtime (both pinned to CPU 1), and goro with 2 processors against
//! tokio's `multi_thread` runtime with 2 workers (both on CPUs 0-1). The load is
//! [`crate::loadgen`] in this process, pinned to CPU 0: `connections` keep-alive connections
//! at a fixed total `rate`, open loop, latency from each request's intended send time
//! (coordinated omission corrected), of `GET /` only. Three [`Scenario`]s:
//!
//! * `plain` — only that load;
//! * `blocking` — plus one more connection ([`trigger`], also on CPU 0) that sends
//!   `GET /block?ms=20` every 100 ms: its handler blocks its thread in `std::thread::sleep`;
//! * `cpu-hog` — the same with `GET /spin?ms=20`: the handler keeps the CPU busy.
//!
//! For each scenario and pair, rounds alternate the order of the two servers (ABBA), each
//! run on a fresh server; a configuration's figure is the median over rounds of each
//! percentile, and the pair's ratio is goro's median over tokio's. With fewer than 2 CPUs
//! nothing is pinned (the table says so).

pub mod render;
pub mod trigger;

use std::io;
use std::process::Command;
use std::time::Duration;

use serde::Serialize;

use crate::child::{sibling_binary, ChildServer};
use crate::loadgen::{self, args::Target};
use trigger::Trigger;

/// Settings of the suite (goro-bench's `--latency-*` flags).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Options {
    /// Rounds per scenario and pair (ABBA); medians over them are reported.
    pub rounds: usize,
    /// Measured seconds per run.
    pub duration: Duration,
    /// Unrecorded load before each run's measured part.
    pub warmup: Duration,
    /// Offered requests/s in total.
    pub rate: f64,
    /// Keep-alive connections of the plain load.
    pub connections: usize,
    /// How long `/block` and `/spin` take.
    pub stall: Duration,
    /// How often the trigger sends one.
    pub every: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            rounds: 3,
            duration: Duration::from_millis(1500),
            warmup: Duration::from_millis(500),
            rate: 20_000.0,
            connections: 64,
            stall: Duration::from_millis(20),
            every: Duration::from_millis(100),
        }
    }
}

/// What runs next to the plain load.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// The plain load alone.
    Plain,
    /// A handler that blocks its thread (`/block`) every 100 ms.
    Blocking,
    /// A handler that spins the CPU (`/spin`) every 100 ms.
    CpuHog,
}

impl Scenario {
    /// Every scenario, in the order the suite runs them.
    pub const ALL: [Scenario; 3] = [Scenario::Plain, Scenario::Blocking, Scenario::CpuHog];

    /// `plain`, `blocking`, `cpu-hog`.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Plain => "plain",
            Scenario::Blocking => "blocking",
            Scenario::CpuHog => "cpu-hog",
        }
    }

    /// The trigger's request target for a handler stall of `stall`, if there is a trigger.
    pub fn trigger_path(self, stall: Duration) -> Option<String> {
        let ms = stall.as_millis();
        match self {
            Scenario::Plain => None,
            Scenario::Blocking => Some(format!("/block?ms={ms}")),
            Scenario::CpuHog => Some(format!("/spin?ms={ms}")),
        }
    }
}

/// One server configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Server {
    /// As in tables: `goro procs=1`, `tokio current_thread`, ...
    pub name: &'static str,
    /// `http-hello --runtime`.
    pub runtime: &'static str,
    /// Its worker count.
    pub procs: usize,
    /// The CPUs it is pinned to (when pinning).
    pub cpus: &'static str,
}

/// The compared pairs: goro first, tokio second.
pub const PAIRS: [[Server; 2]; 2] = [
    [
        Server {
            name: "goro procs=1",
            runtime: "goro",
            procs: 1,
            cpus: "1",
        },
        Server {
            name: "tokio current_thread",
            runtime: "tokio-ct",
            procs: 1,
            cpus: "1",
        },
    ],
    [
        Server {
            name: "goro procs=2",
            runtime: "goro",
            procs: 2,
            cpus: "0-1",
        },
        Server {
            name: "tokio multi_thread(2)",
            runtime: "tokio-mt",
            procs: 2,
            cpus: "0-1",
        },
    ],
];

/// The CPU the load generator and the trigger run on (when pinning).
pub const LOADGEN_CPU: usize = 0;

/// One run's figures.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Run {
    /// Median latency, µs.
    pub p50_us: f64,
    /// 99th percentile latency, µs.
    pub p99_us: f64,
    /// 99.9th percentile latency, µs.
    pub p999_us: f64,
    /// Plain requests answered in the measured part.
    pub requests: u64,
    /// Failed plain requests.
    pub errors: u64,
    /// Trigger requests answered during the run.
    pub triggers: u64,
}

/// A server's runs in one row of a suite's table: one scenario here, one app in the hyper
/// suite (`R` is the suite's figures of one run).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Cell<R = Run> {
    /// The server measured.
    pub server: Server,
    /// Its successful runs.
    pub runs: Vec<R>,
    /// Why runs failed, if any did.
    pub failures: Vec<String>,
}

impl<R> Cell<R> {
    /// The median over runs of `f`, if any run succeeded.
    pub fn median(&self, f: impl Fn(&R) -> f64) -> Option<f64> {
        crate::hyper_suite::median(self.runs.iter().map(f).collect())
    }
}

/// A pair's cells in one scenario.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    /// What ran next to the plain load.
    pub scenario: Scenario,
    /// goro's cell, then tokio's.
    pub cells: [Cell; 2],
}

impl Row {
    /// goro's median of `f` over tokio's.
    pub fn ratio(&self, f: impl Fn(&Run) -> f64 + Copy) -> Option<f64> {
        let [g, t] = &self.cells;
        Some(g.median(f)? / t.median(f)?).filter(|r| r.is_finite())
    }
}

/// The whole suite.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// The settings the suite ran with.
    pub options: Options,
    /// Cores available to the process.
    pub cores: usize,
    /// Whether the servers and the generator were pinned (needs 2 CPUs).
    pub pinned: bool,
    /// One row per scenario and pair.
    pub rows: Vec<Row>,
}

/// Runs the suite; `progress` hears about each run before it starts.
pub fn run(opts: &Options, mut progress: impl FnMut(&str)) -> io::Result<Report> {
    let bin = sibling_binary("http-hello")?;
    let cores = crate::quick::available_cores();
    let pinned = cores >= 2;
    let mut rows = Vec::new();
    for scenario in Scenario::ALL {
        for pair in PAIRS {
            let mut cells = pair.map(|server| Cell {
                server,
                runs: Vec::new(),
                failures: Vec::new(),
            });
            for round in 0..opts.rounds {
                let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
                for i in order {
                    let cell = &mut cells[i];
                    progress(&format!(
                        "latency/{} {} round {}",
                        scenario.name(),
                        cell.server.name,
                        round + 1
                    ));
                    match run_one(&bin, cell.server, scenario, opts, pinned) {
                        Ok(r) => cell.runs.push(r),
                        Err(e) => cell.failures.push(e.to_string()),
                    }
                }
            }
            rows.push(Row { scenario, cells });
        }
    }
    Ok(Report {
        options: opts.clone(),
        cores,
        pinned,
        rows,
    })
}

/// One run: a fresh server, the trigger (if any) and the load, then the server is killed.
fn run_one(
    bin: &std::path::Path,
    server: Server,
    scenario: Scenario,
    opts: &Options,
    pinned: bool,
) -> io::Result<Run> {
    let mut cmd = Command::new(bin);
    cmd.args(["--runtime", server.runtime, "--addr", "127.0.0.1:0"]);
    if server.runtime != "tokio-ct" {
        cmd.args(["--procs", &server.procs.to_string()]);
    }
    if pinned {
        cmd.args(["--pin", server.cpus]);
    }
    let child = ChildServer::start(cmd)?;
    let cpu = pinned.then_some(LOADGEN_CPU);
    let trigger = scenario
        .trigger_path(opts.stall)
        .map(|path| Trigger::start(child.addr(), &path, opts.every, cpu));
    let report = loadgen::run(&loadgen::Config {
        target: Target {
            addr: child.addr(),
            host: child.addr().to_string(),
            path: "/".into(),
        },
        connections: opts.connections,
        rate: Some(opts.rate),
        duration: opts.duration,
        warmup: opts.warmup,
        threads: 1,
        pin: cpu.map(|c| vec![c]),
        protocol: loadgen::Protocol::Http,
    });
    let triggered = trigger.map(Trigger::stop).unwrap_or_default();
    drop(child);
    let report = report?;
    if report.requests == 0 {
        return Err(io::Error::other(format!(
            "no request completed ({} errors)",
            report.errors
        )));
    }
    if scenario != Scenario::Plain && triggered.answered == 0 {
        return Err(io::Error::other(format!(
            "the {} trigger got no answer ({} failed)",
            scenario.name(),
            triggered.failed
        )));
    }
    Ok(Run {
        p50_us: report.p50_us,
        p99_us: report.p99_us,
        p999_us: report.p999_us,
        requests: report.requests,
        errors: report.errors,
        triggers: triggered.answered,
    })
}
