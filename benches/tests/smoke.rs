//! Every workload completes on both runtimes at 1 and 2 workers (one iteration each), so
//! a broken workload shows up in `cargo test`, not halfway through a bench run.

use goro_benches::sched::Workload;
use goro_benches::{BenchRuntime, Goro, GoroNoStats};

fn run_all<R: BenchRuntime>() {
    for procs in [1, 2] {
        for workload in Workload::ALL {
            let mut prepared = workload
                .prepare::<R>(procs)
                .unwrap_or_else(|e| panic!("building {} with {procs} workers: {e}", R::NAME));
            prepared.run();
        }
    }
}

#[test]
fn workloads_complete_on_goro() {
    run_all::<Goro>();
}

#[test]
fn workloads_complete_on_goro_without_stats() {
    run_all::<GoroNoStats>();
}

#[test]
fn workloads_complete_on_tokio() {
    run_all::<tokio::runtime::Runtime>();
}

#[test]
fn timer_workloads_complete() {
    use goro_benches::timers::Workload;
    for procs in [1, 2] {
        for workload in Workload::ALL {
            workload.prepare::<Goro>(procs).unwrap().run();
            workload
                .prepare::<tokio::runtime::Runtime>(procs)
                .unwrap()
                .run();
        }
    }
}

#[test]
fn echo_workloads_complete() {
    use goro_benches::echo::Workload;
    use goro_benches::server::Side;
    for procs in [1, 2] {
        for workload in Workload::ALL {
            for side in [Side::Goro, Side::GoroNoStats, Side::Tokio] {
                let mut bench = workload
                    .prepare(side, procs)
                    .unwrap_or_else(|e| panic!("{} procs={procs}: {e}", side.name()));
                bench.run();
                bench.run();
            }
        }
    }
}
