//! `goro::sync` as tokio tests its own (ported in spirit), at 1 and 2 processors: mutual
//! exclusion, fairness, owned guards and permits, closing, notifications, barriers and the
//! four channel kinds; then what goro adds: every wait is named (op and line) in the task
//! dump, and every wait takes the cooperative budget.

mod common;

use common::{each_procs, rt, wait_for_op, wait_for_waits};
use goro::stats::WaitOp;
use goro::sync::{
    broadcast, mpsc, oneshot, watch, AcquireError, Barrier, Mutex, Notify, RwLock, Semaphore,
    SetOnce, TryAcquireError,
};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn mutex_excludes_across_tasks_and_yields() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        rt.block_on(async {
            let m = Arc::new(Mutex::new(0u64));
            let tasks: Vec<_> = (0..8)
                .map(|_| {
                    let m = m.clone();
                    goro::spawn(async move {
                        for _ in 0..200 {
                            let mut g = m.lock().await;
                            let seen = *g;
                            goro::task::yield_now().await; // others run while it is held
                            *g = seen + 1;
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            assert_eq!(*m.lock().await, 1600);
        });
    });
}

#[test]
fn mutex_try_lock_owned_guards_and_into_inner() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        rt.block_on(async {
            let m = Arc::new(Mutex::new(vec![1]));
            let g = m.clone().lock_owned().await;
            assert!(m.try_lock().is_err());
            assert!(m.clone().try_lock_owned().is_err());
            assert_eq!(
                m.try_lock().unwrap_err().to_string(),
                "operation would block"
            );
            assert_eq!(format!("{m:?}"), "Mutex { data: <locked> }");
            // The owned guard moves into another task and unlocks there.
            goro::spawn(async move {
                let mut g = g;
                g.push(2);
            })
            .await
            .unwrap();
            m.try_lock().unwrap().push(3);
            let m = Arc::try_unwrap(m).unwrap();
            assert_eq!(m.into_inner(), [1, 2, 3]);
        });
    });
}

#[test]
fn mutex_serves_waiters_in_order() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        rt.block_on(async {
            let m = Arc::new(Mutex::new(Vec::new()));
            let held = m.clone().lock_owned().await;
            let mut tasks = Vec::new();
            for i in 0..5 {
                let mi = m.clone();
                tasks.push(goro::spawn(async move { mi.lock().await.push(i) }));
                // Each waiter is queued before the next is spawned.
                wait_for_op(WaitOp::MutexLock, i + 1).await;
            }
            drop(held);
            for t in tasks {
                t.await.unwrap();
            }
            assert_eq!(*m.lock().await, [0, 1, 2, 3, 4]);
        });
    });
}

/// Polls `fut` once with a waker that does nothing (the test drives every step itself).
fn poll_once<F: std::future::Future + Unpin>(fut: &mut F) -> std::task::Poll<F::Output> {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    std::pin::Pin::new(fut).poll(&mut cx)
}

#[test]
fn mutex_lets_a_running_task_in_first_but_hands_over_to_a_waiter_after_1_ms() {
    let m = Mutex::new(());
    let held = m.try_lock().unwrap();
    let mut waiter = Box::pin(m.lock());
    assert!(poll_once(&mut waiter).is_pending());
    // Normal mode: the unlock wakes the waiter, and a task that is running takes the lock
    // before the waiter is back.
    drop(held);
    let barged = m
        .try_lock()
        .expect("a running task may take a just-freed lock");
    assert!(poll_once(&mut waiter).is_pending());
    drop(barged);
    // The waiter is back first this time: it holds the lock.
    assert!(poll_once(&mut waiter).is_ready());
    drop(waiter);

    let held = m.try_lock().unwrap();
    let mut waiter = Box::pin(m.lock());
    assert!(poll_once(&mut waiter).is_pending());
    std::thread::sleep(Duration::from_millis(3));
    drop(held);
    let barged = m.try_lock().unwrap();
    // The waiter lost after waiting over 1 ms: starvation mode.
    assert!(poll_once(&mut waiter).is_pending());
    drop(barged);
    assert!(
        m.try_lock().is_err(),
        "after a long wait the unlock hands the lock to the waiter"
    );
    match poll_once(&mut waiter) {
        std::task::Poll::Ready(guard) => drop(guard),
        std::task::Poll::Pending => panic!("the waiter was handed the lock"),
    }
    drop(waiter);
    assert!(
        m.try_lock().is_ok(),
        "starvation mode ends once the queue is empty"
    );
}

