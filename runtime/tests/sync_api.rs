//! The parts of tokio's `sync` API that `goro::sync` adds on top of the waits
//! `sync_primitives.rs` tests, at 1 and 2 processors: the `blocking_*` methods (they block
//! a plain thread until a task lets go, and panic inside a goro task), mapped guards (they
//! hold the whole lock until they drop), split and merged permits, and the channel
//! extras (`broadcast::Sender::closed`, weak senders, `watch` senders).

mod common;

use common::{
    blocked, blocking_calls_panic_inside_the_runtime, each_procs, expect_panic, rt, wait_until,
    BlockingCall,
};
use goro::stats::WaitOp;
use goro::sync::{
    broadcast, oneshot, watch, MappedMutexGuard, Mutex, MutexGuard, Notify, OnceCell,
    OwnedMutexGuard, OwnedRwLockWriteGuard, RwLock, RwLockReadGuard, RwLockWriteGuard, Semaphore,
    SetError,
};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(30);
const WHILE: Duration = Duration::from_millis(20);

/// A task of `rt` holding `m` until told (through the sender), then adding 1 to it.
fn held_until_told(
    rt: &goro::Runtime,
    m: &Arc<Mutex<u32>>,
) -> (goro::task::JoinHandle<()>, oneshot::Sender<()>) {
    let held = rt.block_on(m.clone().lock_owned());
    let (go, gone) = oneshot::channel::<()>();
    let holder = rt.spawn(async move {
        let mut held = held;
        gone.await.unwrap();
        *held += 1;
    });
    (holder, go)
}

#[test]
fn blocking_lock_waits_for_the_task_that_holds_the_mutex() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        let m = Arc::new(Mutex::new(0));
        let (holder, go) = held_until_told(&rt, &m);
        let (m1, m2) = (m.clone(), m.clone());
        let borrowed = blocked(move || *m1.blocking_lock() += 10);
        let owned = blocked(move || *m2.blocking_lock_owned() += 100);
        go.send(()).unwrap();
        rt.block_on(holder).unwrap();
        borrowed.join().unwrap();
        owned.join().unwrap();
        assert_eq!(*m.try_lock().unwrap(), 111);
    });
}

#[test]
fn blocking_read_and_write_wait_for_the_other_side() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        let lock = Arc::new(RwLock::new(1));
        let write = rt.block_on(lock.clone().write_owned());
        let l = lock.clone();
        let reader = blocked(move || *l.blocking_read());
        drop(write);
        assert_eq!(reader.join().unwrap(), 1);

        let read = rt.block_on(lock.clone().read_owned());
        let l = lock.clone();
        let writer = blocked(move || *l.blocking_write() = 2);
        rt.block_on(async move {
            goro::time::sleep(WHILE).await;
            drop(read);
        });
        writer.join().unwrap();
        assert_eq!(*lock.try_read().unwrap(), 2);
    });
}

#[test]
fn blocking_acquire_and_blocking_recv_wait_for_a_task() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        let sem = Arc::new(Semaphore::new(0));
        let s = sem.clone();
        let borrowed = blocked(move || s.blocking_acquire_many(2).map(|p| p.num_permits()));
        let s = sem.clone();
        let owned = blocked(move || s.blocking_acquire_owned().map(|p| p.num_permits()));
        let (tx, rx) = oneshot::channel();
        let oneshot = blocked(move || rx.blocking_recv());
        let (btx, mut brx) = broadcast::channel(2);
        let broadcast = blocked(move || brx.blocking_recv());
        rt.block_on(async move {
            goro::spawn(async move {
                sem.add_permits(3);
                tx.send("one").unwrap();
                btx.send(7).unwrap();
            })
            .await
            .unwrap()
        });
        assert_eq!(borrowed.join().unwrap().ok(), Some(2));
        assert_eq!(owned.join().unwrap().ok(), Some(1));
        assert_eq!(oneshot.join().unwrap(), Ok("one"));
        assert_eq!(broadcast.join().unwrap(), Ok(7));
    });
}

