//! `procs-effect`: flip the processor count of a server and see, measured and explained,
//! why one processor can serve more requests than several.
//!
//! A network service on Go often serves more with `GOMAXPROCS=1` than with more: with one
//! processor every wake-up lands where the woken task's data already is, nothing is stolen,
//! no processor parks and unparks another, and each poll of the poller returns a batch of
//! events. This tool runs the experiment on this machine and prints which of those costs
//! moved. For every processor count `n` (goro: `GORO_PROCS=n`; tokio: `current_thread` at 1,
//! `multi_thread(n)` above; Go: `GOMAXPROCS=n`) it starts the server in a child process
//! ([`crate::child`]), pinned to CPUs `1..=n` (all CPUs once `n` reaches their count), and
//! drives it with [`crate::loadgen`] on a thread pinned to CPU 0:
//!
//! 1. closed loop (64 connections, one request in flight each) for the maximum throughput,
//!    with the server's CPU time (user and system), voluntary and involuntary context
//!    switches ([`measure::ProcSample`]), goro's counters from its debug server
//!    ([`measure::goro_totals`]) and, where `perf` may count hardware events, cycles,
//!    instructions and cache misses, read just before and after and divided by the
//!    requests served;
//! 2. open loop at 50% and 80% of the smallest maximum over all runs (the same offered rate
//!    for every configuration), for p50 and p99 latency with coordinated omission corrected.
//!
//! [`explain`] turns the figures into sentences (what grew per request from 1 to n
//! processors, and whether the effect appeared), [`render`] prints the tables and writes
//! `procs-effect.json`, and [`svg`] draws `throughput.svg` and `costs.svg`.
//!
//! Workloads ([`Workload`]): `http` (the raw keep-alive hello of `http-hello`), `json` (a
//! handler that parses and writes a small JSON document per request) and `echo` (TCP echo of
//! 64-byte messages; the generator's echo mode).

pub mod args;
pub mod explain;
pub mod measure;
pub mod render;
pub mod svg;

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde::Serialize;

use crate::child::{sibling_binary, ChildServer};
use crate::loadgen::{self, args::Target, Protocol};
use args::Options;
use measure::{counter_delta, goro_totals, GoroTotals, PerfCounts, PerfRun, ProcSample};

/// What the server does per request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// HTTP/1.1 `GET /`.
    Http,
    /// TCP echo.
    Echo,
    /// HTTP/1.1 with a JSON body.
    Json,
}

impl Workload {
    /// Every workload.
    pub const ALL: [Workload; 3] = [Workload::Http, Workload::Echo, Workload::Json];

    /// `http`, `echo`, `json`.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Http => "http",
            Workload::Echo => "echo",
            Workload::Json => "json",
        }
    }
}

/// A runtime compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// goro.
    Goro,
    /// tokio.
    Tokio,
    /// Go's net/http.
    Go,
}

impl Side {
    /// `goro`, `tokio`, `go`.
    pub fn name(self) -> &'static str {
        match self {
            Side::Goro => "goro",
            Side::Tokio => "tokio",
            Side::Go => "go",
        }
    }
}

/// The fractions of the smallest maximum throughput offered in the latency runs.
pub const FRACTIONS: [f64; 2] = [0.5, 0.8];
/// Connections of every run.
pub const CONNECTIONS: usize = 64;
/// The CPU the generator is pinned to.
pub const LOADGEN_CPU: usize = 0;

/// Goro's counters per request (`None` where the runtime does not have the counter).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct GoroCosts {
    /// Task polls.
    pub polls: f64,
    /// Wakes that crossed processors: polls of a task on a processor other than the one it
    /// last ran on.
    pub cross_wakes: f64,
    /// Tasks stolen.
    pub steals: f64,
    /// Steal operations.
    pub steal_ops: f64,
    /// Polls of another processor's poller.
    pub poll_steals: f64,
    /// Processor parks.
    pub parks: f64,
    /// Processor unparks.
    pub unparks: f64,
    /// Processor handoffs.
    pub handoffs: f64,
    /// Events per poll of a poller (batching), not per request.
    pub events_per_netpoll: Option<f64>,
}

/// What one request cost the server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Costs {
    /// User CPU, µs.
    pub user_us: f64,
    /// System CPU, µs.
    pub system_us: f64,
    /// Voluntary context switches.
    pub voluntary_cs: f64,
    /// Involuntary context switches.
    pub involuntary_cs: f64,
    /// goro's counters (goro only).
    pub goro: Option<GoroCosts>,
    /// Hardware counters, where perf is allowed.
    pub perf: Option<PerfCounts>,
}

