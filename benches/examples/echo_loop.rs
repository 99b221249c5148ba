//! Runs one echo-suite configuration in a loop for a while, for profiling (`perf record`,
//! `/proc/PID/task/*/status`) rather than timing:
//!
//! ```text
//! cargo run --release -p goro-benches --example echo_loop -- goro 2 1024 10
//! #                                                    side procs size seconds
//! ```
//!
//! Prints the iterations and round trips per second at the end. Placement as in the suite
//! (`GORO_BENCH_PIN=0` to pin nothing).

use std::time::{Duration, Instant};

use goro_benches::affinity::Placement;
use goro_benches::echo::{EchoBench, CONNECTIONS, ROUND_TRIPS};
use goro_benches::server::{ServerKind, Side};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.into());
    let side = match arg(0, "goro").as_str() {
        "goro" => Side::Goro,
        "tokio" => Side::Tokio,
        other => panic!("side must be goro or tokio, not `{other}`"),
    };
    let procs: usize = arg(1, "1").parse().expect("procs: a number");
    let size: usize = arg(2, "1024").parse().expect("size: a number");
    let secs: u64 = arg(3, "10").parse().expect("seconds: a number");

    let placement = Placement::for_procs(procs);
    let kind = ServerKind::for_side(side, procs);
    let mut bench = EchoBench::start(kind, size, placement).expect("starting the echo bench");
    eprintln!(
        "echo_loop: {kind}, {size} B messages, {}; pid {}",
        placement.describe(),
        std::process::id()
    );
    let start = Instant::now();
    let mut iters = 0u64;
    while start.elapsed() < Duration::from_secs(secs) {
        bench.run();
        iters += 1;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let trips = iters as f64 * (CONNECTIONS * ROUND_TRIPS) as f64;
    println!(
        "{kind}: {iters} iterations in {elapsed:.1} s: {:.2} ms/iteration, {:.0} round trips/s",
        elapsed * 1e3 / iters as f64,
        trips / elapsed
    );
}
