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

/// A processor parked in its poller that wakes with several events in one wait runs their
/// tasks without "unparking" itself: it leaves the parked state before the events are
/// dispatched, so the wakes see a running processor (no eventfd write to its own poller,
/// no wasted wait next time; before the fix every such batch counted one unpark).
#[cfg(unix)]
#[test]
fn a_batch_of_io_events_does_not_unpark_the_processor_that_polled_it() {
    use std::io::Write;
    use std::os::unix::net::UnixStream as StdUnixStream;

    const READERS: usize = 8;
    let rt = rt(1);
    let (ours, mut peer) = StdUnixStream::pair().unwrap();
    // READERS registrations of one socket (dup'd descriptors): one write to the peer makes
    // them all readable at once, so the parked processor's wait returns them in one batch.
    let readers: Vec<_> = (0..READERS).map(|_| ours.try_clone().unwrap()).collect();
    drop(ours);
    let (ready_tx, ready_rx) = mpsc::channel();
    let handles: Vec<_> = readers
        .into_iter()
        .map(|std_stream| {
            let ready_tx = ready_tx.clone();
            rt.spawn(async move {
                let mut stream = goro::net::UnixStream::from_std(std_stream).unwrap();
                ready_tx.send(()).unwrap();
                let mut byte = [0u8; 1];
                stream.read(&mut byte).await.unwrap()
            })
        })
        .collect();
    for _ in 0..READERS {
        ready_rx
            .recv_timeout(LIMIT)
            .expect("a reader did not start");
    }
    // Let every reader reach its wait and the processor park in its poller.
    thread::sleep(Duration::from_millis(100));
    let before = rt.handle().stats();
    assert_eq!(
        before.idle_processors, 1,
        "the processor should be parked: {before:?}"
    );
    peer.write_all(&[7; READERS]).unwrap();
    for handle in handles {
        assert_eq!(rt.block_on(handle).unwrap(), 1);
    }
    let after = rt.handle().stats();
    assert_eq!(
        after.totals.unparks, before.totals.unparks,
        "dispatching its own events unparked the processor"
    );
    assert!(
        after.totals.netpoll_events >= before.totals.netpoll_events + READERS as u64,
        "the readers were not woken by their events: {after:?}"
    );
}

/// With several processors one parked processor at a time waits for everybody's I/O (in
/// the poller watch) and the others sleep away from it: a run of I/O events, half on each
/// processor's poller, wakes that one thread and leaves the other asleep. (Each processor
/// blocking in its own poller would wake both, one per event on its own poller.)
#[test]
fn at_two_processors_io_on_both_pollers_wakes_one_processor() {
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream as StdUnixStream;

    const ROUND_TRIPS: usize = 200;
    let rt = rt(2);
    let (ours, mut peers): (Vec<_>, Vec<_>) =
        (0..2).map(|_| StdUnixStream::pair().unwrap()).unzip();
    // Created outside any processor, the two streams register with the two pollers in turn.
    let streams: Vec<_> = rt.block_on(async move {
        ours.into_iter()
            .map(|s| goro::net::UnixStream::from_std(s).unwrap())
            .collect()
    });
    let echoes: Vec<_> = streams
        .into_iter()
        .map(|mut stream| {
            rt.spawn(async move {
                let mut byte = [0u8; 1];
                while stream.read(&mut byte).await.unwrap() == 1 {
                    stream.write_all(&byte).await.unwrap();
                }
            })
        })
        .collect();
    let round_trip = |peer: &mut StdUnixStream| {
        let mut byte = [0u8; 1];
        peer.write_all(&[7]).unwrap();
        peer.read_exact(&mut byte).unwrap();
        assert_eq!(byte, [7]);
    };
    for peer in &mut peers {
        round_trip(peer);
    }
    // Let both processors park.
    thread::sleep(Duration::from_millis(100));
    let parks = |rt: &goro::Runtime| -> Vec<u64> {
        let stats = rt.handle().stats();
        stats.procs.iter().map(|p| p.counters.parks).collect()
    };
    let before = parks(&rt);
    for i in 0..ROUND_TRIPS {
        round_trip(&mut peers[i % 2]);
    }
    let after = parks(&rt);
    drop(peers);
    for echo in echoes {
        rt.block_on(echo).unwrap();
    }
    let woke: Vec<u64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
    let (least, most) = (*woke.iter().min().unwrap(), *woke.iter().max().unwrap());
    assert!(
        most >= ROUND_TRIPS as u64 / 2,
        "the round trips did not wake a parked processor: parks per processor {woke:?}"
    );
    assert!(
        least < ROUND_TRIPS as u64 / 10,
        "both processors woke for the I/O: parks per processor {woke:?}"
    );
}
