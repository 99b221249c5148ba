//! Scheduling behaviour: a million short tasks, fairness (two tasks ping-ponging forever do
//! not starve a third that yields), `yield_now` ordering, work spread over processors.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use goro::task;

const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn one_million_short_tasks() {
    each_procs(LIMIT, |n| {
        const N: usize = 1_000_000;
        let rt = rt(n);
        let done = counter();
        let t = Instant::now();
        // Spawned from inside a task (onto the local queue) with their handles dropped.
        let d = done.clone();
        rt.block_on(async move {
            let spawner = goro::spawn(async move {
                for _ in 0..N / 2 {
                    let d = d.clone();
                    drop(goro::spawn(async move {
                        d.fetch_add(1, Ordering::Relaxed);
                    }));
                }
            });
            spawner.await.unwrap();
        });
        // And from outside (the injector).
        for _ in 0..N / 2 {
            let d = done.clone();
            drop(rt.spawn(async move {
                d.fetch_add(1, Ordering::Relaxed);
            }));
        }
        wait_until(
            Duration::from_secs(15),
            "a million tasks to complete",
            || done.load(Ordering::Relaxed) == N,
        );
        eprintln!("processors = {n}: 1M tasks in {:?}", t.elapsed());
        drop(rt);
        assert_eq!(done.load(Ordering::Relaxed), N);
        assert_eq!(
            Arc::strong_count(&done),
            1,
            "a completed task's future was not freed"
        );
    });
}

#[test]
fn many_awaited_tasks() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        let sum = rt.block_on(async {
            let hs: Vec<_> = (0..100_000u64)
                .map(|i| goro::spawn(async move { i }))
                .collect();
            let mut s = 0;
            for h in hs {
                s += h.await.unwrap();
            }
            s
        });
        assert_eq!(sum, (0..100_000u64).sum::<u64>());
    });
}

/// Each poll parks its waker in `me` and wakes the waker in `other`: two of these wake each
/// other forever, always through the waking processor's `runnext` slot.
struct PingPong {
    me: WakerSlot,
    other: WakerSlot,
    stop: Arc<AtomicBool>,
    polls: Arc<AtomicUsize>,
}

impl Future for PingPong {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.stop.load(Ordering::SeqCst) {
            self.other.wake();
            return Poll::Ready(());
        }
        self.polls.fetch_add(1, Ordering::Relaxed);
        self.me.store(cx.waker());
        self.other.wake();
        Poll::Pending
    }
}

#[test]
fn ping_pong_forever_does_not_starve_a_yielding_task() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        let stop = Arc::new(AtomicBool::new(false));
        let polls = counter();
        let mut pairs = Vec::new();
        // One pair per processor, so every processor has a pair to run.
        for _ in 0..n {
            let (a, b) = (WakerSlot::default(), WakerSlot::default());
            pairs.push(rt.spawn(PingPong {
                me: a.clone(),
                other: b.clone(),
                stop: stop.clone(),
                polls: polls.clone(),
            }));
            pairs.push(rt.spawn(PingPong {
                me: b,
                other: a,
                stop: stop.clone(),
                polls: polls.clone(),
            }));
        }
        wait_until(Duration::from_secs(5), "the ping-pong to get going", || {
            polls.load(Ordering::Relaxed) > 10_000
        });
        let (tx, rx) = mpsc::channel();
        let t = Instant::now();
        drop(rt.spawn(async move {
            for _ in 0..1000 {
                task::yield_now().await;
            }
            tx.send(()).unwrap();
        }));
        let finished = rx.recv_timeout(Duration::from_secs(5));
        let took = t.elapsed();
        let ping_pong_polls = polls.load(Ordering::Relaxed);
        stop.store(true, Ordering::SeqCst);
        finished.unwrap_or_else(|_| {
            panic!("a task yielding 1000 times did not finish within 5 s next to ping-ponging tasks ({ping_pong_polls} ping-pong polls)")
        });
        eprintln!("processors = {n}: 1000 yields next to ping-pong in {took:?}");
        // The ping-pong ends once told to.
        rt.block_on(async move {
            for p in pairs {
                p.await.unwrap();
            }
        });
    });
}

