//! `goro::stats` and the `Handle` stats methods: snapshots, leak reports, pauses, task
//! dumps, and the suspension points goro's socket futures and `yield_now` record.

mod common;

use std::future::poll_fn;
use std::panic::Location;
use std::task::Poll;
use std::time::Duration;

use goro::io::AsyncReadExt;
use goro::net::{TcpListener, TcpStream, UdpSocket};
use goro::stats::{TaskInfo, TaskState, WaitOp};
use goro::Handle;

const LIMIT: Duration = Duration::from_secs(20);

/// Every live task of the dump.
fn all_tasks(handle: &Handle) -> Vec<TaskInfo> {
    handle
        .tasks()
        .groups
        .into_iter()
        .flat_map(|g| g.tasks)
        .collect()
}

/// Waits until a task of `handle` is idle on `op`, and returns it.
fn idle_on(handle: &Handle, op: WaitOp) -> TaskInfo {
    let mut found = None;
    common::wait_until(
        Duration::from_secs(5),
        &format!("a task idle on {op}"),
        || {
            found = all_tasks(handle)
                .into_iter()
                .find(|t| t.wait_op == Some(op) && t.state == TaskState::Idle);
            found.is_some()
        },
    );
    found.unwrap()
}

/// Asserts that `task` suspended at `line` of this file.
fn assert_suspended_here(task: &TaskInfo, line: u32) {
    let at = task
        .suspended_at
        .unwrap_or_else(|| panic!("no suspension point: {task:?}"));
    assert_eq!(at.file(), file!(), "{task:?}");
    assert_eq!(at.line(), line, "{task:?}");
}

#[test]
fn socket_waits_name_the_op_and_the_line_that_awaits() {
    common::each_procs(LIMIT, |n| {
        let rt = common::rt(n);
        let (tasks, lines) = rt.block_on(async {
            // A listener nobody connects to.
            let idle_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let accept_line = line!() + 1;
            let accepting = goro::spawn(async move { idle_listener.accept().await.map(drop) });

            // A connection whose peer never writes: one reader through the inherent method,
            // one through the extension trait on a split half.
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let mut a = TcpStream::connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            let (b, _) = listener.accept().await.unwrap();
            let read_line = line!() + 3;
            let reading = goro::spawn(async move {
                let mut buf = [0; 8];
                a.read(&mut buf).await.map(drop)
            });
            let (mut half, keep) = b.into_split();
            let read_exact_line = line!() + 3;
            let reading_exact = goro::spawn(async move {
                let mut buf = [0; 8];
                let r = AsyncReadExt::read_exact(&mut half, &mut buf).await;
                drop(keep);
                r.map(drop)
            });

            let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let recv_line = line!() + 3;
            let receiving = goro::spawn(async move {
                let mut buf = [0; 8];
                udp.recv_from(&mut buf).await.map(drop)
            });
            (
                [accepting, reading, reading_exact, receiving],
                [accept_line, read_line, read_exact_line, recv_line],
            )
        });
        let handle = rt.handle();
        let [accept_line, read_line, read_exact_line, recv_line] = lines;

        let accepting = idle_on(handle, WaitOp::TcpAccept);
        assert_suspended_here(&accepting, accept_line);
        assert_eq!(accepting.spawned_at.line(), accept_line);

        // Two tasks wait on TcpStream::read: the inherent `read` and the extension trait's
        // `read_exact` on a read half.
        common::wait_until(Duration::from_secs(5), "both readers idle", || {
            all_tasks(handle)
                .iter()
                .filter(|t| t.wait_op == Some(WaitOp::TcpRead) && t.state == TaskState::Idle)
                .count()
                == 2
        });
        let mut reader_lines: Vec<u32> = all_tasks(handle)
            .iter()
            .filter(|t| t.wait_op == Some(WaitOp::TcpRead))
            .map(|t| {
                assert_eq!(t.suspended_at.unwrap().file(), file!(), "{t:?}");
                t.suspended_at.unwrap().line()
            })
            .collect();
        reader_lines.sort_unstable();
        assert_eq!(reader_lines, [read_line, read_exact_line]);

        let receiving = idle_on(handle, WaitOp::UdpRecv);
        assert_suspended_here(&receiving, recv_line);

        // The same through the free function, from inside the runtime.
        let dump = rt.block_on(async { goro::stats::tasks() });
        assert!(
            dump.groups
                .iter()
                .any(|g| g.wait_op == Some(WaitOp::TcpAccept)
                    && g.suspended_at.map(|l| l.line()) == Some(accept_line)),
            "{dump}"
        );
        assert!(dump.to_string().contains("TcpStream::read"), "{dump}");

        // Still waiting, all of them (check before aborting any: dropping the reader of
        // one end of the connection ends the other).
        assert!(tasks.iter().all(|t| !t.is_finished()));
        for task in tasks {
            task.abort();
        }
    });
}

