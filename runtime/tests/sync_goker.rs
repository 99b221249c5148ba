//! Real deadlocks, ported: the lock kernels of the GoKer blocking-bug suite (GoBench:
//! Kubernetes, etcd, gRPC, CockroachDB, Moby, Syncthing), written as a Rust engineer would
//! write them with `goro::sync`. Each keeps the shape of its Go original (who locks what, in
//! which order, through which call) and names it. At default settings every lock cycle
//! must be reported as deadlocked within one stats cycle (1 s), naming every task of the
//! cycle; legitimate long waits next to them must not be.
//!
//! Kernels whose cycle goes through a channel (Kubernetes#10182, Moby#28462, gRPC#1460:
//! a lock holder blocks on a send whose receiver first wants the lock) are not lock
//! cycles: goro cannot know which task owns a channel's other end, so they are left to the
//! age rule. `channel_cycles_are_not_reported_as_lock_deadlocks` keeps that honest.

mod common;

use common::in_one_of;
use goro::stats::LeakReport;
use goro::sync::{mpsc, Barrier, Mutex, Notify, RwLock, Semaphore};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

type Kernel = fn() -> Pin<Box<dyn Future<Output = ()> + Send>>;

/// Yields until a writer is queued on `lock` (a queued writer makes `try_read` fail).
async fn writer_queued(lock: &RwLock<()>) {
    while lock.try_read().is_ok() {
        goro::task::yield_now().await;
    }
}

/// cockroach#584: the gossip loop locks its mutex each round and an early `continue`
/// keeps the guard (here: stashed for "later"), so the next round locks it again.
fn cockroach_584() -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async {
        let mu = Arc::new(Mutex::new(0u32));
        goro::spawn(async move {
            let mut kept = Vec::new();
            for round in 0..2 {
                let g = mu.lock().await;
                if round == 0 {
                    kept.push(g); // the Go code returned early without Unlock
                    continue;
                }
            }
        });
    })
}

/// cockroach#9935: `Replica.mu` held while calling a helper that locks it again.
fn cockroach_9935() -> Pin<Box<dyn Future<Output = ()> + Send>> {
    async fn helper(mu: &Mutex<u32>) -> u32 {
        *mu.lock().await
    }
    Box::pin(async {
        let mu = Arc::new(Mutex::new(1u32));
        goro::spawn(async move {
            let g = mu.lock().await;
            let v = helper(&mu).await;
            drop((g, v));
        });
    })
}

/// etcd#10492: the lessor holds its lock while calling the checkpoint callback, which
/// takes the lessor's lock.
fn etcd_10492() -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async {
        let lessor = Arc::new(Mutex::new(Vec::<u64>::new()));
        goro::spawn(async move {
            let leases = lessor.lock().await;
            let checkpoint = |l: Arc<Mutex<Vec<u64>>>| async move { l.lock().await.push(1) };
            checkpoint(lessor.clone()).await;
            drop(leases);
        });
    })
}

/// moby#36114: the service VM locks, then `hotRemoveVHDs` locks the same mutex.
fn moby_36114() -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async {
        let svm = Arc::new(Mutex::new(()));
        goro::spawn(async move {
            let _g = svm.lock().await;
            let _again = svm.lock().await;
        });
    })
}

/// cockroach#7504: two goroutines take the lease mutex and the table mutex in opposite
/// orders.
fn cockroach_7504() -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(ab_ba())
}

/// moby#4951: `DeviceSet` and a device's own lock, taken in opposite orders by a remove
/// and a deactivate.
fn moby_4951() -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(ab_ba())
}

async fn ab_ba() {
    let (a, b) = (Arc::new(Mutex::new(())), Arc::new(Mutex::new(())));
    let both = Arc::new(Barrier::new(2));
    for (first, second) in [(a.clone(), b.clone()), (b, a)] {
        let both = both.clone();
        goro::spawn(async move {
            let _first = first.lock().await;
            both.wait().await;
            let _second = second.lock().await;
        });
    }
}

/// cockroach#10214: the coalesced heartbeat path takes `Store.mu` then `Replica.mu`, the
/// quiesce path `Replica.mu` then `Store.mu`; the store side is an `RwLock` read.
fn cockroach_10214() -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async {
        let store = Arc::new(RwLock::new(()));
        let replica = Arc::new(Mutex::new(()));
        let both = Arc::new(Barrier::new(2));
        let (s, r, b) = (store.clone(), replica.clone(), both.clone());
        goro::spawn(async move {
            let _s = s.write().await;
            b.wait().await;
            let _r = r.lock().await;
        });
        goro::spawn(async move {
            let _r = replica.lock().await;
            both.wait().await;
            let _s = store.read().await;
        });
    })
}

