//! The deadlock corpus: lock cycles `goro::sync` must report the moment they close, with
//! who holds what and who waits where, and lookalikes it must not report (a long but
//! finite hold, a chain without a cycle, a cycle a timeout breaks, guards and permits moved
//! to other tasks). Each runs at 1 and 2 processors.

mod common;

use common::{each_procs, rt_with_orphans, wait_for_suspect, wait_until};
use goro::stats::{Deadlock, LeakReport, Primitive, TaskState, WaitOp};
use goro::sync::{
    Barrier, Mutex, MutexGuard, Notify, OwnedMutexGuard, RwLock, RwLockWriteGuard, Semaphore,
};
use goro::Runtime;
use std::sync::Arc;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(30);

/// Waits (in real time, outside the runtime's tasks) until the runtime reports a deadlock.
fn first_deadlock(rt: &Runtime) -> Deadlock {
    let mut report = LeakReport::default();
    wait_until(Duration::from_secs(10), "a deadlock is reported", || {
        report = rt.handle().leak_report();
        !report.deadlocked.is_empty()
    });
    assert_eq!(report.deadlocked.len(), 1, "one cycle, once:\n{report}");
    report.deadlocked.swap_remove(0)
}

/// Every task waits on what the next one holds (or, a reader, behind the writer queued
/// next on the same lock), and the text says so.
fn assert_cycle(d: &Deadlock, n: usize) {
    assert_eq!(d.tasks.len(), n, "{d}");
    assert_eq!(d.links.len(), n, "{d}");
    for (i, link) in d.links.iter().enumerate() {
        let next = &d.links[(i + 1) % n];
        let queued_writer =
            link.wait_op == WaitOp::RwLockRead && next.wait_op == WaitOp::RwLockWrite;
        assert!(
            next.holds.iter().any(|h| h.lock == link.waits_lock)
                || (queued_writer && next.waits_lock == link.waits_lock),
            "#{} waits on a lock #{} holds:\n{d}",
            link.task,
            next.task
        );
        assert_eq!(d.tasks[i].id, link.task);
        assert_eq!(d.tasks[i].state, TaskState::Deadlocked);
        assert_eq!(d.tasks[i].spawned_at.file(), file!(), "{d}");
        assert_eq!(link.waits_at.file(), file!(), "{d}");
    }
    let text = d.to_string();
    let noun = if n == 1 { "task" } else { "tasks" };
    assert!(
        text.starts_with(&format!("{n} {noun} deadlocked: #")),
        "{text}"
    );
    assert!(text.contains(&format!(
        "holds {} at {}",
        d.links[0].holds[0].primitive,
        file!()
    )));
}

#[test]
fn a_task_locking_a_mutex_it_holds() {
    each_procs(LIMIT, |n| {
        let rt = rt_with_orphans(n);
        let m = Arc::new(Mutex::new(0));
        rt.spawn(async move {
            let _held = m.lock().await;
            let _again = m.lock().await;
        });
        let d = first_deadlock(&rt);
        assert_cycle(&d, 1);
        let link = &d.links[0];
        assert_eq!(
            (link.waits_on, link.wait_op),
            (Primitive::Mutex, WaitOp::MutexLock)
        );
        assert_eq!(link.holds.len(), 1);
        assert!(
            link.holds[0].acquired_at.line() < link.waits_at.line(),
            "held at the first lock, waits at the second: {d}"
        );
    });
}

/// Two tasks that lock A then B and B then A, each taking the second once both hold the
/// first.
fn spawn_ab_ba(rt: &Runtime) {
    let (a, b) = (Arc::new(Mutex::new(())), Arc::new(Mutex::new(())));
    let both = Arc::new(Barrier::new(2));
    for (first, second) in [(a.clone(), b.clone()), (b, a)] {
        let both = both.clone();
        rt.spawn(async move {
            let _first = first.lock().await;
            both.wait().await;
            let _second = second.lock().await;
        });
    }
}

#[test]
fn ab_ba_across_two_tasks() {
    each_procs(LIMIT, |n| {
        let rt = rt_with_orphans(n);
        spawn_ab_ba(&rt);
        let d = first_deadlock(&rt);
        assert_cycle(&d, 2);
        assert_ne!(d.links[0].waits_lock, d.links[1].waits_lock);
    });
}

