//! The scheduler's side of stats: orphans are recorded the moment they happen (and
//! reclaimed on request), task records carry the spawn site and the suspension point, and
//! the stats cycle reports suspects and pauses.

use goro_sched::{Config, Scheduler};
use goro_stats::{TaskState, WaitOp};
use std::future::poll_fn;
use std::task::Poll;
use std::time::{Duration, Instant};

fn scheduler(procs: usize, f: impl FnOnce(&mut Config)) -> Scheduler {
    let mut config = Config::with_processors(procs);
    f(&mut config);
    Scheduler::new(config).unwrap()
}

/// Waits until `cond` holds, up to 5 s.
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn a_future_that_drops_its_waker_is_orphaned_at_once_with_its_spawn_site() {
    for procs in [1, 2] {
        let rt = scheduler(procs, |_| {});
        let line = line!() + 1;
        let _join = rt.handle().spawn(poll_fn(|_| Poll::<()>::Pending), None);
        eventually("the orphan", || rt.handle().orphaned_tasks() == 1);
        let report = rt.handle().leak_report();
        assert_eq!(report.orphaned_total, 1);
        assert_eq!(report.orphaned.len(), 1);
        let orphan = &report.orphaned[0];
        assert_eq!(orphan.spawned_at.file(), file!());
        assert_eq!(orphan.spawned_at.line(), line);
        assert_eq!(orphan.state, TaskState::Orphaned);
        assert_eq!(orphan.wakers, 0);
        assert_eq!(orphan.polls, 1);
        assert_eq!(report.live_tasks, 1, "without reclaim the orphan stays");
    }
}

#[test]
fn reclaimed_orphans_complete_with_an_orphaned_join_error() {
    let rt = scheduler(2, |c| c.reclaim_orphans = true);
    let join = rt.handle().spawn(poll_fn(|_| Poll::<()>::Pending), None);
    let err = rt.handle().block_on(join).unwrap_err();
    assert!(err.is_orphaned() && err.is_cancelled(), "{err:?}");
    let report = rt.handle().leak_report();
    assert_eq!((report.orphaned_total, report.reclaimed), (1, 1));
    assert_eq!(report.orphaned[0].state, TaskState::Reclaimed);
    eventually("the reclaimed task to leave", || {
        rt.handle().live_tasks() == 0
    });
}

#[test]
fn a_sleeping_task_is_not_an_orphan_and_shows_where_it_sleeps() {
    let rt = scheduler(1, |_| {});
    let line = line!() + 2;
    let _join = rt.handle().spawn(
        async { goro_sched::time::sleep(Duration::from_secs(60)).await },
        None,
    );
    eventually("the sleeper to be idle", || {
        let dump = rt.handle().task_dump();
        dump.groups.iter().any(|g| {
            g.tasks
                .iter()
                .any(|t| t.state == TaskState::Idle && t.polls == 1)
        })
    });
    let dump = rt.handle().task_dump();
    assert_eq!(dump.groups.len(), 1);
    let group = &dump.groups[0];
    assert_eq!(group.wait_op, Some(WaitOp::Sleep));
    let at = group.suspended_at.expect("a suspension point");
    assert_eq!((at.file(), at.line()), (file!(), line));
    assert_eq!(group.tasks[0].wakers, 1, "the timer holds the waker");
    assert_eq!(rt.handle().orphaned_tasks(), 0);
}

#[test]
fn awaiting_a_join_handle_suspends_at_the_await() {
    let rt = scheduler(1, |_| {});
    let handle = rt.handle().clone();
    let _outer = rt.handle().spawn(
        async move {
            let inner = handle.spawn(goro_sched::time::sleep(Duration::from_secs(60)), None);
            let _ = inner.await;
        },
        None,
    );
    let await_line = line!() - 4;
    eventually("the outer task to wait on the join handle", || {
        rt.handle()
            .task_dump()
            .groups
            .iter()
            .any(|g| g.wait_op == Some(WaitOp::Join))
    });
    let dump = rt.handle().task_dump();
    let group = dump
        .groups
        .iter()
        .find(|g| g.wait_op == Some(WaitOp::Join))
        .unwrap();
    assert_eq!(group.suspended_at.unwrap().line(), await_line);
}

/// `traced_fallback` names a wait only when no goro future in the poll named one: a task
/// asleep inside it shows the sleep, a task waiting on a foreign channel shows the fallback.
#[test]
fn a_fallback_trace_names_only_the_waits_no_goro_future_named() {
    let rt = scheduler(1, |_| {});
    let fallback_at = std::panic::Location::caller();
    let sleep_line = line!() + 3;
    let _sleeper = rt.handle().spawn(
        goro_sched::task::traced_fallback(WaitOp::HyperConnection, fallback_at, async {
            goro_sched::time::sleep(Duration::from_secs(60)).await
        }),
        None,
    );
    let (tx, rx) = std::sync::mpsc::channel::<std::task::Waker>();
    let _foreign = rt.handle().spawn(
        goro_sched::task::traced_fallback(
            WaitOp::HyperConnection,
            fallback_at,
            poll_fn(move |cx| {
                let _ = tx.send(cx.waker().clone());
                Poll::<()>::Pending
            }),
        ),
        None,
    );
    let _waker = rx.recv().unwrap();
    eventually("both tasks to be idle with a suspension point", || {
        let dump = rt.handle().task_dump();
        dump.groups.len() == 2 && dump.groups.iter().all(|g| g.suspended_at.is_some())
    });
    let dump = rt.handle().task_dump();
    let op_at = |op| {
        let g = dump.groups.iter().find(|g| g.wait_op == Some(op)).unwrap();
        g.suspended_at.map(|s| (s.file(), s.line()))
    };
    assert_eq!(op_at(WaitOp::Sleep), Some((file!(), sleep_line)));
    assert_eq!(
        op_at(WaitOp::HyperConnection),
        Some((fallback_at.file(), fallback_at.line()))
    );
}

#[test]
fn stats_cycles_run_every_interval_and_record_pauses() {
    let rt = scheduler(1, |c| c.stats_interval = Duration::from_millis(10));
    eventually("five cycles", || rt.handle().pauses().num_cycles >= 5);
    let pauses = rt.handle().pauses();
    assert!(pauses.pauses.len() as u64 <= pauses.num_cycles);
    assert!(pauses.last_cycle.is_some());
}

#[test]
fn snapshot_counts_tasks_per_site() {
    let rt = scheduler(2, |_| {});
    let joins: Vec<_> = (0..100)
        .map(|_| rt.handle().spawn(async { 1 }, None))
        .collect();
    let line = line!() - 2;
    for join in joins {
        rt.handle().block_on(join).unwrap();
    }
    let snapshot = rt.handle().stats();
    let site = snapshot
        .sites
        .iter()
        .find(|s| s.spawned_at.line() == line)
        .expect("the spawn site");
    assert_eq!((site.spawned, site.completed, site.live), (100, 100, 0));
    assert!(snapshot.tasks.spawned >= 100);
    assert_eq!(snapshot.processors, 2);
    assert!(snapshot.totals.polls >= 100);
}
