//! The monitor: Go's `sysmon`, a thread without a processor that watches the others.
//!
//! One slow task must stop nothing else: not the tasks queued behind it on its processor,
//! not that processor's sockets, not its timers. A machine inside a poll cannot be
//! interrupted, so the monitor watches from outside and acts for it. Each round it looks at
//! every processor's `run_state` (`seq << 1 | in_poll`, which only its owner writes). A
//! processor seen in the *same* poll on two rounds is in a long poll, and then
//! (`retake.rs`):
//!
//! 1. **Help.** If work waits behind the poll (tasks in its queue or `runnext`, due timers,
//!    or, with nobody in the poller watch, ready I/O) the monitor wakes an idle processor,
//!    whose search steals the queued tasks (its `runnext` too, see
//!    `Processor::steal_runnext`), fires the due timers and takes the watch. The work runs
//!    within a round or two, tens to a hundred microseconds, without waiting for a handoff
//!    and without the stuck machine's help.
//! 2. **Blocked in the kernel.** If the machine's thread CPU clock stood still over the last
//!    [`BLOCKED_GRACE`] or more and `/proc` says the thread sleeps (`thread_clock.rs`), the
//!    machine is in a blocking system call: the processor is handed to a spare machine at
//!    once, as Go's sysmon retakes a P in a system call.
//! 3. **Running too long.** A poll that has run on a CPU for `handoff_after` (10 ms by
//!    default) loses its processor too: its queue may be served by idle processors, but its
//!    poller and timers belong to it, and with every processor busy nobody else runs them.
//!
//! The stuck machine finishes its poll, learns from its end-of-poll CAS that it lost the
//! processor, and becomes a spare (`machine.rs`).
//!
//! ## How often
//!
//! The monitor sleeps [`SAMPLE_PERIOD`] between rounds while any processor is awake (running
//! or searching) or has polled since the last round, so a poll that blocks is seen within
//! one or two periods; and
//! [`FAST_PERIOD`] while a long poll has work waiting behind it or a blocked-in-kernel check
//! pending. While every processor is parked there is nothing to watch: the delay doubles
//! after [`IDLE_ROUNDS_BEFORE_BACKOFF`] rounds up to [`MAX_DELAY`]. A round reads a few
//! atomics per processor, and one `clock_gettime` per processor that is inside a poll.
//!
//! ## Also each round
//!
//! * polls every poller nobody polled for [`STARVED_AFTER`] (no processor idle to watch it);
//!   the woken tasks go to the injector;
//! * measures each processor's pause (runnable work waiting: queued tasks, due timers, ready
//!   I/O; no poll started) and, every `stats_interval`, runs a stats cycle (`stats/cycle.rs`);
//! * publishes the coarse clock that task records read (`time::clock::coarse_now`);
//! * prints the `SCHED` line every `schedtrace` period, if asked to;
//! * calls the configured [`MonitorHook`](crate::MonitorHook).

mod retake;

use crate::shared::Shared;
use crate::stats;
use crate::time::clock;
use parking_lot::{Condvar, Mutex};
use retake::{ProcWatch, Verdict};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A poller nobody polled for this long is polled by the monitor.
pub const STARVED_AFTER: Duration = Duration::from_millis(10);
/// A machine whose CPU clock stood still this long inside a poll, asleep in the kernel, loses
/// its processor.
pub const BLOCKED_GRACE: Duration = Duration::from_micros(50);
/// Between rounds while any processor is awake. A round costs the monitor a thread wake-up
/// (most of it) and a `clock_gettime` per processor inside a poll: about 7 µs of CPU on this
/// project's 2-core VM, so about 2.5% of a core while the runtime is busy. At 100 µs the
/// monitor took 8-10% of a core under HTTP load; at 250 µs a blocked machine still loses its
/// processor within two rounds, about 0.3-0.6 ms.
const SAMPLE_PERIOD: Duration = Duration::from_micros(250);
/// Between rounds while a long poll has work waiting behind it, or just after acting.
const FAST_PERIOD: Duration = Duration::from_micros(25);
/// Longest delay between rounds, when every processor is parked.
const MAX_DELAY: Duration = Duration::from_millis(10);
/// Rounds with every processor parked before the monitor starts backing off.
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

/// When the next stats cycle and the next `SCHED` line are due.
struct Schedule {
    cycle_start: Instant,
    next_cycle: Instant,
    next_trace: Option<Instant>,
}

/// What one round saw, which sets the delay before the next.
#[derive(Clone, Copy, Default)]
struct RoundSummary {
    /// A processor was handed off or a starved poller had events.
    acted: bool,
    /// A long poll has work waiting or a blocked check pending: look again soon.
    urgent: bool,
    /// Some processor is awake (running or searching), or ran a poll since the last round.
    awake: bool,
}

