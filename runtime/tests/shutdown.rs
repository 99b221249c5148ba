//! Shutdown: every task's future dropped exactly once, JoinHandles cancelled, wakes racing
//! the drop, destructors that wake or spawn, JoinHandle cycles, `shutdown_timeout`.

// Cloning a waker and waking the clone is one of the paths under test.
#![allow(clippy::waker_clone_wake)]

mod common;

use std::future::pending;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use goro::task::{self, JoinHandle};
use goro::Handle;

const LIMIT: Duration = Duration::from_secs(10);

/// Asserts a JoinHandle of a shut-down runtime is ready at once with a cancellation.
fn assert_cancelled<T>(h: &mut JoinHandle<T>, what: &str) {
    match poll_once(h) {
        Poll::Ready(Err(e)) => {
            assert!(e.is_cancelled(), "{what}: expected a cancellation, got {e}")
        }
        Poll::Ready(Ok(_)) => panic!("{what}: expected a cancellation, got Ok"),
        Poll::Pending => panic!("{what}: JoinHandle still pending after the runtime was dropped"),
    }
}

#[test]
fn drop_with_pending_tasks_drops_each_future_once() {
    each_procs(LIMIT, |n| {
        let rt = rt_with_orphans(n);
        let drops = counter();
        let polled = counter();
        let mut handles = Vec::new();
        // Idle tasks, waiting forever.
        for _ in 0..100 {
            let (g, p) = (DropGuard(drops.clone()), polled.clone());
            handles.push(rt.spawn(async move {
                let _g = g;
                p.fetch_add(1, Ordering::SeqCst);
                pending::<()>().await;
            }));
        }
        // Busy tasks, always runnable (some will be mid-poll when the drop starts).
        for _ in 0..2 * n {
            let g = DropGuard(drops.clone());
            handles.push(rt.spawn(async move {
                let _g = g;
                loop {
                    let t = Instant::now();
                    while t.elapsed() < Duration::from_micros(200) {
                        std::hint::spin_loop();
                    }
                    task::yield_now().await;
                }
            }));
        }
        wait_until(Duration::from_secs(5), "the idle tasks to start", || {
            polled.load(Ordering::SeqCst) == 100
        });
        // Tasks spawned right before the drop: most are never polled.
        for _ in 0..100 {
            let g = DropGuard(drops.clone());
            handles.push(rt.spawn(async move {
                let _g = g;
                pending::<()>().await;
            }));
        }
        let total = handles.len();
        drop(rt);
        assert_eq!(
            drops.load(Ordering::SeqCst),
            total,
            "each task's future must be dropped exactly once by the time drop(rt) returns"
        );
        for (i, h) in handles.iter_mut().enumerate() {
            assert_cancelled(h, &format!("task {i}"));
            assert!(h.is_finished());
        }
        drop(handles);
        assert_eq!(drops.load(Ordering::SeqCst), total);
    });
}

#[test]
fn join_handles_of_a_dropped_runtime_can_be_awaited_on_another() {
    each_procs(LIMIT, |n| {
        let rt = rt_with_orphans(n);
        let hs: Vec<JoinHandle<()>> = (0..10).map(|_| rt.spawn(pending())).collect();
        drop(rt);
        let other = common::rt(1);
        other.block_on(async move {
            for h in hs {
                assert!(h.await.unwrap_err().is_cancelled());
            }
        });
    });
}

