//! The monitor: its tick hook, handoffs, and backing off when idle. (Its spare machines
//! are tested in `runtime/tests/sched.rs`.)

use goro_sched::{Config, MonitorHook, Scheduler};
use std::sync::atomic::{AtomicU64, Ordering::*};
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

/// A poll that is long but neither blocked nor waited on (a task computing, or a thread the
/// kernel preempted) is no stall: the monitor checks its thread once and keeps its calm
/// pace (about 1 ms), rather than watching every 250 µs, or every 25 µs while the check
/// repeats. (Before this rule, the 60 ms poll below took 756 rounds.)
#[test]
fn a_long_running_poll_alone_keeps_the_monitor_calm() {
    let rounds = Arc::new(Mutex::new(Vec::new()));
    let record = rounds.clone();
    let mut config = Config::with_processors(1);
    config.thread_name = "goro-calm".to_string();
    // Long enough that the 60 ms poll is never handed off.
    config.handoff_after = Duration::from_secs(5);
    config.monitor_hook = Some(MonitorHook(Arc::new(move |now| {
        record.lock().unwrap().push(now);
    })));
    let rt = Scheduler::new(config).unwrap();
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
        during.len() < 120,
        "{} monitor rounds during one 60 ms poll (calm is about 60)",
        during.len()
    );
    let handoffs: u64 = handle.counters().iter().map(|c| c.handoffs).sum();
    assert_eq!(
        handoffs, 0,
        "the poll was not stuck long enough to hand off"
    );
}