/// Every `blocking_*` call, each on a free lock or a ready channel so that it would
/// return at once if it did not check where it runs.
fn every_blocking_call() -> Vec<(&'static str, BlockingCall)> {
    let m = Arc::new(Mutex::new(()));
    let lock = Arc::new(RwLock::new(()));
    let sem = Arc::new(Semaphore::new(4));
    let (tx, rx) = oneshot::channel();
    tx.send(()).unwrap();
    let (btx, mut brx) = broadcast::channel(1);
    btx.send(()).unwrap();
    let (m2, lock2, sem2, sem3, sem4) = (
        m.clone(),
        lock.clone(),
        sem.clone(),
        sem.clone(),
        sem.clone(),
    );
    vec![
        (
            "Mutex::blocking_lock",
            Box::new(move || drop(m.blocking_lock())),
        ),
        (
            "Mutex::blocking_lock_owned",
            Box::new(move || drop(m2.blocking_lock_owned())),
        ),
        (
            "RwLock::blocking_read",
            Box::new(move || drop(lock.blocking_read())),
        ),
        (
            "RwLock::blocking_write",
            Box::new(move || drop(lock2.blocking_write())),
        ),
        (
            "Semaphore::blocking_acquire",
            Box::new(move || drop(sem.blocking_acquire())),
        ),
        (
            "Semaphore::blocking_acquire_many",
            Box::new(move || drop(sem2.blocking_acquire_many(2))),
        ),
        (
            "Semaphore::blocking_acquire_owned",
            Box::new(move || drop(sem3.blocking_acquire_owned())),
        ),
        (
            "Semaphore::blocking_acquire_many_owned",
            Box::new(move || drop(sem4.blocking_acquire_many_owned(2))),
        ),
        (
            "oneshot::Receiver::blocking_recv",
            Box::new(move || drop(rx.blocking_recv())),
        ),
        (
            "broadcast::Receiver::blocking_recv",
            Box::new(move || drop(brx.blocking_recv())),
        ),
    ]
}

#[test]
fn blocking_calls_panic_inside_a_task_and_inside_block_on() {
    each_procs(LIMIT, |n| {
        blocking_calls_panic_inside_the_runtime(&rt(n), every_blocking_call)
    });
}

#[test]
fn blocking_calls_may_block_inside_block_in_place() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        let m = Arc::new(Mutex::new(0));
        let (holder, go) = held_until_told(&rt, &m);
        let m2 = m.clone();
        let blocker = rt.spawn(async move {
            goro::task::block_in_place(|| {
                go.send(()).unwrap();
                *m2.blocking_lock() += 10;
            })
        });
        rt.block_on(async move {
            blocker.await.unwrap();
            holder.await.unwrap();
        });
        assert_eq!(*m.try_lock().unwrap(), 11);
    });
}

#[test]
fn a_mapped_mutex_guard_excludes_until_it_drops() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        rt.block_on(async {
            let m = Arc::new(Mutex::new((0u64, 0u64)));
            let tasks: Vec<_> = (0..6)
                .map(|i| {
                    let m = m.clone();
                    goro::spawn(async move {
                        for _ in 0..100 {
                            if i % 2 == 0 {
                                let mut a = MutexGuard::map(m.lock().await, |p| &mut p.0);
                                let seen = *a;
                                goro::task::yield_now().await;
                                *a = seen + 1;
                            } else {
                                let b = OwnedMutexGuard::map(m.clone().lock_owned().await, |p| p);
                                let mut b = goro::sync::OwnedMappedMutexGuard::map(b, |p| &mut p.1);
                                let seen = *b;
                                goro::task::yield_now().await;
                                *b = seen + 1;
                            }
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            assert_eq!(*m.lock().await, (300, 300));
        });
    });
}

#[test]
fn a_failed_try_map_gives_back_a_guard_that_still_holds_the_lock() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        rt.block_on(async {
            let m = Mutex::new(vec![1]);
            let g = MutexGuard::try_map(m.lock().await, |v| v.get_mut(3)).unwrap_err();
            assert!(m.try_lock().is_err());
            let g = MutexGuard::map(g, |v| v.as_mut_slice());
            let g = MappedMutexGuard::try_map(g, |s| s.get_mut(3)).unwrap_err();
            assert!(m.try_lock().is_err());
            drop(g);
            assert!(m.try_lock().is_ok());

            let lock = Arc::new(RwLock::new(vec![1]));
            let w = lock.clone().write_owned().await;
            let w = OwnedRwLockWriteGuard::try_downgrade_map(w, |v| v.get(3)).unwrap_err();
            assert!(lock.try_read().is_err());
            let r = OwnedRwLockWriteGuard::try_downgrade_map(w, |v| v.first()).unwrap();
            assert_eq!((*r, lock.try_read().map(|v| v.len())), (1, Ok(1)));
            assert!(lock.try_write().is_err());
        });
    });
}

