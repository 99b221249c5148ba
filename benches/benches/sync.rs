//! What `goro::sync` costs over `tokio::sync`, both on a goro runtime, in one run:
//!
//! * `sync/uncontended_lock/1/{goro,tokio}`: one task locks and unlocks a `Mutex` (and
//!   bumps the value) over and over; per lock + unlock. goro records the owner on lock and
//!   clears it on unlock: this is the price of knowing lock holders.
//! * `sync/contended_lock/2/{goro,tokio}`: four tasks on two processors bump one `Mutex`;
//!   per lock + unlock (waits, wake-ups, edge registration and the deadlock walk included).
//! * `sync/ping_pong/1/{goro,tokio}`: two tasks bounce a message over two bounded `mpsc`
//!   channels; per round trip.
//!
//! Each sample runs its loop inside one spawned task and times it there (`iter_custom`),
//! so spawn and `block_on` costs stay out of the figure. Run with
//! `cargo bench -p goro-benches --bench sync` and compare the two functions of a group.

use criterion::{criterion_main, Criterion};
use std::time::Duration;

/// The workloads, written once against a module with tokio's `sync` API.
macro_rules! workloads {
    ($name:ident, $sync:path) => {
        mod $name {
            use std::sync::Arc;
            use std::time::{Duration, Instant};
            use $sync as sync;

            pub async fn uncontended_lock(iters: u64) -> Duration {
                let m = sync::Mutex::new(0u64);
                let start = Instant::now();
                for _ in 0..iters {
                    *m.lock().await += 1;
                }
                let elapsed = start.elapsed();
                assert_eq!(*m.lock().await, iters);
                elapsed
            }

            pub async fn contended_lock(iters: u64) -> Duration {
                const TASKS: u64 = 4;
                let m = Arc::new(sync::Mutex::new(0u64));
                let each = iters.div_ceil(TASKS);
                let start = Instant::now();
                let tasks: Vec<_> = (0..TASKS)
                    .map(|_| {
                        let m = m.clone();
                        goro::spawn(async move {
                            for _ in 0..each {
                                *m.lock().await += 1;
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
                let elapsed = start.elapsed();
                assert_eq!(*m.lock().await, each * TASKS);
                elapsed
            }

            pub async fn ping_pong(iters: u64) -> Duration {
                let (ping_tx, mut ping_rx) = sync::mpsc::channel::<u64>(1);
                let (pong_tx, mut pong_rx) = sync::mpsc::channel::<u64>(1);
                let echo = goro::spawn(async move {
                    while let Some(n) = ping_rx.recv().await {
                        pong_tx.send(n).await.unwrap();
                    }
                });
                let start = Instant::now();
                for i in 0..iters {
                    ping_tx.send(i).await.unwrap();
                    assert_eq!(pong_rx.recv().await, Some(i));
                }
                let elapsed = start.elapsed();
                drop(ping_tx);
                echo.await.unwrap();
                elapsed
            }
        }
    };
}

workloads!(on_goro, goro::sync);
workloads!(on_tokio, tokio::sync);

type Workload = fn(u64) -> std::pin::Pin<Box<dyn std::future::Future<Output = Duration> + Send>>;

fn sync(c: &mut Criterion) {
    let cases: [(&str, usize, Workload, Workload); 3] = [
        (
            "uncontended_lock",
            1,
            |n| Box::pin(on_goro::uncontended_lock(n)),
            |n| Box::pin(on_tokio::uncontended_lock(n)),
        ),
        (
            "contended_lock",
            2,
            |n| Box::pin(on_goro::contended_lock(n)),
            |n| Box::pin(on_tokio::contended_lock(n)),
        ),
        (
            "ping_pong",
            1,
            |n| Box::pin(on_goro::ping_pong(n)),
            |n| Box::pin(on_tokio::ping_pong(n)),
        ),
    ];
    for (name, procs, goro_side, tokio_side) in cases {
        let rt = goro_benches::goro_builder(procs, true)
            .build()
            .expect("a goro runtime");
        let mut group = c.benchmark_group(format!("sync/{name}/{procs}"));
        group
            .sample_size(30)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        for (side, workload) in [("goro", goro_side), ("tokio", tokio_side)] {
            group.bench_function(side, |b| {
                b.iter_custom(|iters| {
                    let task = rt.spawn(workload(iters));
                    rt.block_on(task).expect("the bench task")
                })
            });
        }
        group.finish();
    }
}

/// The criterion group, in a module of its own: `criterion_group!` defines a `pub fn`
/// that cannot carry a doc.
mod group {
    criterion::criterion_group!(benches, super::sync);
}

criterion_main!(group::benches);
