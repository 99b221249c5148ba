//! The monitor: its tick hook, handoffs, and backing off when idle. (Its spare machines
//! are tested in `runtime/tests/sched.rs`.)

use goro_sched::{Config, MonitorHook, Scheduler, ThreadStartHook};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[test]
fn monitor_calls_the_hook_and_counts_handoffs() {
    let ticks = Arc::new(AtomicU64::new(0));
    let counted = ticks.clone();
    let mut config = Config::with_processors(1);
    config.monitor_hook = Some(MonitorHook(Arc::new(move |_| {
        counted.fetch_add(1, Relaxed);
    })));
    let rt = Scheduler::new(config).unwrap();
    let handle = rt.handle().clone();
    // A poll that blocks its thread for 100 ms: the monitor must hand the processor off.
    let blocker = handle.spawn(
        async { std::thread::sleep(Duration::from_millis(100)) },
        None,
    );
    handle.block_on(blocker).unwrap();
    assert!(ticks.load(Relaxed) > 0, "the hook never ran");
    let handoffs: u64 = handle.counters().iter().map(|c| c.handoffs).sum();
    assert_eq!(handoffs, 1, "one stuck poll, one handoff");
}

/// A runtime of one processor whose monitor records the time of each of its rounds.
fn recorded_runtime(thread_name: &str) -> (Scheduler, Arc<Mutex<Vec<Instant>>>) {
    let rounds = Arc::new(Mutex::new(Vec::new()));
    let record = rounds.clone();
    let mut config = Config::with_processors(1);
    config.thread_name = thread_name.to_string();
    config.monitor_hook = Some(MonitorHook(Arc::new(move |now| {
        record.lock().unwrap().push(now);
    })));
    (Scheduler::new(config).unwrap(), rounds)
}

/// The gaps between the monitor rounds recorded in `[from, to)`.
fn gaps(rounds: &Mutex<Vec<Instant>>, from: Instant, to: Instant) -> Vec<Duration> {
    let rounds: Vec<Instant> = rounds
        .lock()
        .unwrap()
        .iter()
        .copied()
        .filter(|t| (from..to).contains(t))
        .collect();
    rounds.windows(2).map(|w| w[1] - w[0]).collect()
}

fn median(mut gaps: Vec<Duration>) -> Duration {
    assert!(!gaps.is_empty(), "no monitor rounds recorded");
    gaps.sort();
    gaps[gaps.len() / 2]
}

#[test]
fn monitor_backs_off_when_idle_and_speeds_up_when_it_acts() {
    let (rt, rounds) = recorded_runtime("goro-backoff");
    let handle = rt.handle().clone();
    let start = Instant::now();
    // Idle: after 50 quick rounds the gaps double up to 10 ms.
    std::thread::sleep(Duration::from_millis(800));
    let idle = Instant::now();
    let first = gaps(&rounds, start, idle).into_iter().take(20).collect();
    assert!(
        median(first) < Duration::from_millis(2),
        "the first rounds were not quick"
    );
    let backed_off = median(gaps(&rounds, idle - Duration::from_millis(300), idle));
    assert!(
        backed_off >= Duration::from_millis(5) && backed_off < Duration::from_millis(40),
        "idle rounds every {backed_off:?}, not about 10 ms"
    );
    // A stuck poll: once the monitor hands the processor off it watches closely again.
    let blocker = handle.spawn(
        async { std::thread::sleep(Duration::from_millis(150)) },
        None,
    );
    handle.block_on(blocker).unwrap();
    let after_handoff = gaps(&rounds, idle, Instant::now());
    let quick = after_handoff
        .iter()
        .filter(|&&gap| gap < Duration::from_millis(2))
        .count();
    assert!(
        quick >= 20,
        "after a handoff only {quick} quick rounds: {after_handoff:?}"
    );
}

/// A long poll that computes is checked once and then watched at the watchful pace
/// (250 µs), not every 25 µs while it lasts. (Before, the 60 ms poll below took 756 rounds.)
#[test]
fn a_long_running_poll_is_checked_not_hammered() {
    // Long enough that the 60 ms poll is not handed off.
    let (rt, rounds) = runtime_with(1, "goro-hog", Duration::from_secs(5), None);
    let handle = rt.handle().clone();
    let spin = handle.spawn(
        async {
            let began = Instant::now();
            while began.elapsed() < Duration::from_millis(60) {
                std::hint::spin_loop();
            }
            began
        },
        None,
    );
    let began = handle.block_on(spin).unwrap();
    let during = gaps(&rounds, began, began + Duration::from_millis(60));
    assert!(
        during.len() < 400,
        "{} monitor rounds during one 60 ms poll (watchful is about 240)",
        during.len()
    );
    let handoffs: u64 = handle.counters().iter().map(|c| c.handoffs).sum();
    assert_eq!(
        handoffs, 0,
        "the poll was not stuck long enough to hand off"
    );
}

