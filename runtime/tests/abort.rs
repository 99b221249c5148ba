//! `JoinHandle::abort()` of idle, running and finished tasks.

mod common;

use std::future::pending;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::Poll;
use std::thread;
use std::time::Duration;

use common::*;
use goro::task::{self, JoinHandle};

const LIMIT: Duration = Duration::from_secs(10);

#[test]
fn abort_idle_task_drops_its_future_promptly() {
    each_procs(LIMIT, |n| {
        let rt = rt_with_orphans(n);
        let drops = counter();
        let (started_tx, started_rx) = mpsc::channel();
        let guard = DropGuard(drops.clone());
        let h = rt.spawn(async move {
            let _guard = guard;
            started_tx.send(()).unwrap();
            pending::<()>().await;
        });
        started_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("task started");
        thread::sleep(Duration::from_millis(20)); // let the runtime go idle
        assert!(!h.is_finished());
        h.abort();
        // Nothing else happens in the runtime: abort alone must get the future dropped.
        wait_until(
            Duration::from_secs(2),
            "the aborted idle task's future to be dropped",
            || drops.load(Ordering::SeqCst) == 1,
        );
        wait_until(Duration::from_secs(2), "is_finished() after abort", || {
            h.is_finished()
        });
        let err = rt.block_on(h).unwrap_err();
        assert!(err.is_cancelled(), "aborted task: {err}");
        assert!(!err.is_panic());
        assert!(!err.to_string().is_empty());
        assert_eq!(drops.load(Ordering::SeqCst), 1, "dropped exactly once");
    });
}

#[test]
fn abort_idle_task_from_another_task_and_from_a_foreign_thread() {
    each_procs(LIMIT, |n| {
        let rt = rt_with_orphans(n);
        let drops = counter();
        let mut handles = Vec::new();
        for _ in 0..20 {
            let g = DropGuard(drops.clone());
            handles.push(rt.spawn(async move {
                let _g = g;
                pending::<()>().await;
            }));
        }
        let (a, b): (Vec<_>, Vec<_>) = handles
            .into_iter()
            .enumerate()
            .partition(|(i, _)| i % 2 == 0);
        let a: Vec<JoinHandle<()>> = a.into_iter().map(|x| x.1).collect();
        let b: Vec<JoinHandle<()>> = b.into_iter().map(|x| x.1).collect();
        // Half aborted by another task, half by a foreign thread.
        let results = rt.block_on(async move {
            let aborter = goro::spawn(async move {
                for h in &a {
                    h.abort();
                }
                a
            });
            let a = aborter.await.unwrap();
            let b = thread::spawn(move || {
                for h in &b {
                    h.abort();
                }
                b
            })
            .join()
            .unwrap();
            let mut r = Vec::new();
            for h in a.into_iter().chain(b) {
                r.push(h.await);
            }
            r
        });
        assert!(results
            .iter()
            .all(|r| matches!(r, Err(e) if e.is_cancelled())));
        assert_eq!(drops.load(Ordering::SeqCst), 20);
    });
}

#[test]
fn abort_running_task() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        let drops = counter();
        let iterations = counter();
        let (g, it) = (DropGuard(drops.clone()), iterations.clone());
        // A task that is always running or runnable: it yields in a loop.
        let h = rt.spawn(async move {
            let _g = g;
            loop {
                it.fetch_add(1, Ordering::SeqCst);
                // A bit of work inside one poll, so that the abort often lands mid-poll.
                let t = std::time::Instant::now();
                while t.elapsed() < Duration::from_micros(50) {
                    std::hint::spin_loop();
                }
                task::yield_now().await;
            }
        });
        wait_until(Duration::from_secs(5), "the task to loop", || {
            iterations.load(Ordering::SeqCst) > 100
        });
        h.abort();
        wait_until(
            Duration::from_secs(2),
            "the running task's future to be dropped",
            || drops.load(Ordering::SeqCst) == 1,
        );
        let err = rt.block_on(h).unwrap_err();
        assert!(err.is_cancelled());
        let frozen = iterations.load(Ordering::SeqCst);
        thread::sleep(Duration::from_millis(20));
        assert_eq!(
            iterations.load(Ordering::SeqCst),
            frozen,
            "an aborted task kept running"
        );
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn task_aborts_itself_while_running() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        let drops = counter();
        let reached = Arc::new(AtomicBool::new(false));
        let slot: Arc<Mutex<Option<JoinHandle<()>>>> = Arc::default();
        let (g, r, s) = (DropGuard(drops.clone()), reached.clone(), slot.clone());
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let h = rt.spawn(async move {
            let _g = g;
            // Wait (yielding) until our own handle is in the slot.
            while go_rx.try_recv().is_err() {
                task::yield_now().await;
            }
            let me = s.lock().unwrap().take().unwrap();
            me.abort(); // aborted while running: the next suspension point is the last
            task::yield_now().await;
            r.store(true, Ordering::SeqCst);
        });
        *slot.lock().unwrap() = Some(h);
        go_tx.send(()).unwrap();
        wait_until(
            Duration::from_secs(2),
            "the self-aborted task's future to be dropped",
            || drops.load(Ordering::SeqCst) == 1,
        );
        assert!(
            !reached.load(Ordering::SeqCst),
            "code after the yield point ran after abort()"
        );
    });
}

