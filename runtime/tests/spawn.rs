//! Spawning from outside, from tasks and from blocking threads; runtime context
//! (`Handle::current`, `try_current`, `task::try_id`); ids; names; `spawn_blocking`;
//! misuse that must panic clearly.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::*;
use goro::task::{self, JoinHandle};
use goro::{Handle, Runtime};

const LIMIT: Duration = Duration::from_secs(10);

#[test]
fn spawn_from_outside_with_runtime_spawn() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        let handles: Vec<JoinHandle<usize>> =
            (0..100).map(|i| rt.spawn(async move { i * 2 })).collect();
        let got: Vec<usize> = rt.block_on(async move {
            let mut v = Vec::new();
            for h in handles {
                v.push(h.await.unwrap());
            }
            v
        });
        assert_eq!(got, (0..100).map(|i| i * 2).collect::<Vec<_>>());
    });
}

#[test]
fn spawn_from_outside_with_handle_spawn_from_a_foreign_thread() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        let handle: Handle = rt.handle().clone();
        let (tx, rx) = mpsc::channel();
        // A std thread that is not part of the runtime spawns through a cloned Handle.
        let th = thread::spawn(move || {
            for i in 0..50usize {
                let tx = tx.clone();
                drop(handle.spawn(async move { tx.send(i).unwrap() }));
            }
        });
        th.join().unwrap();
        let mut got: Vec<usize> = (0..50)
            .map(|_| rx.recv_timeout(Duration::from_secs(5)).unwrap())
            .collect();
        got.sort();
        assert_eq!(got, (0..50).collect::<Vec<_>>());
        // And Handle::spawn + await through the handle's block_on.
        let h = rt.handle().spawn(async { 41 + 1 });
        assert_eq!(rt.handle().block_on(h).unwrap(), 42);
    });
}

#[test]
fn spawn_from_tasks_with_goro_spawn() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        // A tree: each task spawns two children until depth 8, and sums the leaves.
        fn tree(depth: u32) -> JoinHandle<u64> {
            goro::spawn(async move {
                if depth == 0 {
                    return 1;
                }
                let a = tree(depth - 1);
                let b = tree(depth - 1);
                a.await.unwrap() + b.await.unwrap()
            })
        }
        let total = rt.block_on(async { tree(8).await.unwrap() });
        assert_eq!(total, 256);
        // goro::spawn from inside a task spawned from outside.
        let outer = rt.spawn(async { goro::spawn(async { 7 }).await.unwrap() + 1 });
        assert_eq!(rt.block_on(outer).unwrap(), 8);
    });
}

#[test]
fn spawn_from_blocking_threads() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        let blocking = rt.spawn_blocking(|| {
            let via_handle = Handle::current().spawn(async { 5 });
            let via_fn = goro::spawn(async { 6 });
            assert!(Handle::try_current().is_some());
            (via_handle, via_fn)
        });
        let sum = rt.block_on(async move {
            let (a, b) = blocking.await.unwrap();
            a.await.unwrap() + b.await.unwrap()
        });
        assert_eq!(sum, 11);

        // task::spawn_blocking from inside a task, spawning back into the runtime.
        let h = rt.spawn(async {
            let inner = task::spawn_blocking(|| goro::spawn(async { 20 }))
                .await
                .unwrap();
            inner.await.unwrap() + 1
        });
        assert_eq!(rt.block_on(h).unwrap(), 21);
    });
}

#[test]
fn handle_block_on_from_a_blocking_thread() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        let h = rt.spawn_blocking(|| {
            let handle = Handle::current();
            let j = handle.spawn(async {
                task::yield_now().await;
                3
            });
            handle.block_on(j).unwrap() * 10
        });
        assert_eq!(rt.block_on(h).unwrap(), 30);
    });
}

#[test]
fn spawn_blocking_returns_its_value() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        let a = rt.spawn_blocking(|| {
            thread::sleep(Duration::from_millis(20));
            String::from("from a blocking thread")
        });
        assert_eq!(rt.block_on(a).unwrap(), "from a blocking thread");
        let b = rt.spawn(async { task::spawn_blocking(|| 6 * 7).await.unwrap() });
        assert_eq!(rt.block_on(b).unwrap(), 42);
        let c = rt.handle().spawn_blocking(|| vec![1u8, 2, 3]);
        assert_eq!(rt.block_on(c).unwrap(), vec![1, 2, 3]);
        // Many at once, all values come back.
        let hs: Vec<_> = (0..64u64)
            .map(|i| rt.spawn_blocking(move || i * i))
            .collect();
        let sum: u64 = rt.block_on(async move {
            let mut s = 0;
            for h in hs {
                s += h.await.unwrap();
            }
            s
        });
        assert_eq!(sum, (0..64u64).map(|i| i * i).sum::<u64>());
    });
}