/// kubernetes#30872: three components (informer, cluster cache, federated store) each
/// hold their lock and call into the next.
fn kubernetes_30872() -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async {
        let locks: Vec<Arc<Mutex<()>>> = (0..3).map(|_| Arc::new(Mutex::new(()))).collect();
        let all = Arc::new(Barrier::new(3));
        for i in 0..3 {
            let (mine, next, all) = (locks[i].clone(), locks[(i + 1) % 3].clone(), all.clone());
            goro::spawn(async move {
                let _mine = mine.lock().await;
                all.wait().await;
                let _next = next.lock().await;
            });
        }
    })
}

/// syncthing#4829: the model holds `pmut` for reading and calls a method that takes it
/// for writing.
fn syncthing_4829() -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async {
        let pmut = Arc::new(RwLock::new(()));
        goro::spawn(async move {
            let _r = pmut.read().await;
            let _w = pmut.write().await;
        });
    })
}

/// etcd#5509: `r.mu` read-locked in `Range`, then the same request path write-locks it.
fn etcd_5509() -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async {
        let mu = Arc::new(RwLock::new(0u64));
        goro::spawn(async move {
            let rev = mu.read().await;
            let mut w = mu.write().await;
            *w = *rev + 1;
        });
    })
}

/// kubernetes#62464 (RWR): a goroutine read-locks twice; a writer queued in between
/// blocks the second read and waits for the first.
fn kubernetes_62464() -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(rwr())
}

/// cockroach#3710: `processRaft` read-locks the store twice (through a helper) while the
/// split path queues a write lock in between.
fn cockroach_3710() -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(rwr())
}

/// cockroach#6181: a range scan read-locks the descriptor cache twice, a cache update
/// queues a write lock in between.
fn cockroach_6181() -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(rwr())
}

async fn rwr() {
    let lock = Arc::new(RwLock::new(()));
    goro::spawn(async move {
        let _first = lock.read().await;
        let l = lock.clone();
        goro::spawn(async move {
            let _w = l.write().await;
        });
        writer_queued(&lock).await;
        let _second = lock.read().await;
    });
}

/// grpc#862 (in spirit): a connection pool as a semaphore; a stream holds a slot and waits
/// for the transport lock, whose holder waits for a slot.
fn grpc_862() -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async {
        let slots = Arc::new(Semaphore::new(1));
        let transport = Arc::new(Mutex::new(()));
        let both = Arc::new(Barrier::new(2));
        let (s, t, b) = (slots.clone(), transport.clone(), both.clone());
        goro::spawn(async move {
            let _slot = s.acquire().await.unwrap();
            b.wait().await;
            let _t = t.lock().await;
        });
        goro::spawn(async move {
            let _t = transport.lock().await;
            both.wait().await;
            let _slot = slots.acquire().await.unwrap();
        });
    })
}

/// Every lock kernel and how many tasks its cycle has.
const KERNELS: [(&str, Kernel, usize); 15] = [
    ("cockroach#584", cockroach_584, 1),
    ("cockroach#9935", cockroach_9935, 1),
    ("etcd#10492", etcd_10492, 1),
    ("moby#36114", moby_36114, 1),
    ("cockroach#7504", cockroach_7504, 2),
    ("moby#4951", moby_4951, 2),
    ("cockroach#10214", cockroach_10214, 2),
    ("kubernetes#30872", kubernetes_30872, 3),
    ("syncthing#4829", syncthing_4829, 1),
    ("etcd#5509", etcd_5509, 1),
    ("kubernetes#62464", kubernetes_62464, 2),
    ("cockroach#3710", cockroach_3710, 2),
    ("cockroach#6181", cockroach_6181, 2),
    ("grpc#862", grpc_862, 2),
    ("moby#7559", moby_7559, 1),
];

