//! The monitor: Go's `sysmon`, a thread without a processor that watches the others.
//!
//! It wakes every 20 µs while it has something to do and backs off (doubling, up to 10 ms)
//! while it does not, like sysmon. Each round it:
//!
//! * samples every processor's `run_state` (`seq << 1 | in_poll`): a processor seen in the
//!   same poll for over [`STUCK_AFTER`] is handed to a spare machine, so its other tasks,
//!   timers and I/O go on while the stuck poll finishes on the old machine;
//! * polls every poller that nobody polled for [`STUCK_AFTER`] (its processor is busy and no
//!   processor is idle to steal the poll), so no socket starves behind a busy task; the
//!   woken tasks go to the injector;
//! * calls the configured [`MonitorHook`](crate::MonitorHook), where the stats cycle hooks
//!   in.
//!
//! Sampling costs the machines nothing: they only write `run_state`, which they own.

use crate::machine::Machines;
use crate::processor::Processor;
use crate::shared::Shared;
use parking_lot::{Condvar, Mutex};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A poll longer than this gets its processor handed off.
pub const STUCK_AFTER: Duration = Duration::from_millis(10);
const MIN_DELAY: Duration = Duration::from_micros(20);
const MAX_DELAY: Duration = Duration::from_millis(10);
/// Rounds without action before the monitor starts backing off.
const IDLE_ROUNDS_BEFORE_BACKOFF: u32 = 50;

/// Lets shutdown wake the monitor from its sleep.
pub(crate) struct MonitorSignal {
    stop: Mutex<bool>,
    wake: Condvar,
}

impl MonitorSignal {
    pub(crate) fn new() -> MonitorSignal {
        MonitorSignal {
            stop: Mutex::new(false),
            wake: Condvar::new(),
        }
    }

    pub(crate) fn shutdown(&self) {
        *self.stop.lock() = true;
        self.wake.notify_all();
    }

    /// Sleeps for `delay`; returns `false` once the runtime shuts down.
    fn sleep(&self, delay: Duration) -> bool {
        let mut stop = self.stop.lock();
        if !*stop {
            self.wake.wait_for(&mut stop, delay);
        }
        !*stop
    }
}

/// Where each processor was last seen.
#[derive(Clone, Copy)]
struct Sample {
    run_state: u64,
    since: Instant,
    polls: u64,
    polled_at: Instant,
}

/// The monitor thread's loop.
pub(crate) fn run(shared: Arc<Shared>) {
    let now = Instant::now();
    let mut samples = vec![
        Sample {
            run_state: 0,
            since: now,
            polls: 0,
            polled_at: now,
        };
        shared.procs.len()
    ];
    let mut delay = MIN_DELAY;
    let mut idle_rounds = 0;
    while shared.monitor.sleep(delay) {
        let acted = retake_stuck(&shared, &mut samples) | poll_starved(&shared, &mut samples);
        if let Some(hook) = &shared.config.monitor_hook {
            (hook.0)(Instant::now());
        }
        if acted {
            delay = MIN_DELAY;
            idle_rounds = 0;
        } else {
            idle_rounds += 1;
            if idle_rounds > IDLE_ROUNDS_BEFORE_BACKOFF {
                delay = (delay * 2).min(MAX_DELAY);
            }
        }
    }
}

/// Hands off every processor stuck in one poll; returns whether it did.
fn retake_stuck(shared: &Arc<Shared>, samples: &mut [Sample]) -> bool {
    let now = Instant::now();
    let mut acted = false;
    for (index, (ps, sample)) in shared.procs.iter().zip(samples.iter_mut()).enumerate() {
        let run_state = ps.run_state.load(std::sync::atomic::Ordering::Acquire);
        if run_state != sample.run_state {
            sample.run_state = run_state;
            sample.since = now;
            continue;
        }
        let in_poll = run_state & 1 == 1 && run_state != crate::processor::HANDED_OFF;
        if in_poll
            && now.duration_since(sample.since) >= STUCK_AFTER
            && Processor::retake(ps, run_state)
        {
            Machines::hand_off(shared, index);
            acted = true;
        }
    }
    acted
}

/// Polls the pollers nobody polled for [`STUCK_AFTER`]; returns whether any had events.
fn poll_starved(shared: &Shared, samples: &mut [Sample]) -> bool {
    let now = Instant::now();
    let mut acted = false;
    for (ps, sample) in shared.procs.iter().zip(samples.iter_mut()) {
        let polls = ps.poller.poll_count();
        if polls != sample.polls {
            sample.polls = polls;
            sample.polled_at = now;
            continue;
        }
        if now.duration_since(sample.polled_at) < STUCK_AFTER || !ps.poller.has_registrations() {
            continue;
        }
        // A parked processor holds its poller's lock while it waits: `try_poll_now` fails
        // and nothing is starved there.
        if let Some(Ok(outcome)) = ps.poller.try_poll_now() {
            if outcome.woken {
                // The wake was meant for the owner: pass it on.
                let _ = ps.poller.wake();
            }
            sample.polled_at = now;
            acted |= outcome.io_events > 0;
        }
    }
    acted
}
