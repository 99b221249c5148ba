//! Timer suite: arming and cancelling 10 000 sleeps, and 1 000 tasks sleeping 1 ms ten
//! times, on goro and on tokio (built with `enable_all()`) with the same number of workers,
//! in one run. See `goro_benches::timers` for what each workload stresses.
//!
//! Criterion ids are `timers/<workload>/<procs>/{goro,tokio}`. Run with
//! `cargo bench -p goro-benches --bench timers`. Threads are not pinned.

use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use goro_benches::timers::{Prepared, Workload};
use goro_benches::BenchRuntime;

/// Worker counts to compare at (the bench machine has 2 cores).
const PROCS: [usize; 2] = [1, 2];

fn timers(c: &mut Criterion) {
    for procs in PROCS {
        for workload in Workload::ALL {
            let mut group = c.benchmark_group(format!("timers/{workload}/{procs}"));
            group
                .sample_size(30)
                .warm_up_time(Duration::from_secs(1))
                .measurement_time(Duration::from_secs(3));
            bench::<goro::Runtime>(&mut group, workload, procs);
            bench::<tokio::runtime::Runtime>(&mut group, workload, procs);
            group.finish();
        }
    }
}

/// Benches `workload` on runtime `R`, built lazily on first use and shut down before the
/// next runtime is built.
fn bench<R: BenchRuntime>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    workload: Workload,
    procs: usize,
) {
    let mut prepared: Option<Prepared<R>> = None;
    group.bench_function(R::NAME, |b| {
        let prepared = prepared.get_or_insert_with(|| {
            workload
                .prepare::<R>(procs)
                .unwrap_or_else(|e| panic!("building {} with {procs} workers: {e}", R::NAME))
        });
        b.iter(|| prepared.run());
    });
    drop(prepared);
}

criterion_group!(benches, timers);
criterion_main!(benches);