#[test]
fn mapped_rwlock_guards_keep_their_lock() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        rt.block_on(async {
            let lock = Arc::new(RwLock::new((1, 2)));
            let first = RwLockReadGuard::map(lock.read().await, |p| &p.0);
            assert!(
                lock.try_write().is_err(),
                "a mapped read guard keeps readers in"
            );
            drop(first);

            let w = RwLockWriteGuard::map(lock.write().await, |p| &mut p.1);
            let l = lock.clone();
            let reader = goro::spawn(async move { *l.read().await });
            goro::time::sleep(WHILE).await;
            assert!(
                !reader.is_finished(),
                "a mapped write guard keeps readers out"
            );
            let mut w = goro::sync::RwLockMappedWriteGuard::map(w, |x| x);
            *w = 5;
            drop(w);
            assert_eq!(reader.await.unwrap(), (1, 5));

            let r = RwLockWriteGuard::downgrade_map(lock.write().await, |p| &p.0);
            assert_eq!((*r, lock.try_read().unwrap().1), (1, 5));
            assert!(
                lock.try_write().is_err(),
                "a downgraded guard keeps writers out"
            );
            drop(r);
            assert!(lock.try_write().is_ok());
        });
    });
}

#[test]
fn split_and_merged_permits_go_back_in_their_parts() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        rt.block_on(async {
            let sem = Arc::new(Semaphore::new(5));
            let mut a = sem.acquire_many(4).await.unwrap();
            let b = a.split(3).unwrap();
            assert!(a.split(2).is_none());
            assert_eq!((a.num_permits(), b.num_permits()), (1, 3));
            let s = sem.clone();
            let moved = goro::spawn(async move {
                let _b = s.acquire_many(2).await.unwrap(); // waits for `b`
            });
            drop(b);
            moved.await.unwrap();
            assert_eq!(sem.available_permits(), 4);

            let mut owned = sem.clone().acquire_owned().await.unwrap();
            owned.merge(sem.clone().acquire_many_owned(3).await.unwrap());
            assert_eq!((owned.num_permits(), sem.available_permits()), (4, 0));
            drop(owned);
            assert_eq!(sem.available_permits(), 4);
            drop(a);
            assert_eq!(sem.available_permits(), 5);
        });
    });
}

#[test]
fn merging_permits_of_another_semaphore_panics() {
    let (s1, s2) = (Semaphore::new(1), Semaphore::new(1));
    let mut p1 = s1.try_acquire().unwrap();
    let p2 = s2.try_acquire().unwrap();
    let message = expect_panic(move || p1.merge(p2));
    assert!(message.contains("different semaphores"), "{message}");
}

#[test]
fn broadcast_closed_waits_for_the_last_receiver_and_weak_senders_do_not_keep_it_open() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        rt.block_on(async {
            let (tx, rx) = broadcast::channel::<u8>(2);
            let rx2 = rx.resubscribe();
            let weak = tx.downgrade();
            let t = tx.clone();
            let closed = goro::spawn(async move { t.closed().await });
            drop(rx);
            goro::time::sleep(WHILE).await;
            assert!(!closed.is_finished(), "a receiver is left");
            drop(rx2);
            closed.await.unwrap();
            let mut rx3 = tx.subscribe();
            drop(tx);
            assert!(weak.upgrade().is_none());
            assert_eq!(rx3.recv().await, Err(broadcast::error::RecvError::Closed));
        });
    });
}

#[test]
fn watch_senders_clone_and_count() {
    let tx = watch::Sender::new(0);
    let rx = tx.subscribe();
    let tx2 = tx.clone();
    assert_eq!(tx.sender_count(), 2);
    tx2.send(3).unwrap();
    assert_eq!(*rx.borrow(), 3);
    drop((tx, tx2));
    wait_until(LIMIT, "the receiver sees the senders gone", || {
        rx.is_closed()
    });
}