#[test]
fn wakes_racing_the_drop() {
    each_procs(LIMIT, |n| {
        for round in 0..20 {
            let rt = rt(n);
            let drops = counter();
            let wakers: Arc<Mutex<Vec<Waker>>> = Arc::default();
            const TASKS: usize = 50;
            let mut handles = Vec::new();
            for _ in 0..TASKS {
                let g = DropGuard(drops.clone());
                let w = wakers.clone();
                let mut registered = false;
                handles.push(rt.spawn(std::future::poll_fn(move |cx| {
                    let _g = &g;
                    if !registered {
                        registered = true;
                        w.lock().unwrap().push(cx.waker().clone());
                    }
                    Poll::<()>::Pending
                })));
            }
            wait_until(
                Duration::from_secs(5),
                "every task to register its waker",
                || wakers.lock().unwrap().len() == TASKS,
            );
            let stop = Arc::new(AtomicBool::new(false));
            let hammers: Vec<_> = (0..2)
                .map(|t| {
                    let (stop, wakers) = (stop.clone(), wakers.clone());
                    thread::spawn(move || {
                        let mine: Vec<Waker> = wakers.lock().unwrap().clone();
                        let mut i = 0usize;
                        while !stop.load(Ordering::Relaxed) {
                            for w in &mine {
                                if (i + t) & 1 == 0 {
                                    w.wake_by_ref();
                                } else {
                                    w.clone().wake();
                                }
                            }
                            i += 1;
                        }
                        // Wake after the runtime is gone, then drop our clones.
                        for w in mine {
                            w.wake();
                        }
                    })
                })
                .collect();
            thread::sleep(Duration::from_millis(2));
            drop(rt);
            let after_drop = drops.load(Ordering::SeqCst);
            stop.store(true, Ordering::SeqCst);
            for h in hammers {
                h.join().unwrap();
            }
            assert_eq!(
                after_drop, TASKS,
                "round {round}: futures dropped by drop(rt)"
            );
            for w in wakers.lock().unwrap().drain(..) {
                w.wake();
            }
            for h in handles.iter_mut() {
                assert_cancelled(h, &format!("round {round}"));
            }
            assert_eq!(
                drops.load(Ordering::SeqCst),
                TASKS,
                "round {round}: a future was dropped twice"
            );
        }
    });
}

/// What each destructor's spawn returned: the JoinHandle, or the message of its panic.
type Spawned = Arc<Mutex<Vec<Result<JoinHandle<()>, String>>>>;

/// On drop: wakes `wake`'s task, spawns a new task (holding a DropGuard on `drops`) through
/// `handle`, and stores the new JoinHandle (or the panic of the spawn) in `spawned`.
struct WakeAndSpawnOnDrop {
    wake: WakerSlot,
    handle: Handle,
    drops: Arc<AtomicUsize>,
    depth: u32,
    spawned: Spawned,
}

impl Drop for WakeAndSpawnOnDrop {
    fn drop(&mut self) {
        self.wake.wake();
        let g = DropGuard(self.drops.clone());
        let next = (self.depth > 0).then(|| WakeAndSpawnOnDrop {
            wake: self.wake.clone(),
            handle: self.handle.clone(),
            drops: self.drops.clone(),
            depth: self.depth - 1,
            spawned: self.spawned.clone(),
        });
        let handle = self.handle.clone();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            handle.spawn(async move {
                let _g = g;
                let _next = next;
                pending::<()>().await;
            })
        }));
        self.spawned
            .lock()
            .unwrap()
            .push(r.map_err(|p| panic_message(&*p)));
    }
}

#[test]
fn destructors_that_wake_and_spawn_during_shutdown() {
    each_procs(LIMIT, |n| {
        let rt = rt_with_orphans(n);
        let drops = counter();
        let spawned: Spawned = Arc::default();
        // B: waits forever with its waker in a slot; A's destructor wakes it.
        let b_slot = WakerSlot::default();
        let b_guard = DropGuard(drops.clone());
        let mut b = rt.spawn({
            let fut = UntilFlag {
                flag: Arc::new(AtomicBool::new(false)),
                slot: b_slot.clone(),
            };
            async move {
                let _g = b_guard;
                fut.await
            }
        });
        wait_until(Duration::from_secs(5), "B to be polled", || b_slot.is_set());
        const DEPTH: u32 = 4;
        let mut a_handles = Vec::new();
        for _ in 0..10 {
            let bomb = WakeAndSpawnOnDrop {
                wake: b_slot.clone(),
                handle: rt.handle().clone(),
                drops: drops.clone(),
                depth: DEPTH,
                spawned: spawned.clone(),
            };
            let g = DropGuard(drops.clone());
            a_handles.push(rt.spawn(async move {
                let _g = g;
                let _bomb = bomb;
                pending::<()>().await;
            }));
        }
        thread::sleep(Duration::from_millis(10));
        drop(rt);
        // A, B, and every task spawned from a destructor (10 chains of DEPTH + 1).
        let spawned_in_shutdown = 10 * (DEPTH as usize + 1);
        let mut results = std::mem::take(&mut *spawned.lock().unwrap());
        assert_eq!(results.len(), spawned_in_shutdown);
        for r in &mut results {
            match r {
                Ok(h) => assert_cancelled(h, "a task spawned during shutdown"),
                Err(msg) => {
                    panic!("Handle::spawn from a destructor during shutdown panicked: {msg}")
                }
            }
        }
        assert_eq!(
            drops.load(Ordering::SeqCst),
            1 + 10 + spawned_in_shutdown,
            "every future dropped exactly once"
        );
        assert_cancelled(&mut b, "B");
        for h in &mut a_handles {
            assert_cancelled(h, "A");
        }
    });
}