#[test]
fn ab_ba_among_a_crowd_of_waiters() {
    // 2000 tasks wait on another mutex at the same time: more waits than the edge map
    // keeps inline per shard, so the walk finds the cycle's edges among spilled ones.
    const CROWD: usize = 2000;
    each_procs(LIMIT, |n| {
        let rt = rt_with_orphans(n);
        let gate = Arc::new(Mutex::new(()));
        let closed = rt.block_on(gate.clone().lock_owned());
        let crowd: Vec<_> = (0..CROWD)
            .map(|_| {
                let gate = gate.clone();
                rt.spawn(async move { drop(gate.lock().await) })
            })
            .collect();
        spawn_ab_ba(&rt);
        let d = first_deadlock(&rt);
        assert_cycle(&d, 2);
        drop(closed);
        for task in crowd {
            rt.block_on(task).unwrap();
        }
        let report = rt.handle().leak_report();
        assert_eq!(
            report.deadlocked.len(),
            1,
            "the crowd is no deadlock:\n{report}"
        );
    });
}

#[test]
fn a_cycle_of_three_over_mutex_rwlock_and_semaphore() {
    each_procs(LIMIT, |n| {
        let rt = rt_with_orphans(n);
        let m = Arc::new(Mutex::new(()));
        let rw = Arc::new(RwLock::new(()));
        let sem = Arc::new(Semaphore::new(1));
        let all = Arc::new(Barrier::new(3));
        let (m1, rw1, all1) = (m.clone(), rw.clone(), all.clone());
        rt.spawn(async move {
            let _m = m1.lock().await;
            all1.wait().await;
            let _w = rw1.write().await;
        });
        let (rw2, sem2, all2) = (rw.clone(), sem.clone(), all.clone());
        rt.spawn(async move {
            let _r = rw2.read().await;
            all2.wait().await;
            let _p = sem2.acquire().await.unwrap();
        });
        rt.spawn(async move {
            let _p = sem.acquire().await.unwrap();
            all.wait().await;
            let _m = m.lock().await;
        });
        let d = first_deadlock(&rt);
        assert_cycle(&d, 3);
        let mut ops: Vec<WaitOp> = d.links.iter().map(|l| l.wait_op).collect();
        ops.sort_by_key(|op| op.name());
        assert_eq!(
            ops,
            [
                WaitOp::MutexLock,
                WaitOp::RwLockWrite,
                WaitOp::SemaphoreAcquire
            ]
        );
    });
}

#[test]
fn a_reader_behind_a_writer_that_waits_for_it() {
    each_procs(LIMIT, |n| {
        let rt = rt_with_orphans(n);
        let lock = Arc::new(RwLock::new(()));
        let writer_queued = Arc::new(Notify::new());
        let (l, queued) = (lock.clone(), writer_queued.clone());
        rt.spawn(async move {
            let _first = l.read().await;
            let writer = {
                let l = l.clone();
                goro::spawn(async move {
                    let _w = l.write().await;
                })
            };
            // A queued writer takes every permit that comes free, so try_read fails once
            // it is queued.
            while l.try_read().is_ok() {
                goro::task::yield_now().await;
            }
            queued.notify_one();
            let _second = l.read().await;
            drop(writer);
        });
        let d = first_deadlock(&rt);
        assert_cycle(&d, 2);
        let mut ops: Vec<WaitOp> = d.links.iter().map(|l| l.wait_op).collect();
        ops.sort_by_key(|op| op.name());
        assert_eq!(ops, [WaitOp::RwLockRead, WaitOp::RwLockWrite]);
        drop(writer_queued);
    });
}

#[test]
fn a_cycle_through_an_owned_guard_moved_into_another_task() {
    each_procs(LIMIT, |n| {
        let rt = rt_with_orphans(n);
        let (a, b) = (Arc::new(Mutex::new(0)), Arc::new(Mutex::new(0)));
        let both = Arc::new(Barrier::new(2));
        let (a1, b1, both1) = (a.clone(), b.clone(), both.clone());
        rt.spawn(async move {
            let guard = a1.lock_owned().await;
            // The guard moves into a new task, which now holds `a`.
            goro::spawn(async move {
                let mut guard = guard;
                *guard += 1;
                both1.wait().await;
                let _b = b1.lock().await;
            });
        });
        rt.spawn(async move {
            let _b = b.lock().await;
            both.wait().await;
            let _a = a.lock().await;
        });
        let d = first_deadlock(&rt);
        assert_cycle(&d, 2);
    });
}

