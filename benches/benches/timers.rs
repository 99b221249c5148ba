//! Timer suite: arming and cancelling 10 000 sleeps, and 1 000 tasks sleeping 1 ms ten
//! times, on goro and on tokio (built with `enable_all()`) with the same number of workers,
//! in one run. See `goro_benches::timers` for what each workload stresses.
//!
//! Criterion ids are `timers/<workload>/<procs>/{goro,tokio}`. Run with
//! `cargo bench -p goro-benches --bench timers`. Threads are not pinned.

use criterion::{criterion_main, Criterion};
use goro_benches::timers::Workload;

mod common;

fn timers(c: &mut Criterion) {
    common::runtime_suite::<Workload>(c, "timers");
}

/// The criterion group, in a module of its own: `criterion_group!` defines a `pub fn`
/// that cannot carry a doc.
mod group {
    criterion::criterion_group!(benches, super::timers);
}

criterion_main!(group::benches);
