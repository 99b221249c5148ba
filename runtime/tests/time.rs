//! Timers: `sleep`, `sleep_until`, `timeout`, `interval`, at 1 and 2 processors.

mod common;

use common::{each_procs, rt, within};
use goro::time::{interval, sleep, sleep_until, timeout, Duration, Instant};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use std::sync::Arc;

const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn sleep_never_wakes_early_and_not_much_late() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            for ms in [1u64, 5, 20, 50] {
                let want = Duration::from_millis(ms);
                let start = Instant::now();
                goro::spawn(async move { sleep(want).await }).await.unwrap();
                let took = start.elapsed();
                assert!(took >= want, "sleep({want:?}) woke after {took:?}");
                assert!(
                    took < want + Duration::from_millis(100),
                    "sleep({want:?}) took {took:?}"
                );
            }
        })
    });
}

#[test]
fn sleep_under_load_is_not_much_late() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let stop = Arc::new(AtomicBool::new(false));
            let spinners: Vec<_> = (0..8)
                .map(|_| {
                    let stop = stop.clone();
                    goro::spawn(async move {
                        while !stop.load(Relaxed) {
                            goro::task::yield_now().await;
                        }
                    })
                })
                .collect();
            let want = Duration::from_millis(20);
            let start = Instant::now();
            goro::spawn(async move { sleep(want).await }).await.unwrap();
            let took = start.elapsed();
            stop.store(true, Relaxed);
            for s in spinners {
                s.await.unwrap();
            }
            assert!(took >= want, "woke early: {took:?}");
            assert!(
                took < want + Duration::from_millis(100),
                "under load: {took:?}"
            );
        })
    });
}

#[test]
fn ten_thousand_timers_all_fire_in_order_of_deadline() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let fired = Arc::new(AtomicUsize::new(0));
            let handles: Vec<_> = (0..10_000u64)
                .map(|i| {
                    let fired = fired.clone();
                    goro::spawn(async move {
                        let want = Duration::from_millis(1 + i % 50);
                        let start = Instant::now();
                        sleep(want).await;
                        assert!(start.elapsed() >= want);
                        fired.fetch_add(1, Relaxed);
                    })
                })
                .collect();
            for h in handles {
                h.await.unwrap();
            }
            assert_eq!(fired.load(Relaxed), 10_000);
        })
    });
}

#[test]
fn dropped_sleeps_never_fire() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let fired = Arc::new(AtomicUsize::new(0));
            let mut handles = Vec::new();
            for _ in 0..1000 {
                let fired = fired.clone();
                handles.push(goro::spawn(async move {
                    // Arm the timer (first poll), then drop it long before its deadline.
                    let r = timeout(Duration::from_millis(1), async {
                        sleep(Duration::from_millis(30)).await;
                        fired.fetch_add(1, Relaxed);
                    })
                    .await;
                    assert!(r.is_err());
                }));
            }
            for h in handles {
                h.await.unwrap();
            }
            sleep(Duration::from_millis(60)).await;
            assert_eq!(fired.load(Relaxed), 0, "a dropped sleep fired");
        })
    });
}

#[test]
fn timeout_both_ways() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let fast = timeout(Duration::from_millis(500), async { 7 }).await;
            assert_eq!(fast, Ok(7));
            let start = Instant::now();
            let slow = timeout(Duration::from_millis(10), sleep(Duration::from_secs(10))).await;
            assert!(slow.is_err());
            assert!(start.elapsed() >= Duration::from_millis(10));
            assert!(start.elapsed() < Duration::from_secs(2));
            let err = slow.unwrap_err();
            assert_eq!(err.to_string(), "deadline has elapsed");
            let io: std::io::Error = err.into();
            assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
        })
    });
}

#[test]
fn sleep_until_a_past_instant_is_ready_at_once() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let past = Instant::now() - Duration::from_millis(5);
            let start = Instant::now();
            sleep_until(past).await;
            assert!(start.elapsed() < Duration::from_millis(50));
        })
    });
}