/// A mapped guard holds the whole lock: a task that locks again while it holds one (of a
/// `Mutex`, an owned `Mutex` guard moved into it, an `RwLock` writer) is deadlocked, and the
/// report names the lock as held where it was first locked.
#[test]
fn a_task_locking_again_while_it_holds_a_mapped_guard() {
    each_procs(LIMIT, |n| {
        let rt = rt_with_orphans(n);
        // Fresh locks for each case: the deadlocked tasks keep theirs forever.
        let m = Arc::new(Mutex::new((0, 0)));
        rt.spawn(async move {
            let part = MutexGuard::map(m.lock().await, |p| &mut p.0);
            let _whole = m.lock().await;
            drop(part);
        });
        assert_mapped_holder(&first_deadlock(&rt), WaitOp::MutexLock);

        let rt = rt_with_orphans(n);
        let m = Arc::new(Mutex::new((0, 0)));
        rt.spawn(async move {
            let part = OwnedMutexGuard::map(m.clone().lock_owned().await, |p| &mut p.1);
            // Moved into a new task, which holds the lock once it uses the guard.
            goro::spawn(async move {
                let mut part = part;
                *part += 1;
                let _whole = m.lock().await;
            });
        });
        assert_mapped_holder(&first_deadlock(&rt), WaitOp::MutexLock);

        let l = Arc::new(RwLock::new((0, 0)));
        let rt = rt_with_orphans(n);
        rt.spawn(async move {
            let part = RwLockWriteGuard::map(l.write().await, |p| &mut p.0);
            let _read = l.read().await;
            drop(part);
        });
        assert_mapped_holder(&first_deadlock(&rt), WaitOp::RwLockRead);
    });
}

/// Locks made by `const_new` (their holder record is made on first use) are tracked like
/// the others: an AB-BA cycle through a `const_new` `RwLock` and `Semaphore` is reported,
/// and so is a task locking a `const_new` `Mutex` it holds.
#[test]
fn a_cycle_through_locks_made_by_const_new() {
    each_procs(LIMIT, |n| {
        let rt = rt_with_orphans(n);
        let lock = Arc::new(RwLock::const_new(0));
        let sem = Arc::new(Semaphore::const_new(1));
        let both = Arc::new(Barrier::new(2));
        let (lock1, sem1, both1) = (lock.clone(), sem.clone(), both.clone());
        rt.spawn(async move {
            let _w = lock1.write().await;
            both1.wait().await;
            let _p = sem1.acquire().await;
        });
        rt.spawn(async move {
            let _p = sem.acquire().await;
            both.wait().await;
            let _r = lock.read().await;
        });
        assert_cycle(&first_deadlock(&rt), 2);

        let rt = rt_with_orphans(n);
        let m = Arc::new(Mutex::const_new(()));
        rt.spawn(async move {
            let _held = m.lock().await;
            let _again = m.lock().await;
        });
        assert_cycle(&first_deadlock(&rt), 1);
    });
}

fn assert_mapped_holder(d: &Deadlock, op: WaitOp) {
    assert_cycle(d, 1);
    assert_eq!(d.links[0].wait_op, op, "{d}");
    assert_eq!(d.links[0].holds.len(), 1, "{d}");
}

/// Runs `body` and checks that its tasks all finished and no deadlock was reported.
fn assert_no_deadlock(n: usize, body: impl std::future::Future<Output = ()> + Send + 'static) {
    let rt = common::rt(n);
    rt.block_on(body);
    let report = rt.handle().leak_report();
    assert!(report.deadlocked.is_empty(), "false deadlock:\n{report}");
}

#[test]
fn a_long_but_finite_hold_is_not_a_deadlock() {
    each_procs(LIMIT, |n| {
        assert_no_deadlock(n, async {
            let m = Arc::new(Mutex::new(()));
            let held = m.clone().lock_owned().await;
            let waiter = goro::spawn({
                let m = m.clone();
                async move {
                    let _g = m.lock().await;
                }
            });
            goro::time::sleep(Duration::from_millis(100)).await;
            drop(held);
            waiter.await.unwrap();
        });
    });
}

