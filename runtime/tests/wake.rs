//! Wakes from foreign std threads, into an idle and into a busy runtime; wake storms
//! (no lost wakeups); wakers used after their task finished.

// Cloning a waker and waking the clone is one of the paths under test.
#![allow(clippy::waker_clone_wake)]

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};
use std::{future::Future, pin::Pin};

use common::*;
use goro::task;

const LIMIT: Duration = Duration::from_secs(10);

/// Wakes `w` in one of the ways a waker can be used, chosen by `how`.
fn wake_somehow(w: Waker, how: usize) {
    match how % 4 {
        0 => w.wake(),
        1 => w.wake_by_ref(),
        2 => {
            let c = w.clone();
            drop(w);
            c.wake();
        }
        _ => {
            let c = w.clone();
            c.wake_by_ref();
            drop(c);
            w.wake_by_ref();
        }
    }
}

#[test]
fn wake_from_a_foreign_thread_into_an_idle_runtime() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        for round in 0..10 {
            let (wtx, wrx) = mpsc::channel();
            let (dtx, drx) = mpsc::channel();
            for _ in 0..4 {
                let fut = SendWaker::new(wtx.clone());
                let dtx = dtx.clone();
                drop(rt.spawn(async move { dtx.send(fut.await).unwrap() }));
            }
            let wakers: Vec<_> = (0..4)
                .map(|_| {
                    wrx.recv_timeout(Duration::from_secs(5))
                        .expect("task polled")
                })
                .collect();
            // Let every processor go idle and park before waking from a foreign thread.
            let th = thread::spawn(move || {
                thread::sleep(Duration::from_millis(30));
                for (i, (w, fired)) in wakers.into_iter().enumerate() {
                    fired.store(true, Ordering::SeqCst);
                    wake_somehow(w, i + round);
                }
            });
            for _ in 0..4 {
                let polls = drx.recv_timeout(Duration::from_secs(5)).unwrap_or_else(|_| {
                    panic!("round {round}: a task woken from a foreign thread into an idle runtime never ran")
                });
                assert!(polls >= 2);
            }
            th.join().unwrap();
        }
    });
}

#[test]
fn wake_from_a_foreign_thread_into_a_busy_runtime() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        let stop = Arc::new(AtomicBool::new(false));
        let spins = Arc::new(AtomicUsize::new(0));
        // Keep every processor busy with tasks that yield forever.
        let busy: Vec<_> = (0..2 * n)
            .map(|_| {
                let stop = stop.clone();
                let spins = spins.clone();
                rt.spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        spins.fetch_add(1, Ordering::Relaxed);
                        task::yield_now().await;
                    }
                })
            })
            .collect();
        wait_until(Duration::from_secs(5), "the busy tasks to run", || {
            spins.load(Ordering::Relaxed) > 1000
        });
        for round in 0..10 {
            let (wtx, wrx) = mpsc::channel();
            let (dtx, drx) = mpsc::channel();
            let fut = SendWaker::new(wtx);
            drop(rt.spawn(async move { dtx.send(fut.await).unwrap() }));
            let (w, fired) = wrx
                .recv_timeout(Duration::from_secs(5))
                .expect("the waiting task was never polled");
            let th = thread::spawn(move || {
                thread::sleep(Duration::from_millis(5));
                fired.store(true, Ordering::SeqCst);
                wake_somehow(w, round);
            });
            let t = Instant::now();
            drx.recv_timeout(Duration::from_secs(5))
                .unwrap_or_else(|_| {
                    panic!("round {round}: a foreign wake into a busy runtime was not served")
                });
            assert!(t.elapsed() < Duration::from_secs(2));
            th.join().unwrap();
        }
        stop.store(true, Ordering::SeqCst);
        rt.block_on(async move {
            for b in busy {
                b.await.unwrap();
            }
        });
    });
}

/// Ready once `count` reaches `target`; parks its waker in a shared slot on every poll.
struct CountTo {
    count: Arc<AtomicUsize>,
    target: usize,
    slot: Arc<Mutex<Option<Waker>>>,
}