#[test]
fn yield_now_goes_to_the_back_of_the_queue() {
    // At one processor the order is deterministic: two tasks that yield in a loop alternate
    // strictly (a yield must not go to runnext, or the yielder would run again at once).
    within(LIMIT, || {
        let rt = rt(1);
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = log.clone();
        let h = rt.spawn(async move {
            let tasks: Vec<_> = ['A', 'B']
                .into_iter()
                .map(|c| {
                    let l = l.clone();
                    goro::spawn(async move {
                        for _ in 0..100 {
                            l.lock().unwrap().push(c);
                            task::yield_now().await;
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
        });
        rt.block_on(h).unwrap();
        let log = log.lock().unwrap();
        assert_eq!(log.len(), 200);
        let repeats = log.windows(2).filter(|w| w[0] == w[1]).count();
        assert_eq!(
            repeats,
            0,
            "yielding tasks did not alternate: {}",
            log.iter().collect::<String>()
        );
    });
}

#[test]
fn yield_now_lets_a_queued_task_run_first() {
    within(LIMIT, || {
        let rt = rt(1);
        let h = rt.spawn(async {
            let flag = Arc::new(AtomicBool::new(false));
            let f = flag.clone();
            let child = goro::spawn(async move { f.store(true, Ordering::SeqCst) });
            assert!(!flag.load(Ordering::SeqCst));
            task::yield_now().await;
            let ran = flag.load(Ordering::SeqCst);
            child.await.unwrap();
            ran
        });
        assert!(
            rt.block_on(h).unwrap(),
            "a spawned task did not run while its spawner yielded (1 processor)"
        );
    });
    // At two processors the child may be stolen and run elsewhere; it still runs while the
    // spawner keeps yielding.
    within(LIMIT, || {
        let rt = rt(2);
        let h = rt.spawn(async {
            let flag = Arc::new(AtomicBool::new(false));
            let f = flag.clone();
            let child = goro::spawn(async move { f.store(true, Ordering::SeqCst) });
            let t = Instant::now();
            while !flag.load(Ordering::SeqCst) {
                assert!(
                    t.elapsed() < Duration::from_secs(5),
                    "child never ran while the spawner yielded"
                );
                task::yield_now().await;
            }
            child.await.unwrap();
        });
        rt.block_on(h).unwrap();
    });
}

#[test]
fn yield_now_interleaves_at_two_processors() {
    within(LIMIT, || {
        let rt = rt(2);
        let counts = [counter(), counter(), counter()];
        let hs: Vec<_> = (0..3)
            .map(|i| {
                let counts = counts.clone();
                rt.spawn(async move {
                    // Each task waits (yielding) until every task has made some progress.
                    let t = Instant::now();
                    loop {
                        counts[i].fetch_add(1, Ordering::SeqCst);
                        if counts.iter().all(|c| c.load(Ordering::SeqCst) > 100) {
                            break;
                        }
                        assert!(
                            t.elapsed() < Duration::from_secs(5),
                            "a yielding task starved the others"
                        );
                        task::yield_now().await;
                    }
                })
            })
            .collect();
        rt.block_on(async move {
            for h in hs {
                h.await.unwrap();
            }
        });
    });
}

#[test]
fn work_spreads_to_both_processors() {
    within(LIMIT, || {
        // Tasks spawned from one task must be stolen by the other processor: two tasks that
        // each spin until the other has started can only both finish if they run in parallel.
        let rt = rt(2);
        let h = rt.spawn(async {
            let started = Arc::new(AtomicUsize::new(0));
            let hs: Vec<_> = (0..2)
                .map(|_| {
                    let s = started.clone();
                    goro::spawn(async move {
                        s.fetch_add(1, Ordering::SeqCst);
                        let t = Instant::now();
                        // Spins without yielding: only another processor can run the other task.
                        while s.load(Ordering::SeqCst) < 2 {
                            if t.elapsed() > Duration::from_secs(5) {
                                return false;
                            }
                            std::hint::spin_loop();
                        }
                        true
                    })
                })
                .collect();
            let mut ok = true;
            for h in hs {
                ok &= h.await.unwrap();
            }
            ok
        });
        assert!(
            rt.block_on(h).unwrap(),
            "two spinning tasks never ran at the same time on 2 processors"
        );
    });
}

#[test]
fn threads_block_on_concurrently() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        let threads: Vec<_> = (0..4)
            .map(|i| {
                let h = rt.handle().clone();
                thread::spawn(move || {
                    h.block_on(async move { goro::spawn(async move { i * 10 }).await.unwrap() })
                })
            })
            .collect();
        let got: Vec<i32> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(got, vec![0, 10, 20, 30]);
    });
}

/// A yield lets every runnable task go first, including tasks that wait in the injector
/// (spawned from outside the runtime): at one processor, a task that logs a step and
/// yields, three times, interleaves with one spawned from outside while it runs, as on
/// tokio. (Before, the yielder went back to a local queue that held nothing else and ran
/// again at once: `aaabbb`.)
#[test]
fn yield_lets_tasks_from_outside_go_first() {
    within(LIMIT, || {
        for _ in 0..20 {
            let rt = rt(1);
            let log = Arc::new(Mutex::new(String::new()));
            let b_spawned = Arc::new(AtomicBool::new(false));
            let (log_a, spawned) = (log.clone(), b_spawned.clone());
            let a = rt.spawn(async move {
                for _ in 0..3 {
                    log_a.lock().unwrap().push('a');
                    // Yield only once `b` waits in the injector.
                    while !spawned.load(Ordering::SeqCst) {
                        std::hint::spin_loop();
                    }
                    task::yield_now().await;
                }
            });
            wait_until(LIMIT, "a's first step", || !log.lock().unwrap().is_empty());
            let log_b = log.clone();
            let b = rt.spawn(async move {
                for _ in 0..3 {
                    log_b.lock().unwrap().push('b');
                    task::yield_now().await;
                }
            });
            b_spawned.store(true, Ordering::SeqCst);
            rt.block_on(async move {
                a.await.unwrap();
                b.await.unwrap();
            });
            let log = log.lock().unwrap().clone();
            assert_eq!(log, "ababab", "the steps ran in this order");
        }
    });
}

/// The cooperative budget makes a task that keeps finding its futures ready give its
/// processor up now and then; `task::unconstrained` turns that off for what it wraps.
#[test]
fn unconstrained_keeps_the_budget_from_yielding() {
    within(Duration::from_secs(20), || {
        // No handoff: only the budget may let `other` run during the spin.
        let rt = goro::Runtime::builder()
            .processors(1)
            .handoff_after(Duration::from_secs(60))
            .build()
            .unwrap();
        rt.block_on(async {
            for constrained in [true, false] {
                let other_ran = Arc::new(AtomicBool::new(false));
                let flag = other_ran.clone();
                let spinner = goro::spawn(async move {
                    let other = goro::spawn(async move { flag.store(true, Ordering::SeqCst) });
                    // 300 ready goro futures: more than the budget of 128.
                    let spin = async {
                        for _ in 0..300 {
                            goro::time::sleep(Duration::ZERO).await;
                        }
                    };
                    if constrained {
                        spin.await;
                    } else {
                        task::unconstrained(spin).await;
                    }
                    let ran_meanwhile = other_ran.load(Ordering::SeqCst);
                    other.await.unwrap();
                    ran_meanwhile
                });
                let ran_meanwhile = spinner.await.unwrap();
                assert_eq!(ran_meanwhile, constrained, "constrained: {constrained}");
            }
        });
    });
}
