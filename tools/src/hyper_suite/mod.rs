//! The hyper suite of `goro-bench` (`--suite hyper`): the issue's HTTP bar for hyper 1.x,
//! the same server code on goro and on tokio, same run.
//!
//! The server is `hyper-hello` (`tools/src/bin/hyper-hello.rs`) in a child process
//! ([`crate::child`]): hyper-util's `auto` connection builder over an axum `Router`, on goro
//! through `goro::hyper::serve`, on tokio through `TokioIo`, `TokioExecutor` and
//! `TokioTimer`. Two [`App`]s: `hello` (`/` answers a plain-text `Hello, World!`) and `json`
//! (`/` answers an axum `Json` body). Each is compared in the latency suite's pairs
//! ([`crate::latency::PAIRS`]): goro with 1 processor against tokio's `current_thread`
//! runtime (both pinned to CPU 1), goro with 2 processors against tokio's `multi_thread`
//! runtime with 2 workers (both on CPUs 0-1).
//!
//! The load is [`crate::loadgen`] in this process, pinned to CPU 0, closed loop: `connections`
//! keep-alive connections, each with one `GET /` in flight at all times, for `warmup` and
//! then `duration`. A run records the requests per second completed in the measured window
//! and the server's CPU time per request: its utime+stime from `/proc/PID/stat` (all its
//! threads) read just before and just after the window, over the requests completed in it.
//!
//! For each app and pair, rounds alternate the order of the two servers (ABBA), each run on a
//! fresh server; a configuration's figure is the median over its rounds, and the pair's
//! ratio is goro's median over tokio's. Each round's own goro/tokio ratio (two runs back to
//! back) is kept too: drift of the machine's speed between rounds cancels out of it. With
//! fewer than 2 CPUs nothing is pinned (the table says so).

pub mod render;

use std::io;
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::child::{sibling_binary, ChildServer};
use crate::latency::{Server, LOADGEN_CPU, PAIRS};
use crate::loadgen::{self, args::Target};
use crate::procs_effect::measure::ProcSample;

/// Settings of the suite (goro-bench's `--hyper-*` flags).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Options {
    /// Rounds per app and pair (ABBA); medians over them are reported.
    pub rounds: usize,
    /// Measured time per run.
    pub duration: Duration,
    /// Unmeasured load before each run's measured window.
    pub warmup: Duration,
    /// Keep-alive connections, one request in flight on each.
    pub connections: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            rounds: 3,
            duration: Duration::from_secs(3),
            warmup: Duration::from_secs(1),
            connections: 64,
        }
    }
}

/// What `/` answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum App {
    /// A plain-text `Hello, World!` (hyper's hello server).
    Hello,
    /// `{"message":"Hello, World!"}` through axum's `Json`.
    Json,
}

impl App {
    /// Every app, in table order.
    pub const ALL: [App; 2] = [App::Hello, App::Json];

    /// `hello` or `json`, as `hyper-hello --app` takes it.
    pub fn name(self) -> &'static str {
        match self {
            App::Hello => "hello",
            App::Json => "json",
        }
    }
}

/// One run's figures.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Run {
    /// Requests completed per second of the measured window.
    pub rps: f64,
    /// Server CPU time (user + system, all threads) per completed request, µs.
    pub cpu_us_per_request: f64,
    /// Requests completed in the measured window.
    pub requests: u64,
    /// Requests that failed (connection errors, bad responses).
    pub errors: u64,
}

/// A server's runs for one app (the latency suite's cell, of this suite's runs).
pub type Cell = crate::latency::Cell<Run>;

/// A pair's cells for one app.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    /// The route measured.
    pub app: App,
    /// goro's cell, then tokio's.
    pub cells: [Cell; 2],
    /// goro's requests/s over tokio's, per round in which both ran.
    pub round_ratios: Vec<f64>,
}

impl Row {
    /// goro's median of `f` over tokio's.
    pub fn ratio(&self, f: impl Fn(&Run) -> f64 + Copy) -> Option<f64> {
        let [g, t] = &self.cells;
        Some(g.median(f)? / t.median(f)?).filter(|r| r.is_finite())
    }

    /// Whether goro's median requests/s is at least tokio's (the issue's bar).
    pub fn meets_bar(&self) -> Option<bool> {
        self.ratio(|r| r.rps).map(|r| r >= 1.0)
    }
}