/// Many tasks lock one mutex in every way at once: `lock`, `try_lock`, `lock_owned` with
/// the guard moved to another task, and waits given up by a timeout (some right after
/// being woken or handed the lock). Checks that the lock excludes (a plain counter updated
/// in two steps around a yield never loses an update), that every wait that did not give
/// up ends, and that the mutex is free at the end.
#[test]
fn mutex_stays_exclusive_under_mixed_use_and_cancellation() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        rt.block_on(async {
            BUMPS.store(0, SeqCst);
            let m = Arc::new(Mutex::new(0u64));
            let done = Arc::new(AtomicUsize::new(0));
            let tasks: Vec<_> = (0..8u64)
                .map(|t| {
                    let (m, done) = (m.clone(), done.clone());
                    goro::spawn(async move {
                        for i in 0..300u64 {
                            match (t + i) % 4 {
                                0 => bump(&mut *m.lock().await).await,
                                1 => {
                                    if let Ok(mut g) = m.try_lock() {
                                        bump(&mut g).await;
                                    }
                                }
                                2 => {
                                    let g = m.clone().lock_owned().await;
                                    goro::spawn(async move {
                                        let mut g = g;
                                        bump(&mut g).await;
                                    })
                                    .await
                                    .unwrap();
                                }
                                _ => {
                                    let wait = Duration::from_micros(20 * (i % 5));
                                    if let Ok(mut g) = goro::time::timeout(wait, m.lock()).await {
                                        bump(&mut g).await;
                                    }
                                }
                            }
                        }
                        done.fetch_add(1, SeqCst);
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            assert_eq!(done.load(SeqCst), 8);
            let total = *m.try_lock().expect("the mutex is free at the end");
            assert_eq!(total, BUMPS.load(SeqCst) as u64, "an update was lost");
            assert!(total >= 8 * 150, "{total} updates: too few locks succeeded");
        });
    });
}

/// Successful [`bump`]s, counted apart from the value the mutex guards.
static BUMPS: AtomicUsize = AtomicUsize::new(0);

/// Adds one to `value` in two steps with a yield between (another holder at the same time
/// would lose an update), and counts it in [`BUMPS`].
async fn bump(value: &mut u64) {
    let seen = *value;
    goro::task::yield_now().await;
    *value = seen + 1;
    BUMPS.fetch_add(1, SeqCst);
}

#[test]
fn rwlock_readers_share_writers_exclude_and_are_not_starved() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        rt.block_on(async {
            let lock = Arc::new(RwLock::new(0));
            let r1 = lock.read().await;
            let r2 = lock.clone().read_owned().await;
            assert_eq!(*r1 + *r2, 0);
            assert!(lock.try_write().is_err());
            let writer = goro::spawn({
                let lock = lock.clone();
                async move { *lock.write().await += 1 }
            });
            // Once the writer is queued, new readers wait behind it.
            wait_until_async(|| lock.try_read().is_err()).await;
            let late_reader = goro::spawn({
                let lock = lock.clone();
                async move { *lock.read().await }
            });
            drop((r1, r2));
            writer.await.unwrap();
            assert_eq!(
                late_reader.await.unwrap(),
                1,
                "the reader ran after the writer"
            );
            let mut w = lock.clone().write_owned().await;
            *w += 1;
            drop(w);
            assert_eq!(*lock.clone().try_read_owned().unwrap(), 2);
            assert_eq!(format!("{lock:?}"), "RwLock { data: 2 }");
        });
    });
}

async fn wait_until_async(mut cond: impl FnMut() -> bool) {
    while !cond() {
        goro::task::yield_now().await;
    }
}

#[test]
fn rwlock_max_readers_is_enforced_and_checked() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        rt.block_on(async {
            let lock = RwLock::with_max_readers((), 2);
            let _a = lock.read().await;
            let _b = lock.read().await;
            assert!(lock.try_read().is_err());
        });
    });
    let msg = common::expect_panic(|| RwLock::with_max_readers((), 0));
    assert!(msg.contains("max_reads must be in 1..="), "{msg}");
}

