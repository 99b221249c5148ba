//! What goro's stats cost: the scheduler suite and the TCP echo suite on goro with
//! `stats(true)` (the default) and with `stats(false)` (no sampled clock readings, no
//! histograms), same number of processors, in one process.
//!
//! Criterion ids are `stats_overhead/sched/<workload>/<procs>/{goro,goro-nostats}` and
//! `stats_overhead/echo/<size>/<procs>/{goro,goro-nostats}` (echo throughput in round
//! trips); compare the two functions of a group. Run with
//! `cargo bench -p goro-benches --bench stats_overhead`. Criterion runs the two one after the
//! other; for runs interleaved on fresh runtimes and the ratios (with the sched geomean) in
//! one table, use `goro-bench --suite overhead`.

use criterion::{criterion_main, Criterion};
use goro_benches::server::Side;
use goro_benches::{sched, Goro, GoroNoStats};

mod common;

fn stats_overhead(c: &mut Criterion) {
    common::runtime_pair::<sched::Workload, Goro, GoroNoStats>(c, "stats_overhead/sched");
    common::echo_suite(c, "stats_overhead/echo", [Side::Goro, Side::GoroNoStats]);
}

/// The criterion group, in a module of its own: `criterion_group!` defines a `pub fn`
/// that cannot carry a doc.
mod group {
    criterion::criterion_group!(benches, super::stats_overhead);
}

criterion_main!(group::benches);
