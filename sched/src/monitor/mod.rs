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
//! 3. **Running too long.** A poll seen for `handoff_after` (10 ms by default) loses its
//!    processor too: its queue may be served by idle processors, but its poller and timers
//!    belong to it, and with every processor busy nobody else runs them. Not while the last
//!    check found its thread waiting for a CPU with its clock standing still: on a starved
//!    machine (a parallel build, busy loops) a poll of microseconds can wait that long,
//!    and handing its processor to a new thread, which waits for a CPU too, only adds
//!    threads (a soak beside 8 busy loops counted 223 such handoffs in 8 s).
//!
//! The stuck machine finishes its poll, learns from its end-of-poll CAS that it lost the
//! processor, and becomes a spare (`machine.rs`).
//!
//! ## How often
//!
//! A round costs the monitor little work (a few atomics per processor, and one
//! `clock_gettime` of the owner thread's CPU clock per new poll it sees) but a thread
//! wake-up, which is most of its cost: about 14 µs of CPU on this project's 2-core VM. How
//! often it looks is therefore a trade between that cost and how soon a blocked poll is
//! seen, and the monitor lets the program's own history decide it:
//!
//! * [`FAST_PERIOD`] while work waits behind a long poll whose thread computes, or that an
//!   idle processor can be woken for (or the long poll's I/O was left unwatched), and just
//!   after acting (the help itself is repeated every 200 µs at most); [`BLOCKED_GRACE`]
//!   when a long poll's thread could not be checked yet (its CPU clock, marked when the
//!   poll was first seen, tells a blocked thread from a running one only after that long);
//! * [`SAMPLE_PERIOD`] while any processor is awake (running or searching) or has polled
//!   since the last round, *and* the program stalled within the last [`WATCHFUL_FOR`]: the
//!   monitor handed a processor off, or saw a long poll's thread compute (its CPU clock
//!   kept up with nine tenths of the wall time or more). A program whose tasks block or hog their
//!   thread is watched closely, so a poll that blocks is seen within one or two periods;
//! * [`CALM_PERIOD`] while processors are awake but nothing stalled for [`WATCHFUL_FOR`],
//!   doubling every [`CALM_ROUNDS_PER_STEP`] calm rounds up to [`MAX_CALM`] (1, 2, 4, then
//!   8 ms after about 0.7 s of calm): a program whose polls are all short pays little for
//!   the watching (under HTTP load at 1 processor: 4% of a core at `SAMPLE_PERIOD`, and
//!   each round wakes a thread that, pinned with the machines, preempts one), and the
//!   first poll that blocks is seen within one or two calm periods, after which the
//!   monitor is watchful again. This is the compromise, as Go's sysmon backs off to 10 ms
//!   when it retakes nothing: the first stall after a long calm costs up to about
//!   `2 * MAX_CALM`; stalls that come more often than once a second are seen within a
//!   watchful period or two.
//!   A long poll alone is no stall: under load a machine's thread is often preempted in
//!   the middle of a short poll (by the load generator, by another machine), and its CPU
//!   clock then stands still without the thread sleeping. Counting that kept the monitor at
//!   `SAMPLE_PERIOD`, and at `FAST_PERIOD` while tasks were queued behind the preempted
//!   poll even with nobody idle to take them: at 2 processors under HTTP load, 2 700 rounds
//!   a second and 3% of a core;
//! * while every processor is parked there is nothing to watch: the delay doubles after
//!   [`IDLE_ROUNDS_BEFORE_BACKOFF`] rounds up to [`MAX_DELAY`]. The first processor to
//!   leave its park then wakes the monitor (`MonitorSignal::processor_woke`: one relaxed
//!   load per unpark while the monitor does not doze), so the first poll after an idle
//!   spell is watched like any other.
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
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A poller nobody polled for this long is polled by the monitor.
pub const STARVED_AFTER: Duration = Duration::from_millis(10);
/// A machine whose CPU clock stood still this long inside a poll, asleep in the kernel, loses
/// its processor.
pub const BLOCKED_GRACE: Duration = Duration::from_micros(50);
/// Between rounds while any processor is awake and the program stalled lately. At
/// 100 µs the monitor took 8-10% of a core under HTTP load; at 250 µs 4%, and a blocked
/// machine still loses its processor within two rounds, about 0.3-0.6 ms.
const SAMPLE_PERIOD: Duration = Duration::from_micros(250);
/// Between rounds while processors are awake but no poll was long for [`WATCHFUL_FOR`], at
/// first; it doubles every [`CALM_ROUNDS_PER_STEP`] calm rounds up to [`MAX_CALM`].
const CALM_PERIOD: Duration = Duration::from_millis(1);
/// Calm rounds in a row before the calm delay doubles.
const CALM_ROUNDS_PER_STEP: u32 = 100;
/// The longest calm delay (Go's sysmon backs off to 10 ms).
const MAX_CALM: Duration = Duration::from_millis(8);
/// How long after the last stall (a handoff, or a long poll seen computing) the monitor
/// keeps to [`SAMPLE_PERIOD`].
const WATCHFUL_FOR: Duration = Duration::from_secs(1);
/// Between rounds while a long poll has help on the way, or just after acting.
const FAST_PERIOD: Duration = Duration::from_micros(25);
/// Longest delay between rounds, when every processor is parked.
const MAX_DELAY: Duration = Duration::from_millis(10);
/// Rounds with every processor parked before the monitor starts backing off.
const IDLE_ROUNDS_BEFORE_BACKOFF: u32 = 50;