#[test]
fn semaphore_counts_closes_and_grants_in_order() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        rt.block_on(async {
            let sem = Arc::new(Semaphore::new(3));
            let two = sem.acquire_many(2).await.unwrap();
            assert_eq!((two.num_permits(), sem.available_permits()), (2, 1));
            assert_eq!(
                sem.try_acquire_many(2).unwrap_err(),
                TryAcquireError::NoPermits
            );
            let waiter = goro::spawn({
                let sem = sem.clone();
                async move { sem.acquire_many_owned(3).await.map(|p| p.num_permits()) }
            });
            goro::time::sleep(Duration::from_millis(5)).await;
            assert!(!waiter.is_finished());
            drop(two);
            assert_eq!(waiter.await.unwrap().unwrap(), 3);
            sem.try_acquire().unwrap().forget();
            assert_eq!(sem.available_permits(), 2);
            sem.add_permits(1);
            assert_eq!(sem.available_permits(), 3);
            assert_eq!(sem.forget_permits(1), 1);

            let _all = sem.acquire_many(2).await.unwrap();
            let blocked = goro::spawn({
                let sem = sem.clone();
                async move { sem.acquire().await.map(drop) }
            });
            goro::time::sleep(Duration::from_millis(5)).await;
            sem.close();
            assert!(sem.is_closed());
            let err: AcquireError = blocked.await.unwrap().unwrap_err();
            assert_eq!(err.to_string(), "semaphore closed");
            assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::Closed);
        });
    });
}

#[test]
fn notify_stores_one_permit_and_wakes_all_waiters() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        rt.block_on(async {
            let notify = Arc::new(Notify::new());
            notify.notify_one(); // stored for the next waiter
            notify.notified().await;

            let woken = Arc::new(AtomicUsize::new(0));
            let waiters: Vec<_> = (0..4)
                .map(|_| {
                    let (notify, woken) = (notify.clone(), woken.clone());
                    goro::spawn(async move {
                        notify.notified().await;
                        woken.fetch_add(1, SeqCst);
                    })
                })
                .collect();
            wait_for_op(WaitOp::NotifyNotified, 4).await;
            notify.notify_waiters();
            for w in waiters {
                w.await.unwrap();
            }
            assert_eq!(woken.load(SeqCst), 4);

            let mut enabled = std::pin::pin!(notify.notified());
            assert!(!enabled.as_mut().enable());
            notify.notify_waiters();
            enabled.await; // enabled before notify_waiters: woken by it
        });
    });
}

#[test]
fn barrier_releases_generations_with_one_leader_each() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        rt.block_on(async {
            let barrier = Arc::new(Barrier::new(3));
            let tasks: Vec<_> = (0..6)
                .map(|_| {
                    let b = barrier.clone();
                    goro::spawn(async move { b.wait().await.is_leader() as usize })
                })
                .collect();
            let mut leaders = 0;
            for t in tasks {
                leaders += t.await.unwrap();
            }
            assert_eq!(leaders, 2);
        });
    });
}

#[test]
fn mpsc_bounded_send_waits_for_room_and_the_channel_closes() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel(2);
            tx.send(1).await.unwrap();
            tx.try_send(2).unwrap();
            assert!(matches!(
                tx.try_send(3),
                Err(mpsc::error::TrySendError::Full(3))
            ));
            let sender = goro::spawn({
                let tx = tx.clone();
                async move { tx.send(3).await.unwrap() }
            });
            wait_for_op(WaitOp::MpscSend, 1).await;
            assert_eq!(rx.recv().await, Some(1));
            sender.await.unwrap();
            let permit = tx.try_reserve().unwrap_err(); // full again: 2, 3
            assert!(matches!(permit, mpsc::error::TrySendError::Full(())));
            assert_eq!((rx.len(), tx.capacity(), tx.max_capacity()), (2, 0, 2));
            drop(tx);
            let mut rest = Vec::new();
            assert_eq!(rx.recv_many(&mut rest, 10).await, 2);
            assert_eq!(rest, [2, 3]);
            assert_eq!(rx.recv().await, None);

            let (utx, mut urx) = mpsc::unbounded_channel();
            for i in 0..1000 {
                utx.send(i).unwrap();
            }
            let closed = goro::spawn({
                let utx = utx.clone();
                async move { utx.closed().await }
            });
            let mut sum = 0;
            for _ in 0..1000 {
                sum += urx.recv().await.unwrap();
            }
            assert_eq!(sum, 999 * 1000 / 2);
            drop(urx);
            closed.await.unwrap();
            assert!(utx.send(1).is_err());
        });
    });
}