#[test]
fn abort_a_task_mid_poll_from_a_foreign_thread() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        let drops = counter();
        let polls = counter();
        let (in_poll_tx, in_poll_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let (g, p) = (DropGuard(drops.clone()), polls.clone());
        let mut first = true;
        let h = rt.spawn(std::future::poll_fn(move |cx| {
            let _g = &g;
            p.fetch_add(1, Ordering::SeqCst);
            if first {
                first = false;
                in_poll_tx.send(()).unwrap();
                // Stay inside this poll until the test has called abort().
                release_rx.recv_timeout(Duration::from_secs(5)).unwrap();
                cx.waker().wake_by_ref();
            }
            Poll::<()>::Pending
        }));
        in_poll_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        h.abort();
        assert!(!h.is_finished(), "the task is still inside its poll");
        release_tx.send(()).unwrap();
        wait_until(
            Duration::from_secs(2),
            "the future to be dropped after its poll returned",
            || drops.load(Ordering::SeqCst) == 1,
        );
        assert!(rt.block_on(h).unwrap_err().is_cancelled());
        assert_eq!(
            polls.load(Ordering::SeqCst),
            1,
            "an aborted task was polled again"
        );
    });
}

#[test]
fn abort_finished_task_keeps_its_result() {
    each_procs(LIMIT, |n| {
        let rt = rt_with_orphans(n);
        let h = rt.spawn(async { 17 });
        wait_until(Duration::from_secs(5), "is_finished()", || h.is_finished());
        h.abort();
        h.abort();
        assert!(h.is_finished());
        assert_eq!(
            rt.block_on(h).unwrap(),
            17,
            "aborting a finished task must not lose its output"
        );

        // Aborting a task that was cancelled already, twice, is harmless.
        let h = rt.spawn(pending::<()>());
        h.abort();
        h.abort();
        assert!(rt.block_on(h).unwrap_err().is_cancelled());
    });
}

#[test]
fn abort_a_task_never_polled() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        let drops = counter();
        let ran = Arc::new(AtomicUsize::new(0));
        let results = rt.block_on(async {
            // Spawned and aborted before the spawner yields: most never get polled.
            let hs: Vec<_> = (0..100)
                .map(|_| {
                    let g = DropGuard(drops.clone());
                    let ran = ran.clone();
                    let h = goro::spawn(async move {
                        let _g = g;
                        ran.fetch_add(1, Ordering::SeqCst);
                    });
                    h.abort();
                    h
                })
                .collect();
            let mut r = Vec::new();
            for h in hs {
                r.push(h.await);
            }
            r
        });
        // Each was either cancelled, or had already completed; each future dropped once.
        let cancelled = results
            .iter()
            .filter(|r| matches!(r, Err(e) if e.is_cancelled()))
            .count();
        let ok = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(cancelled + ok, 100);
        assert_eq!(ok, ran.load(Ordering::SeqCst));
        assert_eq!(drops.load(Ordering::SeqCst), 100);
    });
}

#[test]
fn abort_spawn_blocking_before_it_starts() {
    within(LIMIT, || {
        let rt = goro::Runtime::builder()
            .processors(1)
            .max_blocking_threads(1)
            .build()
            .unwrap();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let busy =
            rt.spawn_blocking(move || release_rx.recv_timeout(Duration::from_secs(5)).is_ok());
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        // Queued behind `busy` (one blocking thread), aborted before it runs: it never runs.
        let queued = rt.spawn_blocking(move || r.store(true, Ordering::SeqCst));
        thread::sleep(Duration::from_millis(20));
        queued.abort();
        release_tx.send(()).unwrap();
        assert!(rt.block_on(busy).unwrap());
        // As in tokio, aborting a blocking task that has not started may stop it from starting;
        // a running one cannot be stopped. Either way the outcome must be consistent.
        match rt.block_on(queued) {
            Err(e) => {
                assert!(e.is_cancelled());
                assert!(
                    !ran.load(Ordering::SeqCst),
                    "cancelled, yet the closure ran"
                );
            }
            Ok(()) => assert!(ran.load(Ordering::SeqCst)),
        }
    });
}

/// An `AbortHandle` cancels a detached task (its `JoinHandle` dropped), from another thread,
/// keeps the task's memory alive until it is dropped itself (clones too), and reports
/// `is_finished`; aborting after the task finished does nothing.
#[test]
fn abort_handle_outlives_the_join_handle() {
    each_procs(LIMIT, |n| {
        let rt = rt_with_orphans(n); // `pending` never keeps a waker
        let drops = counter();
        let guard = DropGuard(drops.clone());
        let h = rt.spawn(async move {
            let _guard = guard;
            pending::<()>().await;
        });
        let abort = h.abort_handle();
        let clone = abort.clone();
        assert_eq!(clone.id(), h.id());
        drop(h); // detached: only the abort handles reach it now
        assert!(!abort.is_finished());
        drop(abort);
        let from = thread::spawn(move || {
            clone.abort();
            clone
        });
        let clone = from.join().unwrap();
        wait_until(
            Duration::from_secs(5),
            "the aborted detached task's future to be dropped",
            || drops.load(Ordering::SeqCst) == 1,
        );
        wait_until(Duration::from_secs(5), "is_finished", || {
            clone.is_finished()
        });
        let done = rt.spawn(async { 5 });
        let done_abort = done.abort_handle();
        assert_eq!(rt.block_on(done).unwrap(), 5);
        done_abort.abort(); // after completion: nothing happens
        assert!(done_abort.is_finished());
        drop(clone);
        drop(done_abort);
        assert_eq!(rt.handle().live_tasks(), 0);
    });
}