impl Costs {
    /// CPU microseconds per request, user and system.
    pub fn cpu_us(&self) -> f64 {
        self.user_us + self.system_us
    }

    /// Context switches per request, both kinds.
    pub fn switches(&self) -> f64 {
        self.voluntary_cs + self.involuntary_cs
    }
}

/// Latency at a fixed offered rate.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Latency {
    /// Of the smallest maximum throughput.
    pub fraction: f64,
    /// The offered rate, requests/s.
    pub rate: f64,
    /// Median latency, µs.
    pub p50_us: f64,
    /// 99th percentile latency, µs.
    pub p99_us: f64,
    /// Failed requests.
    pub errors: u64,
}

/// One runtime at one processor count.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Point {
    /// The runtime.
    pub side: Side,
    /// Its processor (worker) count.
    pub procs: usize,
    /// The CPUs the server was pinned to (`None`: not pinned).
    pub server_cpus: Option<String>,
    /// Closed-loop requests per second.
    pub max_rps: f64,
    /// Share of its CPU the generator kept busy in the closed-loop run.
    pub generator_busy: f64,
    /// Requests of the closed-loop run.
    pub requests: u64,
    /// Failed requests of the closed-loop run.
    pub errors: u64,
    /// What one request cost.
    pub costs: Costs,
    /// Latency at fixed rates.
    pub latency: Vec<Latency>,
}

/// The whole experiment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Experiment {
    /// What the server did per request.
    pub workload: Workload,
    /// Shorter runs.
    pub quick: bool,
    /// Cores available to the process.
    pub cores: usize,
    /// `None`: nothing pinned (fewer than 2 CPUs).
    pub loadgen_cpu: Option<usize>,
    /// Share of all CPUs busy with other work just before the experiment (Linux).
    pub busy_before: Option<f64>,
    /// Why there are no hardware counters, if there are none.
    pub perf_note: Option<String>,
    /// Runtimes or runs left out, and why.
    pub notes: Vec<String>,
    /// One point per runtime and processor count.
    pub points: Vec<Point>,
    /// What the figures say, one line each.
    pub explanation: Vec<String>,
}

/// Measured and warm-up seconds of each run.
fn timing(quick: bool) -> (Duration, Duration) {
    if quick {
        (Duration::from_millis(1000), Duration::from_millis(300))
    } else {
        (Duration::from_secs(3), Duration::from_secs(1))
    }
}

/// The CPUs a server with `procs` workers is pinned to on a machine of `cores`.
pub fn server_cpus(procs: usize, cores: usize) -> Option<String> {
    match (cores, procs) {
        (0 | 1, _) => None,
        (c, n) if n < c => Some(if n == 1 { "1".into() } else { format!("1-{n}") }),
        (c, _) => Some(format!("0-{}", c - 1)),
    }
}

/// Runs the experiment; `progress` hears about each run.
pub fn run(opts: &Options, mut progress: impl FnMut(&str)) -> io::Result<Experiment> {
    let cores = crate::quick::available_cores();
    let busy_before = crate::quick::cpu_busy(Duration::from_millis(250));
    let mut notes = Vec::new();
    let mut sides = vec![Side::Goro];
    let go_bin = match opts.against {
        Some(Side::Go) if opts.workload == Workload::Echo => {
            notes.push("go: skipped, the Go server serves only the http and json workloads".into());
            None
        }
        Some(Side::Go) => match build_go_server(&opts.out) {
            Ok(bin) => {
                sides.push(Side::Go);
                Some(bin)
            }
            Err(why) => {
                notes.push(format!("go: skipped: {why}"));
                None
            }
        },
        Some(other) => {
            sides.push(other);
            None
        }
        None => None,
    };
    let perf = measure::perf_probe();
    let setup = Setup {
        bin: sibling_binary("http-hello")?,
        go_bin,
        workload: opts.workload,
        cores,
        quick: opts.quick,
        perf: perf.is_ok(),
    };
    let mut points = Vec::new();
    for &procs in &opts.procs {
        for &side in &sides {
            progress(&format!("{} procs={procs}: closed loop", side.name()));
            points.push(setup.closed(side, procs)?);
        }
    }
    let smallest = points
        .iter()
        .map(|p| p.max_rps)
        .fold(f64::INFINITY, f64::min);
    if smallest.is_finite() && smallest >= 1.0 {
        for point in &mut points {
            for fraction in FRACTIONS {
                progress(&format!(
                    "{} procs={}: open loop at {:.0}%",
                    point.side.name(),
                    point.procs,
                    fraction * 100.0
                ));
                point
                    .latency
                    .push(setup.open(point, fraction, fraction * smallest)?);
            }
        }
    } else {
        notes.push("no latency runs: some configuration served nothing".into());
    }
    let explanation = explain::explain(&points);
    Ok(Experiment {
        workload: opts.workload,
        quick: opts.quick,
        cores,
        loadgen_cpu: (cores >= 2).then_some(LOADGEN_CPU),
        busy_before,
        perf_note: perf.err(),
        notes,
        points,
        explanation,
    })
}