#[test]
fn spawn_blocking_does_not_block_tasks() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        let release = Arc::new(AtomicBool::new(false));
        // Occupy more blocking threads than there are processors.
        let blockers: Vec<_> = (0..4)
            .map(|_| {
                let release = release.clone();
                rt.spawn_blocking(move || {
                    while !release.load(Ordering::SeqCst) {
                        thread::sleep(Duration::from_millis(1));
                    }
                })
            })
            .collect();
        // Async tasks still run meanwhile.
        let v = rt.block_on(async { goro::spawn(async { 1 }).await.unwrap() });
        assert_eq!(v, 1);
        release.store(true, Ordering::SeqCst);
        rt.block_on(async move {
            for b in blockers {
                b.await.unwrap();
            }
        });
    });
}

#[test]
fn handle_current_inside_and_outside() {
    // Outside any runtime.
    within(LIMIT, || {
        assert!(Handle::try_current().is_none());
        let msg = expect_panic(Handle::current);
        assert!(
            msg.to_lowercase().contains("runtime"),
            "Handle::current() outside a runtime should say why; it said: {msg:?}"
        );
    });
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        // In block_on.
        rt.block_on(async {
            assert!(Handle::try_current().is_some());
            let _ = Handle::current();
        });
        // In a task: the current handle spawns onto the same runtime.
        let h = rt.spawn(async { Handle::current().spawn(async { 9 }).await.unwrap() });
        assert_eq!(rt.block_on(h).unwrap(), 9);
        // In a blocking closure.
        let b = rt.spawn_blocking(|| Handle::try_current().is_some());
        assert!(rt.block_on(b).unwrap());
        // Back outside: the context does not stick to this thread.
        assert!(Handle::try_current().is_none());
    });
}

#[test]
fn goro_spawn_outside_a_runtime_panics_clearly() {
    within(LIMIT, || {
        let msg = expect_panic(|| goro::spawn(async {}));
        assert!(
            msg.to_lowercase().contains("runtime"),
            "goro::spawn outside a runtime said: {msg:?}"
        );
        let msg = expect_panic(|| task::spawn_blocking(|| ()));
        assert!(
            msg.to_lowercase().contains("runtime"),
            "task::spawn_blocking outside a runtime said: {msg:?}"
        );
    });
}

#[test]
fn block_on_inside_block_on_panics_clearly() {
    each_procs(LIMIT, |n| {
        let rt2 = rt(1);
        let rt = rt(n);
        // Another runtime's block_on inside block_on.
        let msg = expect_panic(|| rt.block_on(async { rt2.block_on(async {}) }));
        assert!(msg.contains("block_on"), "nested block_on said: {msg:?}");
        // The same runtime, through its handle.
        let msg = expect_panic(|| rt.block_on(async { Handle::current().block_on(async {}) }));
        assert!(
            msg.contains("block_on"),
            "nested Handle::block_on said: {msg:?}"
        );
        // Both runtimes still work on this thread after the panics unwound.
        assert_eq!(rt.block_on(async { 1 }), 1);
        assert_eq!(rt2.block_on(async { 2 }), 2);
        assert!(Handle::try_current().is_none());
        // block_on inside a task panics the task, not the runtime.
        let h = rt.spawn(async { Handle::current().block_on(async {}) });
        let err = rt.block_on(h).unwrap_err();
        assert!(err.is_panic());
        let msg = panic_message(&*err.into_panic());
        assert!(msg.contains("block_on"), "block_on in a task said: {msg:?}");
        assert_eq!(rt.block_on(rt.spawn(async { 3 })).unwrap(), 3);
    });
}

#[test]
#[should_panic(expected = "block_on")]
fn block_on_inside_block_on_should_panic() {
    let rt = Runtime::builder().processors(1).build().unwrap();
    let rt2 = Runtime::builder().processors(1).build().unwrap();
    rt.block_on(async { rt2.block_on(async {}) });
}

#[test]
fn ids_are_unique_and_try_id_matches() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        assert!(task::try_id().is_none(), "try_id() outside a task");
        let handles: Vec<JoinHandle<Option<task::Id>>> = (0..200)
            .map(|_| rt.spawn(async { task::try_id() }))
            .collect();
        let ids: Vec<task::Id> = handles.iter().map(|h| h.id()).collect();
        let set: HashSet<task::Id> = ids.iter().copied().collect();
        assert_eq!(set.len(), ids.len(), "task ids must be unique");
        let inner: Vec<Option<task::Id>> = rt.block_on(async move {
            let mut v = Vec::new();
            for h in handles {
                v.push(h.await.unwrap());
            }
            v
        });
        for (id, seen) in ids.iter().zip(inner) {
            assert!(
                seen == Some(*id),
                "try_id() inside the task ({}) != JoinHandle::id() ({id})",
                fmt_id(seen)
            );
        }
        // Display works and is not empty; Copy + Eq hold.
        let a = ids[0];
        let b = a;
        assert!(a == b && !a.to_string().is_empty());
        // Ids from goro::spawn and spawn_blocking are unique too.
        let more: Vec<task::Id> = rt.block_on(async {
            let x = goro::spawn(async {});
            let y = task::spawn_blocking(|| {});
            let ids = vec![x.id(), y.id()];
            x.await.unwrap();
            y.await.unwrap();
            ids
        });
        assert!(more[0] != more[1] && !set.contains(&more[0]) && !set.contains(&more[1]));
        assert!(
            task::try_id().is_none(),
            "try_id() after the tasks ran, outside"
        );
    });
}