impl Future for CountTo {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        *self.slot.lock().unwrap() = Some(cx.waker().clone());
        if self.count.load(Ordering::SeqCst) >= self.target {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

#[test]
fn wake_storm_from_many_threads_loses_no_wakeup() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        const TASKS: usize = 16;
        const THREADS: usize = 4;
        const PER_THREAD: usize = 2_000;
        let mut joins = Vec::new();
        let mut shared = Vec::new();
        for _ in 0..TASKS {
            let count = Arc::new(AtomicUsize::new(0));
            let slot = Arc::new(Mutex::new(None));
            joins.push(rt.spawn(CountTo {
                count: count.clone(),
                target: THREADS * PER_THREAD,
                slot: slot.clone(),
            }));
            shared.push((count, slot));
        }
        let shared = Arc::new(shared);
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let shared = shared.clone();
                thread::spawn(move || {
                    for i in 0..PER_THREAD {
                        for (count, slot) in shared.iter() {
                            count.fetch_add(1, Ordering::SeqCst);
                            let w = slot.lock().unwrap().clone();
                            if let Some(w) = w {
                                wake_somehow(w, t + i);
                            }
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let (tx, rx) = mpsc::channel();
        let h = rt.handle().clone();
        thread::spawn(move || {
            h.block_on(async move {
                for j in joins {
                    j.await.unwrap();
                }
            });
            tx.send(()).unwrap();
        });
        rx.recv_timeout(Duration::from_secs(5))
            .expect("a wakeup was lost: some task never saw its final count");
    });
}

#[test]
fn wakers_outlive_their_finished_task() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        let (wtx, wrx) = mpsc::channel();
        let fut = SendWaker::new(wtx);
        let h = rt.spawn(fut);
        let (w, fired) = wrx.recv_timeout(Duration::from_secs(5)).unwrap();
        let spare = w.clone();
        fired.store(true, Ordering::SeqCst);
        w.wake();
        assert!(rt.block_on(h).unwrap() >= 2);
        // The task is complete and its JoinHandle consumed; its waker still works harmlessly.
        for _ in 0..10 {
            spare.wake_by_ref();
        }
        let c = spare.clone();
        drop(spare);
        thread::spawn(move || c.wake()).join().unwrap();
        assert_eq!(
            rt.block_on(async { goro::spawn(async { 1 }).await.unwrap() }),
            1
        );
    });
}

#[test]
fn task_woken_while_running_runs_again() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        // A future that wakes itself during its poll 100 times (the "spurious re-wake" case).
        struct SelfWake(u32);
        impl Future for SelfWake {
            type Output = u32;
            fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
                self.0 += 1;
                if self.0 == 100 {
                    return Poll::Ready(self.0);
                }
                match self.0 % 3 {
                    0 => cx.waker().wake_by_ref(),
                    1 => cx.waker().clone().wake(),
                    _ => {
                        let w = cx.waker().clone();
                        thread::spawn(move || w.wake());
                    }
                }
                Poll::Pending
            }
        }
        let hs: Vec<_> = (0..20).map(|_| rt.spawn(SelfWake(0))).collect();
        rt.block_on(async move {
            for h in hs {
                assert_eq!(h.await.unwrap(), 100);
            }
        });
    });
}

#[test]
fn remote_spawns_and_wakes_while_processors_go_to_sleep() {
    // Each round trip leaves the runtime with nothing to do, so processors are parking (or
    // about to) when the next spawn or wake arrives from outside: a lost wakeup hangs a round.
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        let (tx, rx) = mpsc::channel();
        for i in 0..2_000u32 {
            let tx = tx.clone();
            drop(rt.spawn(async move { tx.send(i).unwrap() }));
            let got = rx
                .recv_timeout(Duration::from_secs(2))
                .unwrap_or_else(|_| panic!("remote spawn {i} never ran: lost wakeup"));
            assert_eq!(got, i);
        }

        // A task and a std thread bounce a wakeup back and forth.
        let slot = WakerSlot::default();
        let turn = Arc::new(AtomicUsize::new(0));
        let (done_tx, done_rx) = mpsc::channel();
        const ROUNDS: usize = 2_000;
        {
            let (slot, turn) = (slot.clone(), turn.clone());
            drop(rt.spawn(async move {
                for r in 0..ROUNDS {
                    // Wait for the thread to move `turn` to 2r+1, then answer with 2r+2.
                    std::future::poll_fn(|cx| {
                        slot.store(cx.waker());
                        if turn.load(Ordering::SeqCst) == 2 * r + 1 {
                            Poll::Ready(())
                        } else {
                            Poll::Pending
                        }
                    })
                    .await;
                    turn.store(2 * r + 2, Ordering::SeqCst);
                }
                done_tx.send(()).unwrap();
            }));
        }
        for r in 0..ROUNDS {
            turn.store(2 * r + 1, Ordering::SeqCst);
            slot.wake();
            let t = Instant::now();
            while turn.load(Ordering::SeqCst) != 2 * r + 2 {
                assert!(
                    t.elapsed() < Duration::from_secs(2),
                    "round {r}: foreign wake lost"
                );
                thread::yield_now();
            }
        }
        done_rx.recv_timeout(Duration::from_secs(2)).unwrap();
    });
}
