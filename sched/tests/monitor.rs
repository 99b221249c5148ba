//! The monitor's tick hook and its handoff counter.

use goro_sched::{Config, MonitorHook, Scheduler};
use std::sync::atomic::{AtomicU64, Ordering::*};
use std::sync::Arc;
use std::time::Duration;

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
