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
//! * measures each processor's pause (runnable work queued, no poll started) and, every
//!   `stats_interval`, runs a stats cycle (see `stats/cycle.rs`);
//! * publishes the coarse clock that task records read (`time::clock::coarse_now`);
//! * prints the `SCHED` line every `schedtrace` period, if asked to;
//! * calls the configured [`MonitorHook`](crate::MonitorHook).
//!
//! Sampling costs the machines nothing: they only write `run_state`, which they own.

use crate::machine::Machines;
use crate::processor::Processor;
use crate::shared::Shared;
use crate::stats::{self, PauseTracker};
use crate::time::clock;
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
    pause: PauseTracker,
}

/// When the next stats cycle and the next `SCHED` line are due.
struct Schedule {
    cycle_start: Instant,
    next_cycle: Instant,
    next_trace: Option<Instant>,
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
            pause: PauseTracker::default(),
        };
        shared.procs.len()
    ];
    let mut schedule = Schedule {
        cycle_start: now,
        next_cycle: now + shared.config.stats_interval,
        next_trace: shared.config.schedtrace.map(|period| now + period),
    };
    let mut delay = MIN_DELAY;
    let mut idle_rounds = 0;
    while shared.monitor.sleep(delay) {
        clock::refresh_coarse();
        let acted = retake_stuck(&shared, &mut samples, schedule.cycle_start)
            | poll_starved(&shared, &mut samples);
        run_stats(&shared, &mut samples, &mut schedule);
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

/// Closes a stats cycle and prints the `SCHED` line when they are due.
fn run_stats(shared: &Shared, samples: &mut [Sample], schedule: &mut Schedule) {
    let now = Instant::now();
    if now >= schedule.next_cycle {
        let pause = samples
            .iter_mut()
            .map(|s| s.pause.take_cycle_max())
            .max()
            .unwrap_or_default();
        stats::cycle::run(shared, now, pause);
        schedule.cycle_start = now;
        schedule.next_cycle = now + shared.config.stats_interval;
    }
    if let (Some(due), Some(period)) = (schedule.next_trace, shared.config.schedtrace) {
        if now >= due {
            let suspected = shared.stats.cycle.lock().suspects.len() as u64;
            let line = goro_stats::schedtrace_line_with(
                &stats::snapshot(shared),
                &[("suspected", suspected)],
            );
            eprintln!("{line}");
            schedule.next_trace = Some(now + period);
        }
    }
}

/// Hands off every processor stuck in one poll, and tracks pauses; returns whether it
/// handed any off.
fn retake_stuck(shared: &Arc<Shared>, samples: &mut [Sample], cycle_start: Instant) -> bool {
    let now = Instant::now();
    let mut acted = false;
    for (index, (ps, sample)) in shared.procs.iter().zip(samples.iter_mut()).enumerate() {
        let run_state = ps.run_state.load(std::sync::atomic::Ordering::Acquire);
        sample
            .pause
            .observe(now, run_state, ps.has_queued_work(), cycle_start);
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
        // A lone processor parked in its poller holds the poller's lock while it waits:
        // the poll fails and nothing is starved there. (With several processors the pollers
        // are watched, and this finds nothing unless nobody waited in the watch.)
        ps.poller.try_drain_now(|outcome| {
            if outcome.woken {
                // The wake was meant for the owner: pass it on.
                let _ = ps.poller.wake();
            }
            sample.polled_at = now;
            acted |= outcome.io_events > 0;
        });
    }
    acted
}
