//! A panic in a task is caught, returned as `JoinError::panic`, and the runtime goes on.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::*;
use goro::task;

const LIMIT: Duration = Duration::from_secs(10);

#[test]
fn panic_in_a_task_is_a_join_error_with_its_payload() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        let h = rt.spawn(async {
            task::yield_now().await;
            panic!("boom {}", std::hint::black_box(7));
        });
        let err = rt.block_on(h).unwrap_err();
        assert!(err.is_panic());
        assert!(!err.is_cancelled());
        assert!(!err.to_string().is_empty());
        let payload = err.into_panic();
        assert_eq!(
            payload.downcast_ref::<String>().map(String::as_str),
            Some("boom 7")
        );

        // A &'static str payload and a non-string payload come back as they were.
        let h = rt.spawn(async { panic!("static boom") });
        let p = rt.block_on(h).unwrap_err().into_panic();
        assert_eq!(p.downcast_ref::<&str>(), Some(&"static boom"));
        let h = rt.spawn(async { std::panic::panic_any(42u64) });
        let p = rt.block_on(h).unwrap_err().into_panic();
        assert_eq!(p.downcast_ref::<u64>(), Some(&42));
    });
}

#[test]
fn runtime_goes_on_after_many_panics() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        let drops = counter();
        let hs: Vec<_> = (0..200)
            .map(|i| {
                let g = DropGuard(drops.clone());
                rt.spawn(async move {
                    let _g = g;
                    task::yield_now().await;
                    if i % 2 == 0 {
                        panic!("task {i}");
                    }
                    i
                })
            })
            .collect();
        let (panics, oks) = rt.block_on(async move {
            let (mut p, mut o) = (0, 0);
            for h in hs {
                match h.await {
                    Ok(_) => o += 1,
                    Err(e) if e.is_panic() => p += 1,
                    Err(e) => panic!("unexpected {e}"),
                }
            }
            (p, o)
        });
        assert_eq!((panics, oks), (100, 100));
        // Each panicking future was dropped (once) too.
        assert_eq!(drops.load(Ordering::SeqCst), 200);
        // Every processor still works: more tasks than processors, spawned from tasks.
        let sum = rt.block_on(async {
            let hs: Vec<_> = (0..100u64).map(|i| goro::spawn(async move { i })).collect();
            let mut s = 0;
            for h in hs {
                s += h.await.unwrap();
            }
            s
        });
        assert_eq!(sum, 4950);
    });
}

#[test]
fn panic_in_spawn_blocking_is_a_join_error() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        let h = rt.spawn_blocking(|| -> u8 { panic!("blocking boom") });
        let err = rt.block_on(h).unwrap_err();
        assert!(err.is_panic());
        assert_eq!(panic_message(&*err.into_panic()), "blocking boom");
        // The blocking pool still works.
        assert_eq!(rt.block_on(rt.spawn_blocking(|| 3)).unwrap(), 3);
    });
}

#[test]
fn detached_panicking_task_does_not_kill_the_runtime() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        // The panicking task's JoinHandle is dropped (detached): the panic is swallowed.
        drop(rt.spawn(async { panic!("nobody listens") }));
        std::thread::sleep(Duration::from_millis(10));
        assert_eq!(rt.block_on(rt.spawn(async { 1 })).unwrap(), 1);
    });
}

#[test]
fn panic_in_block_on_propagates_and_runtime_still_works() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        let msg = expect_panic(|| rt.block_on(async { panic!("in block_on") }));
        assert_eq!(msg, "in block_on");
        assert_eq!(
            rt.block_on(async { goro::spawn(async { 2 }).await.unwrap() }),
            2
        );
    });
}
