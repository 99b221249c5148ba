//! Every workload completes on both runtimes at 1 and 2 workers (one iteration each), so
//! a broken workload shows up in `cargo test`, not halfway through a bench run.

use goro_benches::sched::Workload;
use goro_benches::BenchRuntime;

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
    run_all::<goro::Runtime>();
}

#[test]
fn workloads_complete_on_tokio() {
    run_all::<tokio::runtime::Runtime>();
}