/// Lets shutdown wake the monitor from its sleep, and a processor that leaves its park wake
/// it from a backed-off one.
pub(crate) struct MonitorSignal {
    stop: Mutex<bool>,
    wake: Condvar,
    /// Set (under `stop`'s lock) while the monitor sleeps longer than [`CALM_PERIOD`]
    /// because every processor was parked: the first processor to wake clears it and wakes
    /// the monitor ([`MonitorSignal::processor_woke`]), so a poll that blocks right after
    /// an idle spell is seen within a round or two, not after up to [`MAX_DELAY`]. Read
    /// (relaxed) by every processor leaving its park.
    dozing: AtomicBool,
}

impl MonitorSignal {
    pub(crate) fn new() -> MonitorSignal {
        MonitorSignal {
            stop: Mutex::new(false),
            wake: Condvar::new(),
            dozing: AtomicBool::new(false),
        }
    }

    pub(crate) fn shutdown(&self) {
        *self.stop.lock() = true;
        self.wake.notify_all();
    }

    /// A processor left its park: wakes the monitor if it dozes. One relaxed load when it
    /// does not.
    #[inline]
    pub(crate) fn processor_woke(&self) {
        if self.dozing.load(Relaxed) && self.dozing.swap(false, Relaxed) {
            // Taking the lock waits until the monitor is inside its wait, so the notify
            // cannot fall between its check and its wait.
            let _stop = self.stop.lock();
            self.wake.notify_all();
        }
    }

