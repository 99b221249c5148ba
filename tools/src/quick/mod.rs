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
//! their geomean over the sched workloads and the echo throughput ratio (the bar:
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

//!
//! The engine is split by job: `suite.rs` (the suites and their workloads), `args.rs` (the
//! command line), `measure.rs` (rounds, sessions, the figures), `watchdog.rs`, `probe.rs`
//! (what `/proc` says about the machine), and `render.rs` (the tables and the JSON).

mod args;
mod measure;
mod probe;
mod render;
mod suite;
#[cfg(test)]
mod tests;
mod watchdog;

pub use args::{parse_args, Command, Options, USAGE};
pub use measure::{geomean, measure_row, run, Outcome, Report, Row, Sample};
pub use probe::{available_cores, cpu_busy, loadavg};
pub use render::{render_json, render_table};
pub use suite::{Suite, Workload};
pub use watchdog::Watchdog;

use std::time::Duration;

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
/// The bar: stats on may cost at most this much against stats off.
pub const OVERHEAD_BAR: f64 = 0.02;
