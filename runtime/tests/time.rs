//! Timers: `sleep`, `sleep_until`, `timeout`, `interval`, at 1 and 2 processors.

mod common;

use common::{each_procs, ensure, in_one_of, rt, threads_named, within};
use goro::time::{
    interval, interval_at, sleep, sleep_until, timeout, Duration, Instant, MissedTickBehavior,
    Sleep,
};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use std::sync::Arc;
use std::task::{Context, Wake, Waker};

const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn sleep_never_wakes_early_and_not_much_late() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            // 200 ms is past the coarse clock's horizon (`time/clock.rs`): the timer check
            // skips the real clock until the coarse clock comes within it.
            for ms in [1u64, 5, 20, 50, 200] {
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

/// How long a spawned `sleep(want)` takes while `spinners` tasks yield in a loop (so the
/// processors stay busy and never park).
async fn sleep_beside_spinners(spinners: usize, want: Duration) -> Duration {
    let stop = Arc::new(AtomicBool::new(false));
    let spinners: Vec<_> = (0..spinners)
        .map(|_| {
            let stop = stop.clone();
            goro::spawn(async move {
                while !stop.load(Relaxed) {
                    goro::task::yield_now().await;
                }
            })
        })
        .collect();
    let start = Instant::now();
    goro::spawn(async move { sleep(want).await }).await.unwrap();
    let took = start.elapsed();
    stop.store(true, Relaxed);
    for s in spinners {
        s.await.unwrap();
    }
    took
}

#[test]
fn sleep_under_load_is_not_much_late() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let want = Duration::from_millis(20);
            let took = sleep_beside_spinners(8, want).await;
            assert!(took >= want, "woke early: {took:?}");
            assert!(
                took < want + Duration::from_millis(100),
                "under load: {took:?}"
            );
        })
    });
}

/// A timer further ahead than the coarse clock's horizon (`time/clock.rs`) on processors
/// that never park: only the monitor moves the coarse clock, and the timer must still fire
/// on time (it would never fire if the check trusted a coarse clock nobody refreshed).
#[test]
fn a_far_timer_fires_on_time_while_every_processor_stays_busy() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let want = Duration::from_millis(300);
            let took = sleep_beside_spinners(2 * n, want).await;
            assert!(took >= want, "woke early: {took:?}");
            assert!(
                took < want + Duration::from_millis(100),
                "busy processors fired a far timer late: {took:?}"
            );
        })
    });
}

#[test]
fn ten_thousand_timers_all_fire_none_early() {
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

/// Counts the wakes of a waker (and, through `Arc::strong_count`, the clones alive).
#[derive(Default)]
struct WakeCount(AtomicUsize);

impl Wake for WakeCount {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Polls `sleep` once with a waker that counts its wakes, which arms its timer.
fn arm(sleep: &mut Pin<Box<Sleep>>, wakes: &Arc<WakeCount>) {
    let waker = Waker::from(wakes.clone());
    let polled = sleep.as_mut().poll(&mut Context::from_waker(&waker));
    assert!(polled.is_pending(), "a 30 ms sleep was ready at once");
}

#[test]
fn dropped_sleeps_never_fire() {
    // 1 000 armed sleeps are dropped before their deadline, half on the runtime and half on
    // a thread outside it; their timers must neither wake their wakers nor keep them. One
    // sleep armed the same way and kept shows that such a waker does get woken.
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let dropped = Arc::new(WakeCount::default());
            let kept = Arc::new(WakeCount::default());
            let mut sleeps: Vec<_> = (0..1000)
                .map(|_| Box::pin(sleep(Duration::from_millis(30))))
                .collect();
            for s in &mut sleeps {
                arm(s, &dropped);
            }
            let mut control = Box::pin(sleep(Duration::from_millis(30)));
            arm(&mut control, &kept);
            let foreign = sleeps.split_off(500);
            std::thread::spawn(move || drop(foreign)).join().unwrap();
            drop(sleeps);
            sleep(Duration::from_millis(90)).await;
            assert_eq!(
                kept.0.load(SeqCst),
                1,
                "the kept sleep's waker was not woken"
            );
            assert_eq!(dropped.0.load(SeqCst), 0, "a dropped sleep fired");
            assert_eq!(
                Arc::strong_count(&dropped),
                1,
                "the timers of dropped sleeps still hold their wakers"
            );
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

/// `MissedTickBehavior::Delay`: after a late tick the schedule restarts from it.
#[test]
fn interval_delay_restarts_the_schedule_after_a_late_tick() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let period = Duration::from_millis(20);
            let mut every = interval(period);
            assert_eq!(every.missed_tick_behavior(), MissedTickBehavior::Burst);
            every.set_missed_tick_behavior(MissedTickBehavior::Delay);
            let first = every.tick().await;
            std::thread::sleep(period * 3 + Duration::from_millis(10));
            let before = Instant::now();
            every.tick().await; // late: taken after `before`
            let third = every.tick().await;
            // A burst would have scheduled it 40 ms after the first, long before `before`.
            assert!(third >= before + period, "{:?}", third - first);
        })
    });
}

/// `MissedTickBehavior::Skip`: the missed ticks are dropped, the schedule stays on its grid.
#[test]
fn interval_skip_drops_missed_ticks_and_keeps_the_grid() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let period = Duration::from_millis(20);
            let mut every = interval(period);
            every.set_missed_tick_behavior(MissedTickBehavior::Skip);
            let first = every.tick().await;
            std::thread::sleep(period * 3 + Duration::from_millis(10));
            every.tick().await; // late: the one due 20 ms after the first
            let next = every.tick().await;
            let since = next - first;
            assert!(
                since >= period * 4,
                "missed ticks were delivered ({since:?})"
            );
            assert_eq!(
                since.as_nanos() % period.as_nanos(),
                0,
                "off the grid: {since:?}"
            );
        })
    });
}