    /// Sleeps for `delay` (`dozing`: backed off because every processor was parked);
    /// returns `false` once the runtime shuts down.
    fn sleep(&self, delay: Duration, dozing: bool) -> bool {
        let mut stop = self.stop.lock();
        if !*stop {
            self.dozing.store(dozing && delay > CALM_PERIOD, Relaxed);
            self.wake.wait_for(&mut stop, delay);
            self.dozing.store(false, Relaxed);
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
    /// Work waits behind a long poll and an idle processor can take it: look again soon.
    urgent: bool,
    /// A long poll's first blocked-in-kernel check is due after [`BLOCKED_GRACE`].
    checking: bool,
    /// Some processor is awake (running or searching), or ran a poll since the last round.
    awake: bool,
    /// A long poll's thread was seen computing: the program's tasks hog their threads.
    stalled: bool,
}

/// The monitor thread's loop.
pub(crate) fn run(shared: Arc<Shared>) {
    let now = Instant::now();
    let mut watches: Vec<ProcWatch> = (0..shared.procs.len())
        .map(|_| ProcWatch::new(now))
        .collect();
    let mut schedule = Schedule {
        cycle_start: now,
        next_cycle: now + shared.config.stats_interval,
        next_trace: shared.config.schedtrace.map(|period| now + period),
    };
    let mut pace = Pace {
        delay: FAST_PERIOD,
        idle_rounds: 0,
        calm_rounds: 0,
        last_stall: None,
    };
    while shared.monitor.sleep(pace.delay, pace.idle_rounds > 0) {
        clock::refresh_coarse();
        let mut round = watch_processors(&shared, &mut watches, schedule.cycle_start);
        round.acted |= poll_starved(&shared, &mut watches);
        run_stats(&shared, &mut watches, &mut schedule);
        let now = Instant::now();
        if let Some(hook) = &shared.config.monitor_hook {
            (hook.0)(now);
        }
        pace.after(round, now);
    }
}

/// How fast the monitor goes round (see "How often" in the module docs).
struct Pace {
    /// The delay before the next round.
    delay: Duration,
    /// Rounds in a row with every processor parked.
    idle_rounds: u32,
    /// Calm rounds in a row (processors awake, no stall for [`WATCHFUL_FOR`]).
    calm_rounds: u32,
    /// When a round last handed a processor off or saw a long poll compute.
    last_stall: Option<Instant>,
}

impl Pace {
    /// Sets the delay before the next round from what the round that ended at `now` saw.
    fn after(&mut self, round: RoundSummary, now: Instant) {
        if round.stalled || round.acted {
            self.last_stall = Some(now);
        }
        let watchful = self
            .last_stall
            .is_some_and(|at| now.duration_since(at) < WATCHFUL_FOR);
        (self.delay, self.idle_rounds) = next_delay(round, watchful, self.delay, self.idle_rounds);
        self.calm_rounds = if self.idle_rounds == 0 && self.delay == CALM_PERIOD {
            self.calm_rounds.saturating_add(1)
        } else {
            0
        };
        if self.calm_rounds > 0 {
            self.delay = calm_delay(self.calm_rounds);
        }
    }
}

/// The delay after `calm_rounds` calm rounds in a row: [`CALM_PERIOD`], doubling every
/// [`CALM_ROUNDS_PER_STEP`] rounds up to [`MAX_CALM`].
fn calm_delay(calm_rounds: u32) -> Duration {
    let steps = (calm_rounds / CALM_ROUNDS_PER_STEP).min(8);
    (CALM_PERIOD * (1 << steps)).min(MAX_CALM)
}

/// The delay before the next round, and the count of idle rounds so far; `watchful` when the
/// program stalled within [`WATCHFUL_FOR`].
fn next_delay(
    round: RoundSummary,
    watchful: bool,
    delay: Duration,
    idle_rounds: u32,
) -> (Duration, u32) {
    if round.acted || round.urgent {
        (FAST_PERIOD, 0)
    } else if round.checking {
        (BLOCKED_GRACE, 0)
    } else if round.awake {
        (if watchful { SAMPLE_PERIOD } else { CALM_PERIOD }, 0)
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
        let run_state = ps.ownership.run_state();
        // Awake now, or polled since the last round: at light load a processor is parked
        // at most rounds, yet a poll that blocks must still be seen within a round or two.
        round.awake |= run_state != watch.run_state() || ps.park.parked_in().is_none();
        match watch.observe(shared, index, run_state, now, cycle_start) {
            Verdict::Fine => {}
            Verdict::LongPoll(seen) => {
                round.urgent |= seen.help_due;
                round.checking |= seen.checking;
                round.stalled |= seen.hogging;
            }
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
        assert_eq!(next_delay(urgent, false, MAX_DELAY, 70), (FAST_PERIOD, 0));
        let checking = RoundSummary {
            checking: true,
            awake: true,
            ..quiet
        };
        assert_eq!(
            next_delay(checking, false, MAX_DELAY, 70),
            (BLOCKED_GRACE, 0)
        );
        assert_eq!(next_delay(awake, true, MAX_DELAY, 70), (SAMPLE_PERIOD, 0));
        assert_eq!(next_delay(awake, false, MAX_DELAY, 70), (CALM_PERIOD, 0));
        // All parked: the same delay for a while, then doubling up to the maximum.
        assert_eq!(
            next_delay(quiet, true, SAMPLE_PERIOD, 0),
            (SAMPLE_PERIOD, 1)
        );
        let (d, n) = next_delay(quiet, true, SAMPLE_PERIOD, IDLE_ROUNDS_BEFORE_BACKOFF);
        assert_eq!((d, n), (SAMPLE_PERIOD * 2, IDLE_ROUNDS_BEFORE_BACKOFF));
        assert_eq!(next_delay(quiet, true, MAX_DELAY, n).0, MAX_DELAY);
    }

    /// A long calm backs off to `MAX_CALM`; a stall brings the watchful pace back at once.
    #[test]
    fn a_long_calm_backs_off_and_a_stall_ends_it() {
        let start = Instant::now();
        let awake = RoundSummary {
            awake: true,
            ..RoundSummary::default()
        };
        let mut pace = Pace {
            delay: FAST_PERIOD,
            idle_rounds: 0,
            calm_rounds: 0,
            last_stall: None,
        };
        let mut delays = Vec::new();
        for _ in 0..(CALM_ROUNDS_PER_STEP * 5) {
            pace.after(awake, start);
            delays.push(pace.delay);
        }
        assert_eq!(delays[0], CALM_PERIOD);
        assert_eq!(delays[CALM_ROUNDS_PER_STEP as usize], CALM_PERIOD * 2);
        assert_eq!(*delays.last().unwrap(), MAX_CALM);
        assert!(
            delays.windows(2).all(|w| w[0] <= w[1]),
            "never faster while calm"
        );
        pace.after(
            RoundSummary {
                stalled: true,
                ..awake
            },
            start,
        );
        assert_eq!(pace.delay, SAMPLE_PERIOD);
        pace.after(awake, start + WATCHFUL_FOR);
        assert_eq!(pace.delay, CALM_PERIOD, "the calm starts over");
    }

    /// Busy rounds go calm until a stall, then stay watchful for `WATCHFUL_FOR`.
    #[test]
    fn a_stall_makes_the_monitor_watchful_for_a_while() {
        let start = Instant::now();
        let awake = RoundSummary {
            awake: true,
            ..RoundSummary::default()
        };
        let long = RoundSummary {
            stalled: true,
            ..awake
        };
        let mut pace = Pace {
            delay: FAST_PERIOD,
            idle_rounds: 0,
            calm_rounds: 0,
            last_stall: None,
        };
        pace.after(awake, start);
        assert_eq!(pace.delay, CALM_PERIOD, "no stall yet");
        pace.after(long, start);
        assert_eq!(pace.delay, SAMPLE_PERIOD);
        pace.after(awake, start + WATCHFUL_FOR / 2);
        assert_eq!(pace.delay, SAMPLE_PERIOD, "still watchful");
        pace.after(awake, start + WATCHFUL_FOR);
        assert_eq!(pace.delay, CALM_PERIOD, "calm again");
    }
}