#[test]
fn a_chain_without_a_cycle_is_not_a_deadlock() {
    each_procs(LIMIT, |n| {
        assert_no_deadlock(n, async {
            let (a, b, c) = (
                Arc::new(Mutex::new(())),
                Arc::new(Mutex::new(())),
                Arc::new(Mutex::new(())),
            );
            let all = Arc::new(Barrier::new(3));
            let mut tasks = Vec::new();
            // t0 holds a, waits b; t1 holds b, waits c; t2 holds c, sleeps, lets go.
            for (hold, want) in [
                (a.clone(), Some(b.clone())),
                (b, Some(c.clone())),
                (c, None),
            ] {
                let all = all.clone();
                tasks.push(goro::spawn(async move {
                    let _h = hold.lock().await;
                    all.wait().await;
                    match want {
                        Some(w) => drop(w.lock().await),
                        None => goro::time::sleep(Duration::from_millis(50)).await,
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
            drop(a);
        });
    });
}

#[test]
fn a_cycle_a_timeout_breaks_is_not_a_deadlock() {
    each_procs(LIMIT, |n| {
        assert_no_deadlock(n, async {
            let (a, b) = (Arc::new(Mutex::new(())), Arc::new(Mutex::new(())));
            let both = Arc::new(Barrier::new(2));
            let (a1, b1, both1) = (a.clone(), b.clone(), both.clone());
            let patient = goro::spawn(async move {
                let _a = a1.lock().await;
                both1.wait().await;
                goro::time::sleep(Duration::from_millis(20)).await;
                let _b = b1.lock().await; // closes the cycle: a timer cannot wake it
            });
            let gives_up = goro::spawn(async move {
                let _b = b.lock().await;
                both.wait().await;
                let late = goro::time::timeout(Duration::from_millis(100), a.lock()).await;
                assert!(late.is_err(), "a is held until this gives up");
            });
            gives_up.await.unwrap();
            patient.await.unwrap();
        });
    });
}

#[test]
fn owned_permits_handed_to_workers_are_not_held_by_the_acceptor() {
    each_procs(LIMIT, |n| {
        assert_no_deadlock(n, async {
            let acceptor = goro::spawn(async {
                let sem = Arc::new(Semaphore::new(2));
                let mut workers = Vec::new();
                for _ in 0..6 {
                    // The acceptor waits here for a worker to finish: it holds no permit.
                    let permit = sem.clone().acquire_owned().await.unwrap();
                    workers.push(goro::spawn(async move {
                        goro::time::sleep(Duration::from_millis(10)).await;
                        drop(permit);
                    }));
                }
                for w in workers {
                    w.await.unwrap();
                }
            });
            acceptor.await.unwrap();
        });
    });
}

#[test]
fn an_owned_guard_used_in_another_task_is_held_by_that_task() {
    each_procs(LIMIT, |n| {
        assert_no_deadlock(n, async {
            let locker = goro::spawn(async {
                let m = Arc::new(Mutex::new(0));
                let guard = m.clone().lock_owned().await;
                let used = Arc::new(Notify::new());
                let worker = goro::spawn({
                    let used = used.clone();
                    async move {
                        let mut guard = guard;
                        *guard += 1;
                        used.notify_one();
                        goro::time::sleep(Duration::from_millis(50)).await;
                    }
                });
                used.notified().await;
                // The task that locked locks again: it waits for the worker its guard
                // moved to, not for itself.
                *m.lock().await += 1;
                worker.await.unwrap();
            });
            locker.await.unwrap();
        });
    });
}

#[test]
fn a_deadlock_is_an_exact_finding_apart_from_long_waits_and_is_never_cancelled() {
    each_procs(LIMIT, |n| {
        let rt = goro::Runtime::builder()
            .processors(n)
            .stats_interval(Duration::from_millis(10))
            .leak_threshold(Duration::from_millis(20))
            .reclaim_orphans(true)
            .build()
            .unwrap();
        let m = Arc::new(Mutex::new(()));
        let stuck = rt.spawn(async move {
            let _held = m.lock().await;
            let _again = m.lock().await;
        });
        let listener = Arc::new(Notify::new());
        let l = listener.clone();
        let waiting = rt.spawn(async move { l.notified().await });
        first_deadlock(&rt);
        wait_for_suspect(rt.handle(), WaitOp::NotifyNotified, Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(50));
        let report = rt.handle().leak_report();
        let d = &report.deadlocked[0];
        assert!(
            d.tasks[0].idle >= Duration::from_millis(40),
            "idle now: {d}"
        );
        assert!(
            report
                .suspected
                .iter()
                .all(|s| s.wait_op != Some(WaitOp::MutexLock)),
            "the deadlocked task is not also a suspect:\n{report}"
        );
        let text = report.to_string();
        assert!(text.contains("long wait: idle past 20ms"), "{text}");
        // The cycle on one line, then its task as a goroutine dump heads it.
        let at = format!("{}:{}", file!(), d.links[0].waits_at.line());
        let id = d.tasks[0].id;
        assert!(
            text.contains(&format!(
                "\n  1 task deadlocked: #{id} holds Mutex at {}:",
                file!()
            )),
            "{text}"
        );
        assert!(text.contains(&format!(", waits Mutex at {at}\n")), "{text}");
        assert!(
            text.contains(&format!("\n    #{id} [Mutex::lock, ")),
            "{text}"
        );
        assert!(
            text.contains(&format!("] at {at}, spawned at {}:", file!())),
            "{text}"
        );
        let dump = rt.block_on(async { goro::stats::tasks() });
        let states: Vec<TaskState> = dump
            .groups
            .iter()
            .filter(|g| g.wait_op == Some(WaitOp::MutexLock))
            .flat_map(|g| g.tasks.iter().map(|t| t.state))
            .collect();
        assert_eq!(states, [TaskState::Deadlocked], "{dump}");
        assert!(
            !stuck.is_finished(),
            "reclaim_orphans cancels no deadlocked task"
        );
        listener.notify_one();
        rt.block_on(waiting).unwrap();
    });
}

#[test]
fn a_task_blocked_inside_one_poll_is_reported_as_stuck_in_one_poll() {
    each_procs(LIMIT, |n| {
        let rt = goro::Runtime::builder()
            .processors(n)
            .stats_interval(Duration::from_millis(10))
            .build()
            .unwrap();
        // A std mutex the test thread holds: the task blocks on it inside its poll, where
        // no goro wait can see it (as a std lock taken twice would, forever).
        let std_lock = Arc::new(std::sync::Mutex::new(()));
        let held = std_lock.lock().unwrap();
        let l = std_lock.clone();
        let blocked = rt.spawn(async move {
            drop(l.lock().unwrap());
        });
        let mut report = LeakReport::default();
        wait_until(
            Duration::from_secs(10),
            "the task is stuck in one poll",
            || {
                report = rt.handle().leak_report();
                report
                    .stuck_in_poll
                    .iter()
                    .any(|p| p.polling_for >= Duration::from_millis(30))
            },
        );
        drop(held);
        let p = &report.stuck_in_poll[0];
        assert_eq!(p.task.id, blocked.id().to_string().parse::<u64>().unwrap());
        assert_eq!(p.task.state, TaskState::Running);
        assert_eq!(p.task.spawned_at.file(), file!());
        let text = report.to_string();
        assert!(text.contains("stuck in one poll: 1 task"), "{text}");
        assert!(
            text.contains(&format!("  #{} [in one poll, ", p.task.id)),
            "{text}"
        );
        let spawned = format!("], spawned at {}:{}\n", file!(), p.task.spawned_at.line());
        assert!(text.contains(&spawned), "{text}");
        rt.block_on(blocked).unwrap();
        wait_until(Duration::from_secs(10), "the stuck poll is over", || {
            rt.handle().leak_report().stuck_in_poll.is_empty()
        });
    });
}

/// A finished lock wait gives its waker cell back to the thread for the next wait; the
/// cell must not keep the task's waker, or a task that waited once could never be found
/// orphaned (nor deadlocked: the proof wants exactly one waker). The task here waits for a
/// lock, gets it, then suspends with no waker left: it must be reported orphaned.
#[test]
fn a_finished_lock_wait_keeps_no_waker_of_its_task() {
    each_procs(LIMIT, |n| {
        let rt = rt_with_orphans(n);
        let m = Arc::new(Mutex::new(()));
        let held = rt.block_on(m.clone().lock_owned());
        let waiter = m.clone();
        rt.spawn(async move {
            drop(waiter.lock().await);
            std::future::poll_fn(|_| std::task::Poll::<()>::Pending).await;
        });
        wait_until(
            Duration::from_secs(10),
            "the task waits for the lock",
            || {
                rt.handle()
                    .tasks()
                    .groups
                    .iter()
                    .any(|g| g.wait_op == Some(WaitOp::MutexLock))
            },
        );
        drop(held);
        wait_until(
            Duration::from_secs(10),
            "the task is found orphaned",
            || rt.handle().leak_report().orphaned_total == 1,
        );
    });
}
