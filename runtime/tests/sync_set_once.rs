//! `goro::sync::SetOnce`, at 1 and 2 processors: tokio's API (set once, the value back in
//! the error, `into_inner`, the trait impls, statics), every waiter woken by the one `set`
//! (from a task or a plain thread, and racing the waits' registration), a wait on a set
//! cell that returns at once, the value dropped exactly once; then what goro adds: a task
//! stuck in the wait is reported as waiting in `SetOnce::wait` at its caller's line (that
//! the wait takes the cooperative budget is tested with the other waits', in
//! `sync_primitives.rs`).

mod common;

use common::{counter, each_procs, poll_once, rt, wait_for_op, wait_for_suspect, DropGuard};
use goro::stats::WaitOp;
use goro::sync::{SetOnce, SetOnceError};
use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(30);

static STATIC_EMPTY: SetOnce<u32> = SetOnce::const_new();
static STATIC_FULL: SetOnce<&str> = SetOnce::const_new_with("set");

#[test]
fn set_once_then_get_and_later_sets_give_their_value_back() {
    let cell = SetOnce::new();
    assert!(!cell.initialized());
    assert_eq!(cell.get(), None);
    assert_eq!(cell.set(String::from("first")), Ok(()));
    assert!(cell.initialized());
    assert_eq!(cell.get().map(String::as_str), Some("first"));
    let err = cell.set(String::from("second")).unwrap_err();
    assert_eq!(err.to_string(), "SetOnceError");
    let err: Box<dyn std::error::Error> = Box::new(err);
    let SetOnceError(back) = *err.downcast::<SetOnceError<String>>().unwrap();
    assert_eq!(back, "second");
    assert_eq!(cell.get().map(String::as_str), Some("first"));
    assert_eq!(cell.into_inner().as_deref(), Some("first"));
    assert_eq!(SetOnce::<u8>::new().into_inner(), None);
}

#[test]
fn constructors_and_trait_impls_are_tokios() {
    assert_eq!(STATIC_FULL.get(), Some(&"set"));
    assert_eq!(STATIC_EMPTY.set(1), Ok(()));
    assert_eq!(STATIC_EMPTY.set(2), Err(SetOnceError(2)));
    assert_eq!(SetOnce::new_with(Some(4)).get(), Some(&4));
    assert_eq!(SetOnce::<u8>::new_with(None).get(), None);
    assert_eq!(SetOnce::from(5).into_inner(), Some(5));
    assert!(!SetOnce::<Vec<u8>>::default().initialized());
    let full = SetOnce::from(vec![1u8]);
    assert_eq!(full.clone(), full);
    assert_ne!(full, SetOnce::new());
    assert_eq!(SetOnce::<u8>::new(), SetOnce::new());
    assert_eq!(format!("{full:?}"), "SetOnce { value: Some([1]) }");
    assert_eq!(
        format!("{:?}", SetOnce::<u8>::new()),
        format!("{:?}", tokio::sync::SetOnce::<u8>::new())
    );
    fn shared<T: Send + Sync>(_: &T) {}
    shared(&full);
}

#[test]
fn the_value_is_dropped_exactly_once() {
    let drops = counter();
    let cell = SetOnce::new();
    cell.set(DropGuard(drops.clone()))
        .unwrap_or_else(|_| panic!());
    let refused = cell.set(DropGuard(drops.clone())).unwrap_err();
    assert_eq!(
        drops.load(SeqCst),
        0,
        "a refused value comes back undropped"
    );
    drop(refused);
    assert_eq!(drops.load(SeqCst), 1);
    drop(cell);
    assert_eq!(drops.load(SeqCst), 2, "the cell drops its value");

    let taken = SetOnce::from(DropGuard(drops.clone())).into_inner();
    assert_eq!(drops.load(SeqCst), 2, "into_inner moves the value out");
    drop(taken);
    assert_eq!(drops.load(SeqCst), 3);
    drop(SetOnce::<DropGuard>::new());
    drop(SetOnce::new_with(Some(DropGuard(drops.clone()))));
    assert_eq!(drops.load(SeqCst), 4);
}

