//! Scheduler suite: tokio's `benches/rt_multi_threaded.rs` workloads on goro and on tokio,
//! with the same number of workers, in one run.
//!
//! Criterion ids are `sched/<workload>/<procs>/{goro,tokio}`; compare the two functions of a
//! group, not figures across machines. Run with `cargo bench -p goro-benches --bench sched`
//! (add a filter such as `-- sched/yield_many` to run part of it). For a quick side-by-side
//! table instead, use `cargo run --release -p goro-tools --bin goro-bench`.

use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use goro_benches::sched::{Prepared, Workload};
use goro_benches::BenchRuntime;

/// Worker counts to compare at (the bench machine has 2 cores).
const PROCS: [usize; 2] = [1, 2];

fn sched(c: &mut Criterion) {
    for procs in PROCS {
        for workload in Workload::ALL {
            let mut group = c.benchmark_group(format!("sched/{workload}/{procs}"));
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

/// Benches `workload` on runtime `R`. The runtime is built lazily, the first time criterion
/// calls the routine (so filtered-out benches build nothing), kept for every sample, and
/// shut down before the next runtime is built, so the two never run at the same time.
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

criterion_group!(benches, sched);
criterion_main!(benches);