#[test]
fn oneshot_delivers_once_and_reports_a_dropped_side() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        rt.block_on(async {
            let (tx, rx) = oneshot::channel();
            goro::spawn(async move { tx.send("hi").unwrap() });
            assert_eq!(rx.await.unwrap(), "hi");

            let (tx, rx) = oneshot::channel::<u8>();
            drop(tx);
            assert!(rx.await.is_err());

            let (mut tx, rx) = oneshot::channel::<u8>();
            let dropper = goro::spawn(async move {
                goro::time::sleep(Duration::from_millis(2)).await;
                drop(rx);
            });
            tx.closed().await;
            assert!(tx.is_closed());
            assert_eq!(tx.send(1), Err(1));
            dropper.await.unwrap();
        });
    });
}

#[test]
fn watch_sees_the_latest_value_and_waits_for_a_condition() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        rt.block_on(async {
            let (tx, mut rx) = watch::channel(0);
            let mut rx2 = rx.clone();
            let setter = goro::spawn(async move {
                for i in 1..=10 {
                    tx.send(i).unwrap();
                    goro::task::yield_now().await;
                }
                tx.closed().await; // until every receiver is gone
            });
            assert_eq!(*rx2.wait_for(|v| *v == 10).await.unwrap(), 10);
            rx.changed().await.unwrap();
            assert!(*rx.borrow_and_update() >= 1);
            drop((rx, rx2));
            setter.await.unwrap();
        });
    });
}

#[test]
fn broadcast_reaches_every_receiver_and_reports_lag() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        rt.block_on(async {
            let (tx, mut a) = broadcast::channel(2);
            let mut b = tx.subscribe();
            for i in 0..3 {
                tx.send(i).unwrap();
            }
            assert_eq!(
                a.recv().await.unwrap_err(),
                broadcast::error::RecvError::Lagged(1)
            );
            assert_eq!((a.recv().await.unwrap(), a.recv().await.unwrap()), (1, 2));
            let waiting = goro::spawn(async move { b.recv().await });
            drop(tx);
            // b lagged too: it sees the lag first, as tokio's does.
            assert!(waiting.await.unwrap().is_err());
            assert_eq!(
                a.recv().await.unwrap_err(),
                broadcast::error::RecvError::Closed
            );
        });
    });
}