fn fmt_id(id: Option<task::Id>) -> String {
    id.map_or("None".into(), |i| i.to_string())
}

#[test]
fn task_builder_names_and_spawns() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        let v = rt.block_on(async {
            let h = task::Builder::new()
                .name("x")
                .spawn(async { task::try_id().is_some() })
                .expect("Builder::spawn");
            let id = h.id();
            let inside = h.await.unwrap();
            let unnamed = task::Builder::new()
                .spawn(async { 5 })
                .unwrap()
                .await
                .unwrap();
            (inside, unnamed, id.to_string())
        });
        assert!(v.0);
        assert_eq!(v.1, 5);
        // A builder in a task spawned from a blocking thread.
        let h = rt.spawn_blocking(|| {
            task::Builder::new()
                .name("from-blocking")
                .spawn(async { 1 })
                .unwrap()
        });
        let j = rt.block_on(h).unwrap();
        assert_eq!(rt.block_on(j).unwrap(), 1);
    });
}

#[test]
fn is_finished_and_detach_on_drop() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        let go = Arc::new(AtomicBool::new(false));
        let slot = WakerSlot::default();
        let h = rt.spawn(UntilFlag {
            flag: go.clone(),
            slot: slot.clone(),
        });
        wait_until(Duration::from_secs(5), "the task to be polled", || {
            slot.is_set()
        });
        assert!(!h.is_finished());
        go.store(true, Ordering::SeqCst);
        slot.wake();
        wait_until(
            Duration::from_secs(5),
            "is_finished() after completion",
            || h.is_finished(),
        );
        rt.block_on(h).unwrap();

        // Dropping a JoinHandle detaches: the task still runs to the end.
        let (tx, rx) = mpsc::channel();
        let go = Arc::new(AtomicBool::new(false));
        let slot = WakerSlot::default();
        let fut = UntilFlag {
            flag: go.clone(),
            slot: slot.clone(),
        };
        drop(rt.spawn(async move {
            fut.await;
            tx.send("done").unwrap();
        }));
        wait_until(
            Duration::from_secs(5),
            "the detached task to be polled",
            || slot.is_set(),
        );
        go.store(true, Ordering::SeqCst);
        slot.wake();
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), "done");
    });
}

#[test]
fn runtime_new_and_handle_accessors() {
    within(LIMIT, || {
        let rt = Runtime::new().expect("Runtime::new");
        assert_eq!(
            rt.block_on(async { goro::spawn(async { 1 }).await.unwrap() }),
            1
        );
        let h1 = rt.handle().clone();
        let h2 = h1.clone();
        let c = Arc::new(AtomicUsize::new(0));
        let (c1, c2) = (c.clone(), c.clone());
        let a = h1.spawn(async move { c1.fetch_add(1, Ordering::SeqCst) });
        let b = h2.spawn(async move { c2.fetch_add(1, Ordering::SeqCst) });
        rt.block_on(async move {
            a.await.unwrap();
            b.await.unwrap();
        });
        assert_eq!(c.load(Ordering::SeqCst), 2);
    });
}

#[test]
fn many_runtimes_side_by_side() {
    within(LIMIT, || {
        // Tasks of one runtime spawn onto the runtime they run on, not onto another one.
        let a = rt(1);
        let b = rt(2);
        let ha = a.handle().clone();
        let hb = b.handle().clone();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let j = a.spawn(async move {
            // Spawn onto b from a task of a, then back on a through goro::spawn.
            let on_b =
                hb.spawn(async { Handle::current().spawn(async { "b-child" }).await.unwrap() });
            let on_a = goro::spawn(async { "a-child" });
            let a = on_a.await.unwrap();
            s.lock().unwrap().push(a);
            let b = on_b.await.unwrap();
            s.lock().unwrap().push(b);
        });
        a.block_on(j).unwrap();
        assert_eq!(*seen.lock().unwrap(), vec!["a-child", "b-child"]);
        drop(ha);
        drop(b);
        assert_eq!(a.block_on(async { 5 }), 5);
    });
}
