//! `task::JoinSet`: completion order, abort, drop, and where its tasks come from.

mod common;

use common::{counter, each_procs, rt, rt_with_orphans};
use goro::task::JoinSet;
use std::sync::atomic::Ordering;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn join_next_yields_in_completion_order() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let mut set = JoinSet::new();
            // Spawned in reverse order of their sleeps, with wide gaps.
            for ms in [300u64, 150, 0] {
                set.spawn(async move {
                    goro::time::sleep(Duration::from_millis(ms)).await;
                    ms
                });
            }
            assert_eq!(set.len(), 3);
            let mut order = Vec::new();
            while let Some(res) = set.join_next().await {
                order.push(res.unwrap());
            }
            assert_eq!(order, [0, 150, 300]);
            assert!(set.is_empty());
            assert!(set.join_next().await.is_none());
        });
    });
}

#[test]
fn many_tasks_are_all_joined_once() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let mut set = JoinSet::new();
            for i in 0..2000u64 {
                set.spawn(async move {
                    goro::task::yield_now().await;
                    i
                });
            }
            set.spawn_blocking(|| 1_000_000);
            let mut sum = 0;
            let mut count = 0;
            while let Some(res) = set.join_next().await {
                sum += res.unwrap();
                count += 1;
            }
            assert_eq!(count, 2001);
            assert_eq!(sum, 1999 * 2000 / 2 + 1_000_000);
        });
    });
}

#[test]
fn abort_all_cancels_and_panics_are_reported() {
    each_procs(LIMIT, |n| {
        rt_with_orphans(n).block_on(async {
            let mut set = JoinSet::new();
            for _ in 0..10 {
                set.spawn(std::future::pending::<u32>());
            }
            set.abort_all();
            let mut cancelled = 0;
            while let Some(res) = set.join_next().await {
                assert!(res.unwrap_err().is_cancelled());
                cancelled += 1;
            }
            assert_eq!(cancelled, 10);

            set.spawn(async { panic!("boom") });
            assert!(set.join_next().await.unwrap().unwrap_err().is_panic());
        });
    });
}

#[test]
fn dropping_the_set_aborts_its_tasks() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        let dropped = counter();
        rt.block_on(async {
            let mut set = JoinSet::new();
            for _ in 0..5 {
                let guard = common::DropGuard(dropped.clone());
                set.spawn(async move {
                    let _guard = guard;
                    goro::time::sleep(Duration::from_secs(3600)).await;
                });
            }
            goro::task::yield_now().await;
            drop(set);
            common::wait_until(Duration::from_secs(5), "aborted futures dropped", || {
                dropped.load(Ordering::SeqCst) == 5
            });
        });
        assert_eq!(rt.handle().live_tasks(), 0);
    });
}

#[test]
fn join_set_tasks_carry_the_callers_spawn_site() {
    let rt = rt(1);
    rt.block_on(async {
        let mut set = JoinSet::new();
        set.spawn(goro::time::sleep(Duration::from_secs(3600)));
        let line = line!() - 1;
        let dump = goro::Handle::current().tasks();
        let site = format!("{}:{line}", file!());
        assert!(
            dump.groups
                .iter()
                .any(|g| format!("{}:{}", g.spawned_at.file(), g.spawned_at.line()) == site),
            "no task spawned at {site}: {dump}"
        );
    });
}

/// `spawn` returns an `AbortHandle` for that one task: aborting it cancels only it, and
/// the set still yields its cancelled `JoinError` (with its id) among the others' outputs.
#[test]
fn spawn_returns_an_abort_handle_for_that_task() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let mut set = JoinSet::new();
            let stuck = set.spawn(async {
                goro::time::sleep(Duration::from_secs(3600)).await;
                0u32
            });
            let quick = set.spawn(async { 1 });
            let blocking = set.spawn_blocking(|| 2);
            assert_ne!(stuck.id(), quick.id());
            stuck.abort();
            let mut outputs = Vec::new();
            while let Some(res) = set.join_next().await {
                outputs.push(res.map_err(|e| (e.is_cancelled(), e.id())));
            }
            outputs.sort();
            assert_eq!(outputs, [Ok(1), Ok(2), Err((true, stuck.id()))]);
            assert!(stuck.is_finished() && quick.is_finished() && blocking.is_finished());
        });
    });
}

/// `join_next_with_id` pairs each output with the id `spawn`'s handle reported, and
/// `try_join_next_with_id` does the same without waiting.
#[test]
fn outputs_come_with_their_task_ids() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let mut set = JoinSet::new();
            let mut expected: Vec<_> = (0..50u32)
                .map(|i| (set.spawn(async move { i }).id(), i))
                .collect();
            let mut joined = Vec::new();
            while let Some(res) = set.join_next_with_id().await {
                joined.push(res.unwrap());
            }
            expected.sort();
            joined.sort();
            assert_eq!(joined, expected);
            let id = set.spawn(async { 7 }).id();
            let got = loop {
                if let Some(res) = set.try_join_next_with_id() {
                    break res.unwrap();
                }
                goro::task::yield_now().await;
            };
            assert_eq!(got, (id, 7));
        });
    });
}

/// `collect` and `extend` spawn every future; `join_all` returns all outputs, in the order
/// the tasks finished.
#[test]
fn collect_extend_and_join_all() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let mut set: JoinSet<u64> = [200u64, 0]
                .into_iter()
                .map(|ms| async move {
                    goro::time::sleep(Duration::from_millis(ms)).await;
                    ms
                })
                .collect();
            set.extend([100u64].map(|ms| async move {
                goro::time::sleep(Duration::from_millis(ms)).await;
                ms
            }));
            let extend_line = line!() - 4;
            assert_eq!(set.len(), 3);
            let dump = goro::Handle::current().tasks();
            assert!(
                dump.groups
                    .iter()
                    .any(|g| g.spawned_at.file() == file!() && g.spawned_at.line() == extend_line),
                "extend's tasks are not spawned at its line: {dump}"
            );
            assert_eq!(set.join_all().await, [0, 100, 200]);
        });
    });
}

/// `join_all` resumes a task's panic in the caller, and aborts the tasks still running.
#[test]
fn join_all_resumes_a_panic_and_aborts_the_rest() {
    each_procs(LIMIT, |n| {
        let rt = rt_with_orphans(n);
        let dropped = counter();
        let guard = common::DropGuard(dropped.clone());
        let caught = rt.block_on(async move {
            let mut set = JoinSet::new();
            set.spawn(async move {
                let _guard = guard;
                goro::time::sleep(Duration::from_secs(3600)).await;
            });
            set.spawn(async { std::panic::panic_any("boom") });
            goro::task::spawn(async move { set.join_all().await })
                .await
                .unwrap_err()
        });
        assert!(caught.is_panic());
        assert_eq!(*caught.into_panic().downcast::<&str>().unwrap(), "boom");
        common::wait_until(LIMIT, "the sleeping task to be aborted", || {
            dropped.load(Ordering::SeqCst) == 1
        });
    });
}
