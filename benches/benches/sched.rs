//! Scheduler suite: tokio's `benches/rt_multi_threaded.rs` workloads on goro and on tokio,
//! with the same number of workers, in one run.
//!
//! Criterion ids are `sched/<workload>/<procs>/{goro,tokio}`; compare the two functions of a
//! group, not figures across machines. Run with `cargo bench -p goro-benches --bench sched`
//! (add a filter such as `-- sched/yield_many` to run part of it). For a quick side-by-side
//! table instead, use `cargo run --release -p goro-tools --bin goro-bench`.

use criterion::{criterion_main, Criterion};
use goro_benches::sched::Workload;

mod common;

fn sched(c: &mut Criterion) {
    common::runtime_suite::<Workload>(c, "sched");
}

/// The criterion group, in a module of its own: `criterion_group!` defines a `pub fn`
/// that cannot carry a doc.
mod group {
    criterion::criterion_group!(benches, super::sched);
}

criterion_main!(group::benches);