#[test]
fn spawn_on_the_handle_of_a_dropped_runtime() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        let handle = rt.handle().clone();
        drop(rt);
        let drops = counter();
        let g = DropGuard(drops.clone());
        let mut h = handle.spawn(async move {
            let _g = g;
        });
        assert_eq!(
            drops.load(Ordering::SeqCst),
            1,
            "the future must be dropped, not kept"
        );
        assert_cancelled(&mut h, "spawn after shutdown");
    });
}

#[test]
fn join_handle_cycles_do_not_leak() {
    each_procs(LIMIT, |n| {
        // Two pending tasks, each owning the other's JoinHandle.
        let rt = rt_with_orphans(n);
        let marker = Arc::new(());
        let slot_a: Arc<Mutex<Option<JoinHandle<()>>>> = Arc::default();
        let slot_b: Arc<Mutex<Option<JoinHandle<()>>>> = Arc::default();
        let (ma, sa) = (marker.clone(), slot_a.clone());
        let a = rt.spawn(async move {
            let _m = ma;
            let _held = sa; // holds B's handle once it is put there
            pending::<()>().await;
        });
        let (mb, sb) = (marker.clone(), slot_b.clone());
        let b = rt.spawn(async move {
            let _m = mb;
            let _held = sb;
            pending::<()>().await;
        });
        *slot_a.lock().unwrap() = Some(b);
        *slot_b.lock().unwrap() = Some(a);
        drop((slot_a, slot_b));
        assert_eq!(Arc::strong_count(&marker), 3);
        drop(rt);
        assert_eq!(
            Arc::strong_count(&marker),
            1,
            "a JoinHandle cycle kept futures alive"
        );

        // A finished task's output holds the handle of a pending task that holds the finished
        // task's handle: the cycle goes through a stored output.
        let rt = common::rt_with_orphans(n);
        let marker = Arc::new(());
        type Out = (Arc<()>, JoinHandle<()>);
        let slot_for_a: Arc<Mutex<Option<JoinHandle<()>>>> = Arc::default();
        let slot_for_b: Arc<Mutex<Option<JoinHandle<Out>>>> = Arc::default();
        let a_done = Arc::new(AtomicBool::new(false));
        let (m, s, d) = (marker.clone(), slot_for_a.clone(), a_done.clone());
        let a: JoinHandle<Out> = rt.spawn(async move {
            loop {
                let taken = s.lock().unwrap().take();
                if let Some(hb) = taken {
                    d.store(true, Ordering::SeqCst);
                    return (m, hb);
                }
                task::yield_now().await;
            }
        });
        let (m, s) = (marker.clone(), slot_for_b.clone());
        let b = rt.spawn(async move {
            let _m = m;
            let _held = s;
            pending::<()>().await;
        });
        *slot_for_a.lock().unwrap() = Some(b);
        *slot_for_b.lock().unwrap() = Some(a);
        drop((slot_for_a, slot_for_b));
        wait_until(Duration::from_secs(5), "A to finish", || {
            a_done.load(Ordering::SeqCst)
        });
        thread::sleep(Duration::from_millis(20)); // let A's output be stored
        assert_eq!(Arc::strong_count(&marker), 3);
        drop(rt);
        assert_eq!(
            Arc::strong_count(&marker),
            1,
            "a JoinHandle cycle through a task output leaked"
        );
    });
}