#[test]
fn interval_first_tick_at_once_then_every_period_with_bursts() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let period = Duration::from_millis(10);
            let start = Instant::now();
            let mut every = interval(period);
            let first = every.tick().await;
            assert!(
                start.elapsed() < Duration::from_millis(5),
                "first tick waits"
            );
            let second = every.tick().await;
            assert_eq!(second - first, period, "ticks are scheduled, not measured");
            assert!(Instant::now() >= second);
            // Miss three periods: the late ticks come back to back (burst).
            std::thread::sleep(period * 3 + Duration::from_millis(2));
            let burst_start = Instant::now();
            for _ in 0..3 {
                every.tick().await;
            }
            assert!(burst_start.elapsed() < period, "missed ticks burst");
        })
    });
}

#[test]
fn sleep_armed_outside_a_processor_wakes() {
    // `block_on` is not a machine: its timers go to some processor, which must wake for them.
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        let start = Instant::now();
        rt.block_on(async { sleep(Duration::from_millis(15)).await });
        assert!(start.elapsed() >= Duration::from_millis(15));
        assert!(start.elapsed() < Duration::from_millis(500));
    });
}

#[test]
fn a_stuck_processor_does_not_delay_its_timers() {
    // The only processor is blocked by a task for 600 ms; the monitor hands it to another
    // machine, so a 20 ms timer on it still fires well before the blocking task ends.
    within(LIMIT, || {
        let rt = rt(1);
        rt.block_on(async {
            let start = Instant::now();
            let blocker = goro::spawn(async {
                std::thread::sleep(Duration::from_millis(600));
            });
            goro::task::yield_now().await;
            let timer = goro::spawn(async move {
                sleep(Duration::from_millis(20)).await;
                start.elapsed()
            });
            let took = timer.await.unwrap();
            assert!(took >= Duration::from_millis(20));
            assert!(
                took < Duration::from_millis(400),
                "timer delayed to {took:?}"
            );
            blocker.await.unwrap();
        })
    });
}

#[test]
fn block_in_place_hands_the_processor_off() {
    within(LIMIT, || {
        let rt = rt(1);
        rt.block_on(async {
            let start = Instant::now();
            let blocker = goro::spawn(async {
                goro::task::block_in_place(|| std::thread::sleep(Duration::from_millis(300)));
                goro::task::yield_now().await;
                7
            });
            let timer = goro::spawn(async move {
                sleep(Duration::from_millis(10)).await;
                start.elapsed()
            });
            let took = timer.await.unwrap();
            assert!(
                took < Duration::from_millis(200),
                "timer delayed to {took:?}"
            );
            assert_eq!(blocker.await.unwrap(), 7);
        })
    });
}

#[test]
fn block_in_place_allows_block_on() {
    within(LIMIT, || {
        let rt = rt(1);
        let v = rt.block_on(async {
            goro::spawn(async {
                goro::task::block_in_place(|| {
                    goro::Handle::current().block_on(async {
                        sleep(Duration::from_millis(1)).await;
                        5
                    })
                })
            })
            .await
            .unwrap()
        });
        assert_eq!(v, 5);
    });
}

#[test]
fn pending_timers_are_released_at_shutdown() {
    let dropped = Arc::new(AtomicUsize::new(0));
    struct Guard(Arc<AtomicUsize>);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }
    let rt = rt(2);
    for _ in 0..100 {
        let guard = Guard(dropped.clone());
        rt.spawn(async move {
            let _guard = guard;
            sleep(Duration::from_secs(3600)).await;
        });
    }
    std::thread::sleep(Duration::from_millis(20));
    let start = Instant::now();
    drop(rt);
    assert_eq!(dropped.load(SeqCst), 100);
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[test]
#[should_panic(expected = "goro timers need a runtime")]
fn sleep_outside_a_runtime_panics() {
    drop(sleep(Duration::from_millis(1)));
}