/// What every run of an experiment shares.
struct Setup {
    bin: PathBuf,
    go_bin: Option<PathBuf>,
    workload: Workload,
    cores: usize,
    quick: bool,
    perf: bool,
}

/// A started server with its goro debug address, if it has one.
struct Started {
    child: ChildServer,
    debug: Option<SocketAddr>,
    cpus: Option<String>,
}

impl Setup {
    fn start(&self, side: Side, procs: usize) -> io::Result<Started> {
        let cpus = server_cpus(procs, self.cores);
        let mut debug = None;
        let mut cmd = match side {
            Side::Go => {
                let go = self
                    .go_bin
                    .as_ref()
                    .ok_or_else(|| io::Error::other("no Go server"))?;
                let mut cmd = match &cpus {
                    Some(c) => {
                        let mut t = Command::new("taskset");
                        t.args(["-c", c]).arg(go);
                        t
                    }
                    None => Command::new(go),
                };
                cmd.env("GOMAXPROCS", procs.to_string());
                cmd
            }
            _ => {
                let mut cmd = Command::new(&self.bin);
                let runtime = match (side, procs) {
                    (Side::Goro, _) => "goro",
                    (_, 1) => "tokio-ct",
                    _ => "tokio-mt",
                };
                cmd.args(["--runtime", runtime, "--serve", self.serve()]);
                if runtime != "tokio-ct" {
                    cmd.args(["--procs", &procs.to_string()]);
                }
                if side == Side::Goro {
                    let addr = free_port()?;
                    cmd.env("GORO_PROCS", procs.to_string());
                    cmd.env("GORO_DEBUG_ADDR", addr.to_string());
                    debug = Some(addr);
                }
                if let Some(c) = &cpus {
                    cmd.args(["--pin", c]);
                }
                cmd
            }
        };
        cmd.args(["--addr", "127.0.0.1:0"]);
        Ok(Started {
            child: ChildServer::start(cmd)?,
            debug,
            cpus,
        })
    }

    fn serve(&self) -> &'static str {
        match self.workload {
            Workload::Echo => "echo",
            _ => "hello",
        }
    }

    fn load(
        &self,
        addr: SocketAddr,
        rate: Option<f64>,
        duration: Duration,
        warmup: Duration,
    ) -> io::Result<loadgen::Report> {
        let path = match self.workload {
            Workload::Json => "/json",
            _ => "/",
        };
        let protocol = match self.workload {
            Workload::Echo => Protocol::Echo { size: 64 },
            _ => Protocol::Http,
        };
        loadgen::run(&loadgen::Config {
            target: Target {
                addr,
                host: addr.to_string(),
                path: path.into(),
            },
            connections: CONNECTIONS,
            rate,
            duration,
            warmup,
            threads: 1,
            pin: (self.cores >= 2).then(|| vec![LOADGEN_CPU]),
            protocol,
        })
    }

    /// The closed-loop run of `side` at `procs`, with its costs.
    fn closed(&self, side: Side, procs: usize) -> io::Result<Point> {
        let (duration, warmup) = timing(self.quick);
        let server = self.start(side, procs)?;
        let addr = server.child.addr();
        let pid = server.child.pid();
        self.load(addr, None, warmup, Duration::ZERO)?;
        let goro_before = server.debug.map(goro_totals).transpose()?;
        let before = ProcSample::read(pid)?;
        let perf = self.perf.then(|| PerfRun::start(pid)).transpose()?;
        let report = self.load(addr, None, duration, Duration::ZERO)?;
        let perf = perf.and_then(PerfRun::finish);
        let after = ProcSample::read(pid)?;
        let goro_after = server.debug.map(goro_totals).transpose()?;
        let n = report.requests.max(1) as f64;
        let goro = match (&goro_before, &goro_after) {
            (Some(b), Some(a)) => Some(goro_costs(b, a, n)?),
            _ => None,
        };
        Ok(Point {
            side,
            procs,
            server_cpus: server.cpus.clone(),
            max_rps: report.achieved_rps,
            generator_busy: report.generator_busy,
            requests: report.requests,
            errors: report.errors,
            costs: Costs {
                user_us: (after.user_s - before.user_s) * 1e6 / n,
                system_us: (after.system_s - before.system_s) * 1e6 / n,
                voluntary_cs: after.voluntary.saturating_sub(before.voluntary) as f64 / n,
                involuntary_cs: after.involuntary.saturating_sub(before.involuntary) as f64 / n,
                goro,
                perf: perf.map(|p| PerfCounts {
                    cycles: p.cycles / n,
                    instructions: p.instructions / n,
                    cache_misses: p.cache_misses / n,
                }),
            },
            latency: Vec::new(),
        })
    }

    /// An open-loop run of `point`'s configuration at `rate` (`fraction` of the smallest
    /// maximum).
    fn open(&self, point: &Point, fraction: f64, rate: f64) -> io::Result<Latency> {
        let (duration, warmup) = timing(self.quick);
        let server = self.start(point.side, point.procs)?;
        let r = self.load(server.child.addr(), Some(rate), duration, warmup)?;
        Ok(Latency {
            fraction,
            rate,
            p50_us: r.p50_us,
            p99_us: r.p99_us,
            errors: r.errors,
        })
    }
}