#[test]
fn interval_at_starts_at_its_start() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let start = Instant::now() + Duration::from_millis(30);
            let mut every = interval_at(start, Duration::from_millis(10));
            assert_eq!(every.tick().await, start);
            assert!(Instant::now() >= start);
            assert_eq!(every.tick().await, start + Duration::from_millis(10));
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
fn a_timer_armed_after_a_handoff_wakes_the_new_owner() {
    // The task's poll blocks for 60 ms, so the monitor hands its processor to another
    // machine, which parks with nothing to do. The same poll then arms a 20 ms sleep, from
    // the thread that lost the processor: the new owner must wake for it.
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        let took = rt.block_on(rt.spawn(async {
            std::thread::sleep(Duration::from_millis(60));
            let start = Instant::now();
            sleep(Duration::from_millis(20)).await;
            start.elapsed()
        }));
        let took = took.unwrap();
        assert!(took >= Duration::from_millis(20));
        assert!(took < Duration::from_millis(500), "the sleep took {took:?}");
    });
}

#[test]
fn block_in_place_hands_the_processor_off() {
    within(LIMIT, || {
        let rt = rt(1);
        rt.block_on(async {
            let start = Instant::now();
            let blocker = goro::spawn(async {
                // The processor is handed off before `f` runs, not by the monitor 10 ms on.
                let handoffs = goro::task::block_in_place(|| {
                    let handoffs = goro::Handle::current().stats().totals.handoffs;
                    std::thread::sleep(Duration::from_millis(300));
                    handoffs
                });
                goro::task::yield_now().await;
                handoffs
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
            assert_eq!(
                blocker.await.unwrap(),
                1,
                "handoffs when the closure started"
            );
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
    struct Guard(Arc<AtomicUsize>);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }
    each_procs(LIMIT, |n| {
        let dropped = Arc::new(AtomicUsize::new(0));
        let rt = rt(n);
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
    });
}

#[test]
#[should_panic(expected = "goro timers need a runtime")]
fn sleep_outside_a_runtime_panics() {
    drop(sleep(Duration::from_millis(1)));
}

#[test]
fn sleeps_have_millisecond_resolution() {
    // On an idle runtime a 1 ms sleep takes under 3 ms (median of 21; a timer wheel with
    // coarse ticks, or a park that rounds its timeout to 10 ms, fails this).
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        in_one_of(3, || {
            let mut took: Vec<Duration> = (0..21)
                .map(|_| {
                    rt.block_on(async {
                        let start = Instant::now();
                        goro::spawn(sleep(Duration::from_millis(1))).await.unwrap();
                        start.elapsed()
                    })
                })
                .collect();
            took.sort();
            let median = took[took.len() / 2];
            ensure(median < Duration::from_millis(3), || {
                format!("1 ms sleeps took {median:?} (median): {took:?}")
            })
        });
    });
}

/// CPU time (clock ticks) used so far by this process's threads whose name starts with
/// `prefix`.
fn cpu_ticks_of_threads(prefix: &str) -> u64 {
    threads_named(prefix)
        .iter()
        .map(|(path, _)| {
            let stat = std::fs::read_to_string(path.join("stat")).unwrap_or_default();
            // Fields after the parenthesised name: state is field 3, utime 14, stime 15.
            let fields: Vec<&str> = stat
                .rsplit_once(") ")
                .map_or("", |(_, rest)| rest)
                .split(' ')
                .collect();
            fields.get(11..13).map_or(0, |times| {
                times.iter().map(|t| t.parse::<u64>().unwrap()).sum()
            })
        })
        .sum()
}

#[test]
fn a_hundred_thousand_pending_timers_cost_memory_not_cpu() {
    // With 100 000 sleeps of an hour armed, an otherwise idle runtime's threads (machines
    // and monitor) use under 5% of a core over one second.
    const TIMERS: usize = 100_000;
    each_procs(LIMIT, |n| {
        let name = format!("t100k-{n}");
        let rt = goro::Runtime::builder()
            .processors(n)
            .thread_name(name.clone())
            .build()
            .unwrap();
        let (armed_tx, armed_rx) = std::sync::mpsc::channel();
        let holder = rt.spawn(async move {
            let mut sleeps: Vec<_> = (0..TIMERS)
                .map(|_| Box::pin(sleep(Duration::from_secs(3600))))
                .collect();
            std::future::poll_fn(|cx| {
                for s in &mut sleeps {
                    assert!(s.as_mut().poll(cx).is_pending());
                }
                std::task::Poll::Ready(())
            })
            .await;
            armed_tx.send(()).unwrap();
            sleep(Duration::from_millis(1300)).await;
            sleeps.len()
        });
        armed_rx.recv_timeout(LIMIT).expect("the timers were armed");
        std::thread::sleep(Duration::from_millis(100));
        let before = cpu_ticks_of_threads(&name);
        std::thread::sleep(Duration::from_secs(1));
        let used = cpu_ticks_of_threads(&name) - before;
        let ticks_per_second = 100; // CLK_TCK on Linux
        assert!(
            used * 20 < ticks_per_second,
            "{TIMERS} pending timers: {used} ticks of CPU in 1 s"
        );
        assert_eq!(rt.block_on(holder).unwrap(), TIMERS);
    });
}