/// moby#7559: the UDP proxy locks its connection table in a loop and an error path
/// `continue`s with the lock held (the guard kept in the loop's state).
fn moby_7559() -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async {
        let table = Arc::new(Mutex::new(Vec::<u16>::new()));
        goro::spawn(async move {
            let mut held = None;
            for port in [1u16, 2] {
                let g = table.lock().await;
                if port == 1 {
                    held = Some(g); // "continue" without Unlock
                    continue;
                }
                drop(g);
            }
            drop(held);
        });
    })
}

/// Legitimate long waits that run next to every kernel, with no timer on the waits
/// themselves: workers of a pool on a channel (one in `recv`, the others queued on the
/// mutex around the receiver: a chain, not a cycle), a lock held across a long sleep with a
/// waiter behind it, and a shutdown listener.
fn legitimate_waits() -> Vec<goro::task::JoinHandle<()>> {
    let (jobs_tx, jobs) = mpsc::channel::<u32>(8);
    let jobs = Arc::new(Mutex::new(jobs));
    let shutdown = Arc::new(Notify::new());
    let held = Arc::new(Mutex::new(()));
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let jobs = jobs.clone();
        tasks.push(goro::spawn(async move {
            let mut done = 0;
            while let Some(job) = jobs.lock().await.recv().await {
                done += job;
            }
            assert!(done <= 1);
        }));
    }
    let listener = shutdown.clone();
    tasks.push(goro::spawn(async move { listener.notified().await }));
    let h = held.clone();
    tasks.push(goro::spawn(async move {
        let _g = h.lock().await;
        goro::time::sleep(Duration::from_millis(200)).await;
    }));
    tasks.push(goro::spawn(async move {
        goro::time::sleep(Duration::from_millis(10)).await;
        let _g = held.lock().await;
    }));
    tasks.push(goro::spawn(async move {
        goro::time::sleep(Duration::from_millis(200)).await;
        jobs_tx.send(1).await.unwrap();
        drop(jobs_tx);
        shutdown.notify_one();
    }));
    tasks
}

#[test]
fn every_lock_kernel_is_reported_within_one_stats_cycle() {
    for (name, kernel, cycle) in KERNELS {
        in_one_of(3, || {
            let rt = goro::Runtime::new().map_err(|e| e.to_string())?;
            let started = Instant::now();
            let report = rt.block_on(async {
                let legit = legitimate_waits();
                kernel().await;
                let deadline = Instant::now() + Duration::from_secs(1);
                let mut report = goro::stats::leak_report();
                while report.deadlocked.is_empty() && Instant::now() < deadline {
                    goro::time::sleep(Duration::from_millis(2)).await;
                    report = goro::stats::leak_report();
                }
                for t in legit {
                    t.await.unwrap();
                }
                goro::stats::leak_report()
            });
            check_kernel(name, cycle, &report, started.elapsed())
        });
    }
}

fn check_kernel(
    name: &str,
    cycle: usize,
    report: &LeakReport,
    took: Duration,
) -> Result<(), String> {
    let [d] = report.deadlocked.as_slice() else {
        return Err(format!(
            "{name}: want one deadlock after {took:?}, got:\n{report}"
        ));
    };
    if d.tasks.len() != cycle {
        return Err(format!("{name}: want a cycle of {cycle} tasks:\n{d}"));
    }
    if d.detected_at > Duration::from_secs(1) + took.min(Duration::from_secs(1)) {
        return Err(format!("{name}: found late, at {:?}", d.detected_at));
    }
    eprintln!("{name}: {d}");
    Ok(())
}

#[test]
fn channel_cycles_are_not_reported_as_lock_deadlocks() {
    // kubernetes#10182 / moby#28462 / grpc#1460: the lock holder waits on a full channel
    // whose receiver first waits for the lock.
    let rt = goro::Runtime::new().unwrap();
    let report = rt.block_on(async {
        let mu = Arc::new(Mutex::new(()));
        let (tx, mut rx) = mpsc::channel::<u32>(1);
        tx.try_send(0).unwrap();
        let m = mu.clone();
        goro::spawn(async move {
            let _g = m.lock().await;
            let _ = tx.send(1).await; // full: waits for the receiver
        });
        goro::spawn(async move {
            goro::time::sleep(Duration::from_millis(5)).await;
            let _g = mu.lock().await; // waits for the sender's lock
            let _ = rx.recv().await;
        });
        goro::time::sleep(Duration::from_millis(100)).await;
        goro::stats::leak_report()
    });
    assert!(report.deadlocked.is_empty(), "{report}");
}
