//! Runs one scheduler-suite workload in a loop on one runtime, for profiling (`perf record`,
//! `valgrind --tool=callgrind`) rather than timing:
//!
//! ```text
//! cargo run --release -p goro-benches --example sched_loop -- goro-nostats 1 yield_many 20
//! #                                                         runtime     procs workload iterations
//! ```
//!
//! Runtimes: `goro` (stats on), `goro-nostats` (`stats(false)`) and `tokio`. Prints the time
//! per iteration at the end.

use std::time::Instant;

use goro_benches::sched::Workload;
use goro_benches::{BenchRuntime, Goro, GoroNoStats};

fn run<R: BenchRuntime>(workload: Workload, procs: usize, iters: usize) {
    let mut prepared = workload
        .prepare::<R>(procs)
        .unwrap_or_else(|e| panic!("building {} with {procs} workers: {e}", R::NAME));
    let start = Instant::now();
    for _ in 0..iters {
        prepared.run();
    }
    let per_iter = start.elapsed() / iters as u32;
    println!(
        "{workload} on {} procs={procs}: {per_iter:?} per iteration",
        R::NAME
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.into());
    let procs: usize = arg(1, "1").parse().expect("procs: a number");
    let name = arg(2, "yield_many");
    let workload = Workload::ALL
        .into_iter()
        .find(|w| w.name() == name)
        .unwrap_or_else(|| panic!("unknown workload `{name}`"));
    let iters: usize = arg(3, "20").parse().expect("iterations: a number");
    match arg(0, "goro").as_str() {
        "goro" => run::<Goro>(workload, procs, iters),
        "goro-nostats" => run::<GoroNoStats>(workload, procs, iters),
        "tokio" => run::<tokio::runtime::Runtime>(workload, procs, iters),
        other => panic!("unknown runtime `{other}` (goro, goro-nostats, tokio)"),
    }
}