#[test]
fn yield_now_names_its_caller() {
    common::within(LIMIT, || {
        let rt = common::rt(1);
        let handle = rt.handle().clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let yield_line = line!() + 5;
        let task = rt.spawn(async move {
            // Yield until the dump has been taken: while this task is polled, the test
            // thread reads where it last suspended.
            while rx.try_recv().is_err() {
                goro::task::yield_now().await;
            }
        });
        common::wait_until(
            Duration::from_secs(5),
            "the yielding task in the dump",
            || {
                all_tasks(&handle)
                    .iter()
                    .any(|t| t.wait_op == Some(WaitOp::Yield))
            },
        );
        let yielding = all_tasks(&handle)
            .into_iter()
            .find(|t| t.wait_op == Some(WaitOp::Yield))
            .unwrap();
        assert_suspended_here(&yielding, yield_line);
        tx.send(()).unwrap();
        rt.block_on(task).unwrap();
    });
}

#[test]
fn handle_and_free_functions_agree() {
    common::each_procs(LIMIT, |n| {
        let rt = common::rt(n);
        let handle = rt.handle();
        rt.block_on(async {
            for _ in 0..10 {
                goro::spawn(async { goro::task::yield_now().await })
                    .await
                    .unwrap();
            }
            let snap = goro::stats::snapshot();
            assert_eq!(snap.processors, n);
            assert!(snap.tasks.spawned >= 10, "{snap:?}");
            assert!(snap.totals.polls >= 20, "{snap:?}");
            let report = goro::stats::leak_report();
            assert_eq!(report.orphaned_total, 0, "{report}");
            assert!(report.orphaned.is_empty());
            let pauses = goro::stats::pauses();
            assert!(pauses.pauses.len() as u64 <= pauses.num_cycles);
        });
        assert_eq!(handle.stats().processors, n);
        // A task's completion is counted just after its JoinHandle is woken.
        common::wait_until(Duration::from_secs(5), "10 completed tasks", || {
            handle.stats().tasks.completed >= 10
        });
        assert_eq!(handle.leak_report().orphaned_total, 0);
        assert!(handle.pauses().pauses.len() as u64 <= handle.pauses().num_cycles);
    });
}

/// A snapshot's live count and its spawned and completed counts are read together: while
/// tasks come and go on every processor, live is always spawned minus completed.
#[test]
fn a_snapshot_counts_live_spawned_and_completed_tasks_consistently() {
    common::each_procs(LIMIT, |n| {
        let rt = common::rt(n);
        let handle = rt.handle().clone();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let churn = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                rt.block_on(async move {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let batch: Vec<_> = (0..16)
                            .map(|_| goro::spawn(async { goro::task::yield_now().await }))
                            .collect();
                        for task in batch {
                            task.await.unwrap();
                        }
                    }
                });
                rt
            })
        };
        for _ in 0..3000 {
            let tasks = handle.stats().tasks;
            assert_eq!(tasks.live, tasks.spawned - tasks.completed, "{tasks:?}");
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        drop(churn.join().unwrap());
    });
}

#[test]
fn leak_report_names_an_orphan_and_where_it_was_spawned() {
    common::within(LIMIT, || {
        let rt = common::rt_with_orphans(1);
        let spawn_line = line!() + 1;
        let _orphan = rt.spawn(poll_fn(|_cx| Poll::<()>::Pending));
        let handle = rt.handle();
        common::wait_until(Duration::from_secs(5), "the orphan in the report", || {
            handle.leak_report().orphaned_total == 1
        });
        let report = handle.leak_report();
        assert_eq!(report.orphaned.len(), 1, "{report}");
        let orphan = &report.orphaned[0];
        assert_eq!(orphan.spawned_at.file(), file!());
        assert_eq!(orphan.spawned_at.line(), spawn_line);
        assert_eq!(orphan.wakers, 0);
        let text = report.to_string();
        assert!(
            text.contains(&format!("{}:{spawn_line}", file!())),
            "{text}"
        );
        assert_eq!(handle.stats().tasks.orphaned, 1);
    });
}

#[test]
fn free_functions_panic_outside_a_runtime() {
    let here = Location::caller().file();
    for (what, f) in [
        ("snapshot", (|| drop(goro::stats::snapshot())) as fn()),
        ("leak_report", || drop(goro::stats::leak_report())),
        ("pauses", || drop(goro::stats::pauses())),
        ("tasks", || drop(goro::stats::tasks())),
    ] {
        let msg = common::expect_panic(f);
        assert!(
            msg.contains(&format!("goro::stats::{what}")) && msg.contains("no goro runtime"),
            "{here}: {what}: {msg}"
        );
    }
}
