//! Timer suite: arming and cancelling 10 000 sleeps, and 1 000 tasks sleeping 1 ms ten
//! times, on goro and on tokio (built with `enable_all()`) with the same number of workers,
//! in one run. See `goro_benches::timers` for what each workload stresses.
//!
//! Criterion ids are `timers/<workload>/<procs>/{goro,tokio}`. Run with
//! `cargo bench -p goro-benches --bench timers`. Threads are not pinned.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use goro_benches::timers::Workload;

mod common;

fn timers(c: &mut Criterion) {
    common::for_each_group(
        c,
        "timers",
        &Workload::ALL,
        |group| {
            group
                .sample_size(30)
                .warm_up_time(Duration::from_secs(1))
                .measurement_time(Duration::from_secs(3));
        },
        |group, workload, procs| {
            common::bench_lazily(
                group,
                "goro",
                || workload.prepare::<goro::Runtime>(procs),
                |p| p.run(),
            );
            common::bench_lazily(
                group,
                "tokio",
                || workload.prepare::<tokio::runtime::Runtime>(procs),
                |p| p.run(),
            );
        },
    );
}

criterion_group!(benches, timers);
criterion_main!(benches);
