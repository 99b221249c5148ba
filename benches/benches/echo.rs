//! TCP echo suite: 64 loopback connections, each doing 100 round trips per iteration with
//! 1 KiB or 64 B messages, against an echo server on goro (1 or 2 processors) or on tokio
//! (`current_thread` for 1, `multi_thread` with 2 workers for 2). The clients are the same
//! for both: a tokio `current_thread` runtime on a thread of its own. See
//! `goro_benches::echo`.
//!
//! Criterion ids are `echo/<size>/<procs>/{goro,tokio}`; throughput is reported in round
//! trips. Placement: clients pinned to the first core; the server pinned to the second at
//! procs=1 and free on both at procs=2 (`GORO_BENCH_PIN=0` pins nothing). Run with
//! `cargo bench -p goro-benches --bench echo`.

use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use goro_benches::echo::{EchoBench, Workload, CONNECTIONS, ROUND_TRIPS};
use goro_benches::server::Side;

/// Worker counts to compare at (the bench machine has 2 cores).
const PROCS: [usize; 2] = [1, 2];

fn echo(c: &mut Criterion) {
    for procs in PROCS {
        for workload in Workload::ALL {
            let mut group = c.benchmark_group(format!("echo/{workload}/{procs}"));
            group
                .sample_size(20)
                .warm_up_time(Duration::from_secs(1))
                .measurement_time(Duration::from_secs(4))
                .throughput(Throughput::Elements((CONNECTIONS * ROUND_TRIPS) as u64));
            for side in [Side::Goro, Side::Tokio] {
                bench(&mut group, workload, side, procs);
            }
            group.finish();
        }
    }
}

/// Benches `workload` with the server on `side`; the server and clients start on first use
/// and stop before the next side starts.
fn bench(group: &mut BenchmarkGroup<'_, WallTime>, workload: Workload, side: Side, procs: usize) {
    let mut running: Option<EchoBench> = None;
    group.bench_function(side.name(), |b| {
        let running = running.get_or_insert_with(|| {
            workload
                .prepare(side, procs)
                .unwrap_or_else(|e| panic!("starting the {} echo server: {e}", side.name()))
        });
        b.iter(|| running.run());
    });
    drop(running);
}

criterion_group!(benches, echo);
criterion_main!(benches);
