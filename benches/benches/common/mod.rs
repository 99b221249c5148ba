//! The driver every criterion suite here shares: one group per workload and processor count
//! (`<suite>/<workload>/<procs>`), one function per runtime in it, each set up on first use
//! and torn down before the next one starts, so two runtimes never run at the same time.

// Each bench crate includes this module and uses part of it.
#![allow(dead_code)]

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput};
use goro_benches::server::Side;
use goro_benches::{echo, BenchRuntime, Goro, RuntimeWorkload};
use std::fmt::Display;
use std::io;
use std::time::Duration;

/// Worker counts to compare at (the bench machine has 2 cores).
pub const PROCS: [usize; 2] = [1, 2];

/// Calls `body` with a group for every processor count and workload, configured first by
/// `configure`.
pub fn for_each_group<W: Display + Copy>(
    c: &mut Criterion,
    suite: &str,
    workloads: &[W],
    configure: impl Fn(&mut BenchmarkGroup<'_, WallTime>),
    mut body: impl FnMut(&mut BenchmarkGroup<'_, WallTime>, W, usize),
) {
    for procs in PROCS {
        for &workload in workloads {
            let mut group = c.benchmark_group(format!("{suite}/{workload}/{procs}"));
            configure(&mut group);
            body(&mut group, workload, procs);
            group.finish();
        }
    }
}

/// One function named `name`: `prepare` runs the first time criterion calls the routine (so
/// filtered-out benches build nothing), `run` is what gets timed, and the prepared setup is
/// dropped before this returns.
pub fn bench_lazily<P>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    prepare: impl FnOnce() -> io::Result<P>,
    mut run: impl FnMut(&mut P),
) {
    let mut prepare = Some(prepare);
    let mut prepared: Option<P> = None;
    group.bench_function(name, |b| {
        let prepared = prepared.get_or_insert_with(|| {
            let prepare = prepare.take().expect("set up once");
            prepare().unwrap_or_else(|e| panic!("setting up the {name} side: {e}"))
        });
        b.iter(|| run(prepared));
    });
    drop(prepared);
}

/// A whole suite of workloads that run on either runtime: each on goro and on tokio with the
/// same number of workers.
pub fn runtime_suite<W: RuntimeWorkload>(c: &mut Criterion, suite: &str) {
    runtime_pair::<W, Goro, tokio::runtime::Runtime>(c, suite);
}

/// A whole suite of workloads on two runtimes `A` and `B` with the same number of workers,
/// one function per runtime named after it ([`BenchRuntime::NAME`]), `A` first.
pub fn runtime_pair<W: RuntimeWorkload, A: BenchRuntime, B: BenchRuntime>(
    c: &mut Criterion,
    suite: &str,
) {
    for_each_group(
        c,
        suite,
        W::WORKLOADS,
        |group| {
            group
                .sample_size(30)
                .warm_up_time(Duration::from_secs(1))
                .measurement_time(Duration::from_secs(3));
        },
        |group, workload, procs| {
            bench_lazily(group, A::NAME, || workload.prepare::<A>(procs), W::run);
            bench_lazily(group, B::NAME, || workload.prepare::<B>(procs), W::run);
        },
    );
}

/// The echo suite with a server on each of `sides` in turn, one function per side named
/// after it; throughput is in round trips.
pub fn echo_suite(c: &mut Criterion, suite: &str, sides: [Side; 2]) {
    for_each_group(
        c,
        suite,
        &echo::Workload::ALL,
        |group| {
            group
                .sample_size(20)
                .warm_up_time(Duration::from_secs(1))
                .measurement_time(Duration::from_secs(4))
                .throughput(Throughput::Elements(
                    (echo::CONNECTIONS * echo::ROUND_TRIPS) as u64,
                ));
        },
        |group, workload, procs| {
            for side in sides {
                bench_lazily(
                    group,
                    side.name(),
                    || workload.prepare(side, procs),
                    |p| p.run(),
                );
            }
        },
    );
}