#[test]
fn task_holding_a_handle_to_its_own_runtime() {
    each_procs(LIMIT, |n| {
        let rt = rt_with_orphans(n);
        let marker = Arc::new(());
        for _ in 0..10 {
            let (h, m) = (rt.handle().clone(), marker.clone());
            drop(rt.spawn(async move {
                let _h = h;
                let _m = m;
                pending::<()>().await;
            }));
        }
        drop(rt);
        assert_eq!(Arc::strong_count(&marker), 1);
    });
}

#[test]
fn shutdown_timeout_returns_while_a_blocking_thread_sleeps() {
    each_procs(LIMIT, |n| {
        let rt = rt_with_orphans(n);
        let drops = counter();
        let (started_tx, started_rx) = mpsc::channel();
        drop(rt.spawn_blocking(move || {
            started_tx.send(()).unwrap();
            thread::sleep(Duration::from_secs(5));
        }));
        for _ in 0..10 {
            let g = DropGuard(drops.clone());
            drop(rt.spawn(async move {
                let _g = g;
                pending::<()>().await;
            }));
        }
        started_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("the blocking closure started");
        let t = Instant::now();
        rt.shutdown_timeout(Duration::from_millis(100));
        let took = t.elapsed();
        assert!(
            took < Duration::from_secs(1),
            "shutdown_timeout(100ms) took {took:?}"
        );
        assert_eq!(
            drops.load(Ordering::SeqCst),
            10,
            "shutdown_timeout drops every task's future"
        );
    });
}

#[test]
fn shutdown_timeout_with_nothing_running_is_quick() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        rt.block_on(async { goro::spawn(async {}).await.unwrap() });
        let t = Instant::now();
        rt.into_inner().shutdown_timeout(Duration::from_secs(5));
        assert!(
            t.elapsed() < Duration::from_secs(1),
            "shutdown_timeout waited for nothing: {:?}",
            t.elapsed()
        );
    });
}

#[test]
fn many_runtimes_created_and_dropped() {
    within(LIMIT, || {
        for i in 0..50 {
            let rt = rt_with_orphans(1 + i % 2);
            let h = rt.spawn(async { goro::spawn(async { 1 }).await.unwrap() });
            assert_eq!(rt.block_on(h).unwrap(), 1);
            drop(rt.spawn(pending::<()>()));
        }
    });
}

#[test]
fn dropped_from_its_own_spawn_blocking_closure() {
    each_procs(LIMIT, |n| {
        let rt = rt_with_orphans(n);
        let drops = counter();
        for _ in 0..10 {
            let g = DropGuard(drops.clone());
            drop(rt.spawn(async move {
                let _g = g;
                pending::<()>().await;
            }));
        }
        let (done_tx, done_rx) = mpsc::channel();
        let handle = rt.handle().clone();
        let d = drops.clone();
        drop(handle.spawn_blocking(move || {
            // Shutdown must not wait for the thread it runs on.
            drop(rt);
            done_tx.send(d.load(Ordering::SeqCst)).unwrap();
        }));
        let dropped = done_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("dropping the runtime in its own spawn_blocking closure returns");
        assert_eq!(dropped, 10, "the drop dropped every task's future");
    });
}

/// Runs `drop(rt)` inside a task of `rt` (through `block_in_place` if `in_place`) and
/// returns the message of the panic it must raise.
fn panic_of_drop_in_own_task(n: usize, in_place: bool) -> String {
    let rt = rt(n);
    let handle = rt.handle().clone();
    let (tx, rx) = mpsc::channel();
    drop(handle.spawn(async move {
        let message = if in_place {
            task::block_in_place(|| expect_panic(move || drop(rt)))
        } else {
            expect_panic(move || drop(rt))
        };
        tx.send(message).unwrap();
    }));
    // The runtime is left running, detached: it could not shut down from inside itself.
    rx.recv_timeout(Duration::from_secs(5))
        .expect("the task reports how the drop ended")
}

#[test]
fn dropped_inside_its_own_task_panics_with_a_clear_message() {
    each_procs(LIMIT, |n| {
        for in_place in [false, true] {
            let message = panic_of_drop_in_own_task(n, in_place);
            assert!(
                message.contains("cannot be shut down or dropped inside a goro task"),
                "procs {n}, block_in_place {in_place}: {message}"
            );
        }
    });
}