/// Where the task waiting on `op` is suspended, as the task dump shows it (file, line).
async fn suspended_at(op: WaitOp) -> (String, u32) {
    for _ in 0..5_000 {
        let dump = goro::stats::tasks();
        if let Some(at) = dump
            .groups
            .iter()
            .find(|g| g.wait_op == Some(op))
            .and_then(|g| g.suspended_at)
        {
            return (at.file().to_string(), at.line());
        }
        goro::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("no task waits on {op}:\n{}", goro::stats::tasks());
}

#[test]
fn owned_notified_waits_are_named_and_woken_by_notify_waiters() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        rt.block_on(async {
            let notify = Arc::new(Notify::new());
            let mut enabled = Box::pin(notify.clone().notified_owned());
            assert!(!enabled.as_mut().enable());
            let (waiting, line) = (notify.clone().notified_owned(), line!());
            let waiter = goro::spawn(waiting);
            assert_eq!(
                suspended_at(WaitOp::NotifyNotified).await,
                (file!().to_string(), line)
            );
            notify.notify_waiters();
            waiter.await.unwrap();
            enabled.await; // woken by the same `notify_waiters`: it was enabled before
        });
    });
}

#[test]
fn broadcast_closed_is_named() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        rt.block_on(async {
            let (tx, rx) = broadcast::channel::<u8>(1);
            let waiter = goro::spawn(async move { (tx.closed().await, line!()).1 });
            let (file, at) = suspended_at(WaitOp::BroadcastClosed).await;
            drop(rx);
            let line = waiter.await.unwrap();
            assert_eq!((file.as_str(), at), (file!(), line));
        });
    });
}

#[test]
fn once_cell_runs_one_initializer_and_names_the_wait_for_it() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        rt.block_on(async {
            let cell = Arc::new(OnceCell::new());
            let runs = Arc::new(AtomicUsize::new(0));
            let (go, gone) = oneshot::channel::<()>();
            let (c, r) = (cell.clone(), runs.clone());
            let first = goro::spawn(async move {
                *c.get_or_init(|| async move {
                    r.fetch_add(1, SeqCst);
                    gone.await.unwrap();
                    1
                })
                .await
            });
            while runs.load(SeqCst) == 0 {
                goro::task::yield_now().await;
            }
            assert_eq!(cell.set(9), Err(SetError::InitializingError(9)));
            let waiters: Vec<_> = (0..3)
                .map(|_| {
                    let (c, r) = (cell.clone(), runs.clone());
                    goro::spawn(async move {
                        let line = line!() + 1;
                        let value = c.get_or_init(|| async move { r.fetch_add(1, SeqCst) });
                        (*value.await, line)
                    })
                })
                .collect();
            let (file, at) = suspended_at(WaitOp::OnceCellInit).await;
            go.send(()).unwrap();
            assert_eq!(first.await.unwrap(), 1);
            for w in waiters {
                let (value, line) = w.await.unwrap();
                assert_eq!((value, file.as_str(), at), (1, file!(), line));
            }
            assert_eq!(runs.load(SeqCst), 1, "one initializer ran");
            assert_eq!(cell.set(9), Err(SetError::AlreadyInitializedError(9)));
        });
    });
}

#[test]
fn a_cancelled_once_cell_initializer_lets_a_waiter_initialize() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        rt.block_on(async {
            let cell = Arc::new(OnceCell::new());
            let c = cell.clone();
            let (started, running) = oneshot::channel();
            let (_never, never_sent) = oneshot::channel::<u8>();
            let stuck = goro::spawn(async move {
                let init = || async move {
                    started.send(()).unwrap();
                    never_sent.await.unwrap()
                };
                *c.get_or_init(init).await
            });
            running.await.unwrap();
            let c = cell.clone();
            let waiter = goro::spawn(async move { *c.get_or_init(|| async { 2 }).await });
            suspended_at(WaitOp::OnceCellInit).await;
            stuck.abort();
            assert_eq!(waiter.await.unwrap(), 2);
            let failed = OnceCell::<u8>::new();
            assert_eq!(
                failed.get_or_try_init(|| async { Err("no") }).await,
                Err("no")
            );
            assert!(!failed.initialized());
        });
    });
}