#[test]
fn every_wait_is_named_with_its_op_and_line() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        let lines = rt.block_on(async {
            let m = Arc::new(Mutex::new(()));
            let rw = Arc::new(RwLock::new(()));
            let sem = Arc::new(Semaphore::new(0));
            let notify = Arc::new(Notify::new());
            let barrier = Arc::new(Barrier::new(2));
            let (full_tx, _full_rx) = mpsc::channel::<()>(1);
            full_tx.try_send(()).unwrap();
            let (_tx, mut empty_rx) = mpsc::channel::<()>(1);
            let (once_tx, once_rx) = oneshot::channel::<()>();
            let (watch_tx, mut watch_rx) = watch::channel(());
            let (cast_tx, mut cast_rx) = broadcast::channel::<()>(1);
            let held = (m.clone().lock_owned().await, rw.clone().read_owned().await);
            let mut lines = Vec::new();
            let mut spawn = |op, call: &'static str, task: Task| {
                lines.push((op, line_of(call)));
                drop(goro::spawn(task));
            };
            let (a, b, c) = (m.clone(), rw.clone(), sem.clone());
            let (d, e) = (notify.clone(), barrier.clone());
            spawn(
                WaitOp::MutexLock,
                "a.lock()",
                Box::pin(async move { drop(a.lock().await) }),
            );
            spawn(
                WaitOp::RwLockWrite,
                "b.write()",
                Box::pin(async move { drop(b.write().await) }),
            );
            spawn(
                WaitOp::SemaphoreAcquire,
                "c.acquire()",
                Box::pin(async move { drop(c.acquire().await) }),
            );
            spawn(
                WaitOp::NotifyNotified,
                "d.notified()",
                Box::pin(async move { d.notified().await }),
            );
            spawn(
                WaitOp::BarrierWait,
                "e.wait()",
                Box::pin(async move {
                    let _ = e.wait().await;
                }),
            );
            spawn(
                WaitOp::MpscSend,
                "full_tx.send(())",
                Box::pin(async move {
                    let _ = full_tx.send(()).await;
                }),
            );
            spawn(
                WaitOp::MpscRecv,
                "empty_rx.recv()",
                Box::pin(async move {
                    let _ = empty_rx.recv().await;
                }),
            );
            spawn(
                WaitOp::OneshotRecv,
                "once_rx.await",
                Box::pin(async move { drop(once_rx.await) }),
            );
            spawn(
                WaitOp::WatchChanged,
                "watch_rx.changed()",
                Box::pin(async move { drop(watch_rx.changed().await) }),
            );
            spawn(
                WaitOp::BroadcastRecv,
                "cast_rx.recv()",
                Box::pin(async move { drop(cast_rx.recv().await) }),
            );
            wait_for_waits(|op| op != WaitOp::Sleep, lines.len()).await;
            let dump = goro::stats::tasks();
            let mut found = Vec::new();
            for (op, line) in &lines {
                let group = dump
                    .groups
                    .iter()
                    .find(|g| g.wait_op == Some(*op))
                    .unwrap_or_else(|| panic!("no task waits on {op}:\n{dump}"));
                let at = group.suspended_at.expect("a suspension point");
                found.push((*op, at.file().to_string(), at.line(), *line));
            }
            // Let everything go.
            drop(held);
            sem.add_permits(1);
            notify.notify_one();
            barrier.wait().await;
            drop((once_tx, watch_tx, cast_tx));
            found
        });
        for (op, file, line, want) in lines {
            assert_eq!((file.as_str(), line), (file!(), want), "{op}");
        }
    });
}

type Task = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// The line of this file where `call` is awaited (the one line that has it with `.await`).
fn line_of(call: &str) -> u32 {
    let found: Vec<usize> = include_str!("sync_primitives.rs")
        .lines()
        .enumerate()
        .filter(|(_, l)| {
            l.contains(&format!("{call}.await"))
                || (call.ends_with(".await") && l.contains(&format!("drop({call})")))
        })
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(found.len(), 1, "{call} is awaited on exactly one line");
    found[0] as u32
}

#[test]
fn waits_take_the_cooperative_budget() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        let before = rt.handle().stats().totals.budget_yields;
        let task = rt.spawn(async {
            let m = Mutex::new(0);
            for _ in 0..1280 {
                *m.lock().await += 1;
            }
            let (tx, mut rx) = mpsc::unbounded_channel();
            for i in 0..1280 {
                tx.send(i).unwrap();
            }
            for _ in 0..1280 {
                rx.recv().await.unwrap();
            }
            let set = SetOnce::from(1);
            for _ in 0..1280 {
                assert_eq!(*set.wait().await, 1);
            }
        });
        rt.block_on(task).unwrap();
        let yields = rt.handle().stats().totals.budget_yields - before;
        // 3840 ready waits in one task: one budget yield per 128.
        assert!((29..=31).contains(&yields), "{yields} budget yields");
    });
}

#[test]
fn rwlock_downgrade_keeps_writers_out_and_lets_readers_in() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        rt.block_on(async {
            let lock = Arc::new(RwLock::new(0));
            let mut w = lock.write().await;
            *w = 1;
            let writer = goro::spawn({
                let lock = lock.clone();
                async move { *lock.write().await = 2 }
            });
            wait_for_op(WaitOp::RwLockWrite, 1).await;
            let r = w.downgrade();
            assert_eq!(*r, 1, "the queued writer did not get in");
            drop(r);
            writer.await.unwrap();
            let w = lock.clone().write_owned().await;
            let r = w.downgrade();
            assert_eq!(*r, 2);
            assert!(lock.try_write().is_err());
            drop(r);
            assert!(lock.try_write().is_ok());
        });
    });
}
