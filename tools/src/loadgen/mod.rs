//! `goro-loadgen`: an HTTP/1.1 keep-alive load generator that is not the runtime under test.
//!
//! A run opens `connections` keep-alive connections to one URL and keeps one request in
//! flight on each, for `warmup` and then `duration` seconds. It runs on plain threads of its
//! own, each a mio poll loop ([`driver`]) over its share of the connections, so no async
//! runtime (least of all goro) sits between the clock and the socket, and `taskset` can pin
//! it away from the server.
//!
//! * [`args`] — the fixed command line and the target URL (loopback only unless
//!   `--allow-remote`; connections, rate and durations capped).
//! * [`schedule`] — open loop at a fixed total rate, each request's latency counted from
//!   its *intended* send time (coordinated omission corrected, as wrk2 does); or closed loop
//!   for maximum throughput.
//! * [`conn`] — one connection's state machine and the response parser (httparse;
//!   `Content-Length` bodies; failures counted by kind, the connection reopened).
//! * [`timer`] — a timerfd, so sends happen at their instant and not at the next
//!   millisecond, without spinning.
//! * [`driver`] — one thread's event loop; [`report`] — the merged histogram (hdrhistogram)
//!   and counters, as a table or one JSON object.
//!
//! Requests start a short [`START_DELAY`] after [`run`] is called, so that the connections
//! are open before the first intended send; only what is intended (open loop) or sent
//! (closed loop) inside the measured window is recorded.
//!
//! ```no_run
//! use goro_tools::loadgen::{self, args::parse_url, Config};
//! use std::time::Duration;
//!
//! let report = loadgen::run(&Config {
//!     target: parse_url("http://127.0.0.1:8080/", false).unwrap(),
//!     connections: 64,
//!     rate: Some(20_000.0),
//!     duration: Duration::from_secs(4),
//!     warmup: Duration::from_secs(1),
//!     threads: 1,
//!     pin: None,
//!     protocol: loadgen::Protocol::Http,
//! })
//! .unwrap();
//! println!("p99 {} us", report.p99_us);
//! ```

pub mod args;
pub mod conn;
pub mod driver;
pub mod report;
pub mod schedule;
pub mod timer;

use std::io;
use std::thread;
use std::time::{Duration, Instant};

pub use args::{Config, Protocol};
pub use report::Report;

use driver::{Driver, Plan};
use report::Tally;
use schedule::Schedule;

/// Time between [`run`] and the first intended send, for connections to open.
pub const START_DELAY: Duration = Duration::from_millis(50);

/// Runs the load `config` describes and reports what the measured window saw.
pub fn run(config: &Config) -> io::Result<Report> {
    let start = Instant::now() + START_DELAY;
    let window_start = start + config.warmup;
    let plan = Plan {
        addr: config.target.addr,
        request: config.target.request(config.protocol).into(),
        protocol: config.protocol,
        schedule: Schedule::new(start, config.rate, config.connections),
        start,
        window_start,
        end: window_start + config.duration,
    };
    let threads = config.threads.clamp(1, config.connections.max(1));
    let tallies = thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let ids: Vec<usize> = (t..config.connections).step_by(threads).collect();
                let cpu = config.pin.as_ref().map(|cpus| cpus[t % cpus.len()]);
                let plan = &plan;
                thread::Builder::new()
                    .name(format!("loadgen-{t}"))
                    .spawn_scoped(scope, move || {
                        if let Some(id) = cpu {
                            if !core_affinity::set_for_current(core_affinity::CoreId { id }) {
                                return Err(io::Error::other(format!("cannot pin to CPU {id}")));
                            }
                        }
                        Driver::new(plan, ids)?.run()
                    })
            })
            .collect::<io::Result<_>>()?;
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(io::Error::other("a generator thread panicked")))
            })
            .collect::<io::Result<Vec<Tally>>>()
    })?;
    let mut total = Tally::default();
    for t in &tallies {
        total.merge(t);
    }
    Ok(Report::new(
        &total,
        config.rate,
        config.connections,
        threads,
        config.duration,
    ))
}