/// Short polls whose thread the kernel preempts look long to the monitor (the same poll on
/// two rounds), but the thread neither sleeps nor computes through them: no stall, so the
/// monitor keeps its calm pace (about 1 ms, plus one check per preempted poll). Counting
/// them as stalls held it at 250 µs or faster (550 rounds here, against 190-250 now). The
/// machine shares CPU 0 with a thread that spins.
#[test]
fn preempted_short_polls_keep_the_monitor_calm() {
    let Some((rounds, handoffs)) = preempted_short_polls(1, Duration::from_secs(5)) else {
        return;
    };
    assert!(
        rounds < 400,
        "{rounds} monitor rounds in 200 ms of preempted short polls (calm is 200-400; \
         counting them as stalls made it about 550)"
    );
    assert_eq!(handoffs, 0);
}

/// Nor does a poll of microseconds lose its processor because its thread waited more than
/// `handoff_after` for a CPU (here behind three spinning threads): a new machine would
/// wait for a CPU as well.
#[test]
fn a_machine_waiting_for_a_cpu_keeps_its_processor() {
    let Some((_, handoffs)) = preempted_short_polls(3, Duration::from_millis(2)) else {
        return;
    };
    assert_eq!(handoffs, 0, "handoffs of polls that only waited for a CPU");
}

/// 200 ms of polls of about 20 µs of CPU each, on a machine pinned to CPU 0 beside
/// `spinners` threads that spin there; returns the monitor's rounds meanwhile and the
/// handoffs. `None` (skipped) with fewer than 2 CPUs.
fn preempted_short_polls(spinners: usize, handoff_after: Duration) -> Option<(usize, u64)> {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cpus < 2 {
        eprintln!("skipped: needs 2 CPUs (one to share, one for the test's other threads)");
        return None;
    }
    let pin = ThreadStartHook(Arc::new(|| pin_to_cpu(0)));
    let (rt, rounds) = runtime_with(1, "goro-preempt", handoff_after, Some(pin));
    let handle = rt.handle().clone();
    let stop = Arc::new(AtomicBool::new(false));
    let competitors: Vec<_> = (0..spinners)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                pin_to_cpu(0);
                while !stop.load(Relaxed) {
                    std::hint::spin_loop();
                }
            })
        })
        .collect();
    let work = handle.spawn(
        async {
            let began = Instant::now();
            while began.elapsed() < Duration::from_millis(200) {
                // A poll of about 20 µs of CPU, then a yield.
                let poll = Instant::now();
                while poll.elapsed() < Duration::from_micros(20) {
                    std::hint::spin_loop();
                }
                yield_once().await;
            }
            began
        },
        None,
    );
    let began = handle.block_on(work).unwrap();
    stop.store(true, Relaxed);
    for competitor in competitors {
        competitor.join().unwrap();
    }
    let during = gaps(&rounds, began, began + Duration::from_millis(200)).len();
    let counters = handle.counters();
    let handoffs: u64 = counters.iter().map(|c| c.handoffs).sum();
    if handoffs > 0 {
        eprintln!("handoffs: {counters:?}");
    }
    Some((during, handoffs))
}

/// Lets the other runnable tasks run (the waker sends the task to the back of the queue).
async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            return std::task::Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    })
    .await
}

/// A runtime whose monitor records the time of each of its rounds, handing off polls after
/// `handoff_after`; `on_start` runs on each of its machine threads.
fn runtime_with(
    processors: usize,
    name: &str,
    handoff_after: Duration,
    on_start: Option<ThreadStartHook>,
) -> (Scheduler, Arc<Mutex<Vec<Instant>>>) {
    let rounds = Arc::new(Mutex::new(Vec::new()));
    let record = rounds.clone();
    let mut config = Config::with_processors(processors);
    config.thread_name = name.to_string();
    config.handoff_after = handoff_after;
    config.on_thread_start = on_start;
    config.monitor_hook = Some(MonitorHook(Arc::new(move |now| {
        record.lock().unwrap().push(now);
    })));
    (Scheduler::new(config).unwrap(), rounds)
}

fn pin_to_cpu(cpu: usize) {
    let pinned = core_affinity::set_for_current(core_affinity::CoreId { id: cpu });
    assert!(pinned, "cannot pin a thread to CPU {cpu}");
}