/// The monitor thread's loop.
pub(crate) fn run(shared: Arc<Shared>) {
    let now = Instant::now();
    let mut watches = vec![ProcWatch::new(now); shared.procs.len()];
    let mut schedule = Schedule {
        cycle_start: now,
        next_cycle: now + shared.config.stats_interval,
        next_trace: shared.config.schedtrace.map(|period| now + period),
    };
    let mut delay = FAST_PERIOD;
    let mut idle_rounds = 0;
    while shared.monitor.sleep(delay) {
        clock::refresh_coarse();
        let mut round = watch_processors(&shared, &mut watches, schedule.cycle_start);
        round.acted |= poll_starved(&shared, &mut watches);
        run_stats(&shared, &mut watches, &mut schedule);
        if let Some(hook) = &shared.config.monitor_hook {
            (hook.0)(Instant::now());
        }
        (delay, idle_rounds) = next_delay(round, delay, idle_rounds);
    }
}

/// The delay before the next round, and the count of idle rounds so far.
fn next_delay(round: RoundSummary, delay: Duration, idle_rounds: u32) -> (Duration, u32) {
    if round.acted || round.urgent {
        (FAST_PERIOD, 0)
    } else if round.awake {
        (SAMPLE_PERIOD, 0)
    } else if idle_rounds >= IDLE_ROUNDS_BEFORE_BACKOFF {
        ((delay * 2).clamp(SAMPLE_PERIOD, MAX_DELAY), idle_rounds)
    } else {
        (delay, idle_rounds + 1)
    }
}

/// One look at every processor: helps or hands off those stuck in a poll (see the module
/// docs) and tracks pauses.
fn watch_processors(
    shared: &Arc<Shared>,
    watches: &mut [ProcWatch],
    cycle_start: Instant,
) -> RoundSummary {
    let now = Instant::now();
    let mut round = RoundSummary::default();
    for (index, watch) in watches.iter_mut().enumerate() {
        let ps = &shared.procs[index];
        let run_state = ps.run_state.load(std::sync::atomic::Ordering::Acquire);
        // Awake now, or polled since the last round: at light load a processor is parked
        // at most rounds, yet a poll that blocks must still be seen within a round or two.
        round.awake |= run_state != watch.run_state() || ps.park.parked_in().is_none();
        match watch.observe(shared, index, run_state, now, cycle_start) {
            Verdict::Fine => {}
            Verdict::Watching => round.urgent = true,
            Verdict::HandedOff => round.acted = true,
        }
    }
    round
}

/// Closes a stats cycle and prints the `SCHED` line when they are due.
fn run_stats(shared: &Shared, watches: &mut [ProcWatch], schedule: &mut Schedule) {
    let now = Instant::now();
    if now >= schedule.next_cycle {
        let pause = watches
            .iter_mut()
            .map(ProcWatch::take_cycle_pause)
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

/// Polls the pollers nobody polled for [`STARVED_AFTER`]; returns whether any had events.
fn poll_starved(shared: &Shared, watches: &mut [ProcWatch]) -> bool {
    let now = Instant::now();
    let mut acted = false;
    for (ps, watch) in shared.procs.iter().zip(watches.iter_mut()) {
        if !watch.poller_starved(ps.poller.poll_count(), now) || !ps.poller.has_registrations() {
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
            watch.poller_polled(now);
            acted |= outcome.io_events > 0;
        });
    }
    acted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_follows_what_the_round_saw() {
        let quiet = RoundSummary::default();
        let awake = RoundSummary {
            awake: true,
            ..quiet
        };
        let urgent = RoundSummary {
            urgent: true,
            awake: true,
            ..quiet
        };
        assert_eq!(next_delay(urgent, MAX_DELAY, 70), (FAST_PERIOD, 0));
        assert_eq!(next_delay(awake, MAX_DELAY, 70), (SAMPLE_PERIOD, 0));
        // All parked: the same delay for a while, then doubling up to the maximum.
        assert_eq!(next_delay(quiet, SAMPLE_PERIOD, 0), (SAMPLE_PERIOD, 1));
        let (d, n) = next_delay(quiet, SAMPLE_PERIOD, IDLE_ROUNDS_BEFORE_BACKOFF);
        assert_eq!((d, n), (SAMPLE_PERIOD * 2, IDLE_ROUNDS_BEFORE_BACKOFF));
        assert_eq!(next_delay(quiet, MAX_DELAY, n).0, MAX_DELAY);
    }
}