/// Goro's counters from `before` to `after`, per request; an error names a counter the
/// server's stats lack (a server from another build).
fn goro_costs(before: &GoroTotals, after: &GoroTotals, requests: f64) -> io::Result<GoroCosts> {
    let delta = |name: &str| {
        counter_delta(before, after, name)
            .ok_or_else(|| io::Error::other(format!("goro's stats have no `{name}` counter")))
    };
    let per = |name: &str| Ok::<f64, io::Error>(delta(name)? / requests);
    let (events, polls) = (delta("netpoll_events")?, delta("netpoll_polls")?);
    Ok(GoroCosts {
        polls: per("polls")?,
        cross_wakes: per("cross_wakes")?,
        steals: per("steals")?,
        steal_ops: per("steal_ops")?,
        poll_steals: per("poll_steals")?,
        parks: per("parks")?,
        unparks: per("unparks")?,
        handoffs: per("handoffs")?,
        events_per_netpoll: (polls > 0.0).then(|| events / polls),
    })
}

/// A loopback port that was free a moment ago.
fn free_port() -> io::Result<SocketAddr> {
    TcpListener::bind("127.0.0.1:0")?.local_addr()
}

/// The Go net/http server's source.
const GO_SERVER: &str = include_str!("go_server.go");

/// Builds the Go server into `out/go-server/` with the `go` on the PATH.
fn build_go_server(out: &Path) -> Result<PathBuf, String> {
    let dir = out.join("go-server");
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    std::fs::write(dir.join("main.go"), GO_SERVER).map_err(|e| format!("writing main.go: {e}"))?;
    let bin = dir.join("go-server");
    let built = Command::new("go")
        .args(["build", "-o", "go-server", "main.go"])
        .current_dir(&dir)
        .env("GO111MODULE", "off")
        .output();
    match built {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            Err("no Go toolchain (`go`) on the PATH".into())
        }
        Err(e) => Err(format!("running `go build`: {e}")),
        Ok(o) if !o.status.success() => Err(format!(
            "`go build` failed: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Ok(_) => Ok(bin),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placement() {
        assert_eq!(server_cpus(1, 2).as_deref(), Some("1"));
        assert_eq!(server_cpus(2, 2).as_deref(), Some("0-1"));
        assert_eq!(server_cpus(3, 4).as_deref(), Some("1-3"));
        assert_eq!(server_cpus(8, 4).as_deref(), Some("0-3"));
        assert_eq!(server_cpus(1, 1), None);
    }

    #[test]
    fn goro_costs_per_request_and_a_missing_counter() {
        let m = |v: serde_json::Value| v.as_object().unwrap().clone();
        let names = [
            "polls",
            "cross_wakes",
            "steals",
            "steal_ops",
            "poll_steals",
            "parks",
            "unparks",
            "handoffs",
            "netpoll_events",
            "netpoll_polls",
        ];
        let before = m(serde_json::Value::Object(
            names.iter().map(|n| (n.to_string(), 0.into())).collect(),
        ));
        let mut after = before.clone();
        after.insert("polls".into(), 300.into());
        after.insert("cross_wakes".into(), 50.into());
        after.insert("netpoll_events".into(), 40.into());
        after.insert("netpoll_polls".into(), 10.into());
        let c = goro_costs(&before, &after, 100.0).unwrap();
        assert_eq!((c.polls, c.cross_wakes, c.steals), (3.0, 0.5, 0.0));
        assert_eq!(c.events_per_netpoll, Some(4.0));
        after.remove("cross_wakes");
        let err = goro_costs(&before, &after, 100.0).unwrap_err();
        assert!(err.to_string().contains("`cross_wakes`"), "{err}");
    }
}