/// The whole suite.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// The settings the suite ran with.
    pub options: Options,
    /// CPUs available to this process.
    pub cores: usize,
    /// Whether the servers and the generator were pinned (needs 2 CPUs).
    pub pinned: bool,
    /// One row per (pair, app).
    pub rows: Vec<Row>,
}

/// The median of `xs`, `None` if empty.
///
/// ```
/// use goro_tools::hyper_suite::median;
/// assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
/// assert_eq!(median(vec![4.0, 1.0]), Some(2.5));
/// assert_eq!(median(vec![]), None);
/// ```
pub fn median(mut xs: Vec<f64>) -> Option<f64> {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(xs[n / 2]),
        _ => Some((xs[n / 2 - 1] + xs[n / 2]) / 2.0),
    }
}

/// Runs the suite; `progress` hears about each run before it starts.
pub fn run(opts: &Options, mut progress: impl FnMut(&str)) -> io::Result<Report> {
    let bin = sibling_binary("hyper-hello")?;
    let cores = crate::quick::available_cores();
    let pinned = cores >= 2;
    let mut rows = Vec::new();
    for app in App::ALL {
        for pair in PAIRS {
            let mut cells = pair.map(|server| Cell {
                server,
                runs: Vec::new(),
                failures: Vec::new(),
            });
            let mut round_ratios = Vec::new();
            for round in 0..opts.rounds {
                let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
                let mut rps = [None; 2];
                for i in order {
                    let cell = &mut cells[i];
                    progress(&format!(
                        "hyper/{} {} round {}",
                        app.name(),
                        cell.server.name,
                        round + 1
                    ));
                    match run_one(&bin, cell.server, app, opts, pinned) {
                        Ok(r) => {
                            rps[i] = Some(r.rps);
                            cell.runs.push(r);
                        }
                        Err(e) => cell.failures.push(e.to_string()),
                    }
                }
                if let [Some(g), Some(t)] = rps {
                    round_ratios.push(g / t);
                }
            }
            rows.push(Row {
                app,
                cells,
                round_ratios,
            });
        }
    }
    Ok(Report {
        options: opts.clone(),
        cores,
        pinned,
        rows,
    })
}

/// One run: a fresh server and the closed-loop load, then the server is killed.
fn run_one(bin: &Path, server: Server, app: App, opts: &Options, pinned: bool) -> io::Result<Run> {
    let mut cmd = Command::new(bin);
    cmd.args(["--runtime", server.runtime, "--app", app.name()]);
    cmd.args(["--addr", "127.0.0.1:0"]);
    if server.runtime != "tokio-ct" {
        cmd.args(["--procs", &server.procs.to_string()]);
    }
    if pinned {
        cmd.args(["--pin", server.cpus]);
    }
    let child = ChildServer::start(cmd)?;
    let pid = child.pid();
    let config = loadgen::Config {
        target: Target {
            addr: child.addr(),
            host: child.addr().to_string(),
            path: "/".into(),
        },
        connections: opts.connections,
        rate: None,
        duration: opts.duration,
        warmup: opts.warmup,
        threads: 1,
        pin: pinned.then(|| vec![LOADGEN_CPU]),
        protocol: loadgen::Protocol::Http,
    };
    // The generator's measured window opens `START_DELAY + warmup` after it starts; the
    // server's CPU time is sampled by another thread at the window's two edges.
    let window_start = Instant::now() + loadgen::START_DELAY + opts.warmup;
    let window_end = window_start + opts.duration;
    let (report, cpu) = thread::scope(|scope| {
        let sampler = scope.spawn(move || -> io::Result<f64> {
            sleep_until(window_start);
            let before = ProcSample::read(pid)?;
            sleep_until(window_end);
            let after = ProcSample::read(pid)?;
            Ok((after.user_s + after.system_s) - (before.user_s + before.system_s))
        });
        let report = loadgen::run(&config);
        let cpu = sampler
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the CPU sampler panicked")));
        (report, cpu)
    });
    drop(child);
    let (report, cpu_s) = (report?, cpu?);
    if report.requests == 0 {
        return Err(io::Error::other(format!(
            "no request completed ({} errors)",
            report.errors
        )));
    }
    Ok(Run {
        rps: report.achieved_rps,
        cpu_us_per_request: cpu_s * 1e6 / report.requests as f64,
        requests: report.requests,
        errors: report.errors,
    })
}

fn sleep_until(t: Instant) {
    thread::sleep(t.saturating_duration_since(Instant::now()));
}