#[test]
fn one_set_wakes_every_waiting_task() {
    each_procs(LIMIT, |n| {
        const WAITERS: usize = 64;
        let rt = rt(n);
        rt.block_on(async {
            let cell = Arc::new(SetOnce::new());
            let waiters: Vec<_> = (0..WAITERS)
                .map(|i| {
                    let cell = cell.clone();
                    goro::spawn(async move { *cell.wait().await + i })
                })
                .collect();
            wait_for_op(WaitOp::SetOnceWait, WAITERS).await;
            cell.set(1000).unwrap();
            for (i, w) in waiters.into_iter().enumerate() {
                assert_eq!(w.await.unwrap(), 1000 + i);
            }
        });
    });
}

#[test]
fn a_set_from_a_plain_thread_wakes_waiting_tasks() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        let cell = Arc::new(SetOnce::<String>::new());
        let waiters: Vec<_> = (0..8)
            .map(|_| {
                let cell = cell.clone();
                rt.spawn(async move { cell.wait().await.clone() })
            })
            .collect();
        rt.block_on(wait_for_op(WaitOp::SetOnceWait, 8));
        let c = cell.clone();
        std::thread::spawn(move || c.set(String::from("from a thread")).unwrap())
            .join()
            .unwrap();
        for w in waiters {
            assert_eq!(rt.block_on(w).unwrap(), "from a thread");
        }
    });
}

#[test]
fn a_set_racing_the_waits_loses_no_wake_up() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        for round in 0..300 {
            let cell = Arc::new(SetOnce::new());
            let waiters: Vec<_> = (0..4)
                .map(|_| {
                    let cell = cell.clone();
                    rt.spawn(async move { *cell.wait().await })
                })
                .collect();
            let c = cell.clone();
            // Set while the waiters are being polled for the first time (on the other
            // processor, or next on this one), from a thread or a task in turns.
            if round % 2 == 0 {
                std::thread::spawn(move || c.set(round).unwrap());
            } else {
                drop(rt.spawn(async move { c.set(round).unwrap() }));
            }
            for w in waiters {
                assert_eq!(rt.block_on(w).unwrap(), round);
            }
        }
    });
}

#[test]
fn a_wait_on_a_set_cell_is_ready_at_once() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        rt.block_on(async {
            let cell = SetOnce::new();
            cell.set(3u8).unwrap();
            let mut wait = Box::pin(cell.wait());
            assert!(matches!(poll_once(&mut wait), Poll::Ready(&3)));
            assert_eq!(*SetOnce::from(4u8).wait().await, 4);
        });
    });
}

#[test]
fn a_task_stuck_in_wait_is_reported_at_its_line() {
    each_procs(LIMIT, |n| {
        let rt = goro::Runtime::builder()
            .processors(n)
            .stats_interval(Duration::from_millis(10))
            .leak_threshold(Duration::from_millis(20))
            .build()
            .unwrap();
        let never = Arc::new(SetOnce::<u8>::new());
        let c = never.clone();
        let (stuck, line) = (rt.spawn(async move { *c.wait().await }), line!());
        let report = wait_for_suspect(rt.handle(), WaitOp::SetOnceWait, Duration::from_secs(10));
        let suspect = report
            .suspected
            .iter()
            .find(|s| s.wait_op == Some(WaitOp::SetOnceWait))
            .unwrap();
        let at = suspect.suspended_at.expect("a suspension point");
        assert_eq!((at.file(), at.line()), (file!(), line), "{report}");
        assert_eq!(
            report.orphaned_total, 0,
            "the waiter keeps its waker:\n{report}"
        );
        let text = report.to_string();
        assert!(text.contains("[SetOnce::wait, "), "{text}");
        assert!(text.contains(&format!("] at {}:{line}", file!())), "{text}");
        never.set(9).unwrap();
        assert_eq!(rt.block_on(stuck).unwrap(), 9);
    });
}
