//! What the monitor knows of one processor, and the three rules it applies to a long poll:
//! help, blocked in the kernel, running too long (see the module docs of `monitor`).
//!
//! The monitor never learns when a poll started: it sees `run_state` change. A poll seen with
//! the same `run_state` on two rounds has lasted at least since the first of them (`since`),
//! which is what every age below means.

use super::{BLOCKED_GRACE, STARVED_AFTER};
use crate::machine::Machines;
use crate::ownership::{Retake, RunState};
use crate::processor::{HandoffReason, ProcShared, Processor};
use crate::shared::Shared;
use crate::stats::PauseTracker;
use crate::thread_clock::{KernelState, MachineClock, StatFile};
use crate::time::clock_now;
use std::sync::atomic::Ordering::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The monitor asks again for help this often while work still waits behind a long poll
/// (the processor it woke may have found other work first).
const HELP_REPEAT: Duration = Duration::from_micros(200);

/// What the monitor did about a processor this round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Not in a long poll.
    Fine,
    /// In a long poll (seen in the same poll as last round), and what was seen of it.
    LongPoll(LongPoll),
    /// Handed to another machine.
    HandedOff,
}

/// What the monitor saw of a long poll it did not hand off.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct LongPoll {
    /// Its I/O was left unwatched, or work waits behind it and an idle processor can be
    /// woken to take it, or its thread computes (the first processor to go idle must be
    /// helped at once): look again soon. Work queued behind a machine that is only
    /// preempted, with every processor busy, is no reason: it kept the monitor at
    /// [`FAST_PERIOD`](super::FAST_PERIOD) under load for nothing.
    pub(super) help_due: bool,
    /// The first check of its thread is due: look again after [`BLOCKED_GRACE`].
    pub(super) checking: bool,
    /// Its thread was seen computing (its CPU clock kept up with nine tenths of the wall
    /// time or more): the program's tasks hog their threads, and may block them too.
    pub(super) hogging: bool,
}

/// What the last check of a long poll's thread found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ThreadSeen {
    /// Not checked yet: marked only this round, or looked at again less than
    /// [`BLOCKED_GRACE`] after its mark.
    Unchecked,
    /// Its CPU clock cannot be read (the owner published none, or the read failed), or it
    /// stood still and `/proc` does not say the thread sleeps or waits for a CPU (stopped,
    /// or unreadable): only the wall time tells.
    Unknown,
    /// Its CPU clock stood still and it sleeps in the kernel: blocked.
    Asleep,
    /// Its CPU clock ran for nine tenths of the wall time or more: it computes.
    OnCpu,
    /// Its CPU clock ran, for less than nine tenths of the wall time: it computes, on a CPU
    /// it shares with other threads.
    Sharing,
    /// Its CPU clock stood still, and `/proc` says runnable: it waits for a CPU the kernel gave
    /// to other threads (the load generator, another machine, a parallel build). The poll
    /// itself may be microseconds long: no sign that the program's tasks stall, and no
    /// reason to hand its processor to another thread, which would wait for a CPU as well.
    Preempted,
}

/// The thread CPU time of the machine in the current poll, when the monitor last read it.
#[derive(Clone, Copy)]
struct CpuMark {
    clock: MachineClock,
    used: Duration,
    at: Instant,
    /// What the last check since the poll was first seen long found. Until the first one
    /// the monitor looks again after [`BLOCKED_GRACE`]; after it, at its usual pace (a poll
    /// whose thread runs, or waits for a CPU, is checked again every round).
    seen: ThreadSeen,
}

/// Where a processor was last seen.
pub(super) struct ProcWatch {
    run_state: RunState,
    /// When `run_state` was first seen with its current value.
    since: Instant,
    /// The owner's CPU clock at the last check of the current poll (`None`: unavailable).
    cpu: Option<CpuMark>,
    /// When the monitor last woke a processor to help with the current poll's waiting work.
    helped_at: Option<Instant>,
    polls: u64,
    polled_at: Instant,
    pause: PauseTracker,
    /// The owner thread's `stat`, kept open for the blocked-in-kernel check.
    stat: StatFile,
}

impl ProcWatch {
    pub(super) fn new(now: Instant) -> ProcWatch {
        ProcWatch {
            run_state: RunState::default(),
            since: now,
            cpu: None,
            helped_at: None,
            polls: 0,
            polled_at: now,
            pause: PauseTracker::default(),
            stat: StatFile::default(),
        }
    }

    /// The `run_state` seen last round.
    pub(super) fn run_state(&self) -> RunState {
        self.run_state
    }

    /// One round for processor `index`, whose `run_state` the caller just read (Acquire).
    pub(super) fn observe(
        &mut self,
        shared: &Arc<Shared>,
        index: usize,
        run_state: RunState,
        now: Instant,
        cycle_start: Instant,
    ) -> Verdict {
        let ps = &shared.procs[index];
        let in_poll = run_state.is_polling();
        let long_poll = in_poll && run_state == self.run_state;
        let waiting = work_waiting(shared, ps, long_poll);
        self.pause.observe(now, run_state, waiting, cycle_start);
        if run_state != self.run_state {
            self.start_poll(ps, run_state, now, in_poll);
            return Verdict::Fine;
        }
        if !long_poll {
            return Verdict::Fine;
        }
        let first_look = self.cpu.is_none();
        if first_look {
            // No mark: the clock could not be read when the poll began, or a read failed
            // since. Mark it now, check it in a moment.
            self.cpu = read_mark(ps, now);
        }
        let seen = match self.cpu {
            None => ThreadSeen::Unknown,
            Some(_) if first_look => ThreadSeen::Unchecked,
            Some(_) => self.check_thread(now),
        };
        if let Some(reason) = self.handoff_reason(seen, now, shared.config.handoff_after) {
            if Processor::retake(ps, run_state, reason) == Retake::Taken {
                Machines::hand_off(shared, index);
                return Verdict::HandedOff;
            }
            return Verdict::Fine;
        }
        let offered = shared.offer_watch();
        if offered {
            // Nobody watched the I/O while this processor ran a long poll.
            ps.counters.watch_handoffs.add_shared(1);
        }
        let helpable = waiting && shared.idle.has_parked();
        if helpable {
            self.help(shared, ps, now);
        }
        let runs = matches!(seen, ThreadSeen::OnCpu | ThreadSeen::Sharing);
        Verdict::LongPoll(LongPoll {
            help_due: offered || (waiting && (helpable || runs)),
            checking: self
                .cpu
                .is_some_and(|mark| mark.seen == ThreadSeen::Unchecked),
            hogging: seen == ThreadSeen::OnCpu,
        })
    }

    /// `run_state` changed: forget the last poll; if a new one runs, mark its clock, so that
    /// the next round can already check it. (Marking only polls seen long saves a system
    /// call per processor and round under load, about 1 µs a millisecond, but costs a poll
    /// that blocks an extra round before it is seen: the blocking scenario's p99 went from
    /// 74 to 140-190 µs.)
    fn start_poll(&mut self, ps: &ProcShared, run_state: RunState, now: Instant, in_poll: bool) {
        self.run_state = run_state;
        self.since = now;
        self.helped_at = None;
        self.cpu = if in_poll { read_mark(ps, now) } else { None };
    }

    /// Whether the long poll must lose its processor, and by which rule: its thread sleeps in
    /// the kernel, or the poll has been seen for `handoff_after` and its thread was not
    /// found waiting for a CPU at the last check.
    fn handoff_reason(
        &self,
        seen: ThreadSeen,
        now: Instant,
        handoff_after: Duration,
    ) -> Option<HandoffReason> {
        match seen {
            ThreadSeen::Asleep => Some(HandoffReason::Blocked),
            // Waiting for a CPU, not running: the poll has not run long, the machine has.
            // Not checked yet: the check comes after BLOCKED_GRACE (the first round to see
            // the poll long may come late, on a starved machine, and its age is no proof).
            ThreadSeen::Preempted | ThreadSeen::Unchecked => None,
            ThreadSeen::Unknown | ThreadSeen::OnCpu | ThreadSeen::Sharing => {
                (now.duration_since(self.since) >= handoff_after).then_some(HandoffReason::Running)
            }
        }
    }

    /// Checks the owner thread of the long poll, once [`BLOCKED_GRACE`] has passed since its
    /// mark: asleep in the kernel if its CPU clock stood still (under a tenth of the wall
    /// time) and `/proc` says it sleeps. A thread that ran since the mark is marked again,
    /// so one that computes and then blocks is seen.
    fn check_thread(&mut self, now: Instant) -> ThreadSeen {
        let Some(mark) = self.cpu else {
            return ThreadSeen::Unknown;
        };
        let wall = now.duration_since(mark.at);
        if wall < BLOCKED_GRACE {
            return mark.seen;
        }
        let Some(used) = mark.clock.cpu_time() else {
            self.cpu = None;
            return ThreadSeen::Unknown;
        };
        let ran = used.saturating_sub(mark.used);
        if ran * 10 < wall {
            let seen = match mark.clock.kernel_state(&mut self.stat) {
                KernelState::Asleep => return ThreadSeen::Asleep,
                KernelState::Runnable => ThreadSeen::Preempted,
                // Stopped, or `/proc` unreadable: the wall time must tell.
                KernelState::Unknown => ThreadSeen::Unknown,
            };
            // Keep the mark: the stillness may go on.
            self.cpu = Some(CpuMark { seen, ..mark });
            return seen;
        }
        let seen = if ran * 10 >= wall * 9 {
            ThreadSeen::OnCpu
        } else {
            ThreadSeen::Sharing
        };
        self.cpu = Some(CpuMark {
            used,
            at: now,
            seen,
            ..mark
        });
        seen
    }

    /// Wakes an idle processor for the work waiting behind the long poll, at most every
    /// [`HELP_REPEAT`].
    fn help(&mut self, shared: &Shared, ps: &ProcShared, now: Instant) {
        if self
            .helped_at
            .is_some_and(|at| now.duration_since(at) < HELP_REPEAT)
        {
            return;
        }
        self.helped_at = Some(now);
        ps.counters.stuck_helps.add_shared(1);
        shared.notify_work();
    }

    /// Whether the poller (polled `polls` times so far) went unpolled for
    /// [`STARVED_AFTER`].
    pub(super) fn poller_starved(&mut self, polls: u64, now: Instant) -> bool {
        if polls != self.polls {
            self.polls = polls;
            self.polled_at = now;
            return false;
        }
        now.duration_since(self.polled_at) >= STARVED_AFTER
    }

    /// The monitor polled the poller itself.
    pub(super) fn poller_polled(&mut self, now: Instant) {
        self.polled_at = now;
    }

    /// The longest pause of the cycle; starts the next.
    pub(super) fn take_cycle_pause(&mut self) -> Duration {
        self.pause.take_cycle_max()
    }
}

/// The owner's CPU clock now, if the owner published one and it can be read.
fn read_mark(ps: &ProcShared, now: Instant) -> Option<CpuMark> {
    let clock = MachineClock::unpack(ps.owner_clock.load(Acquire))?;
    let used = clock.cpu_time()?;
    Some(CpuMark {
        clock,
        used,
        at: now,
        seen: ThreadSeen::Unchecked,
    })
}

/// Whether runnable work waits on processor `ps`: queued tasks, due timers, and, in a long
/// poll with nobody waiting in the poller watch to serve it, ready I/O.
fn work_waiting(shared: &Shared, ps: &ProcShared, long_poll: bool) -> bool {
    if ps.has_queued_work() || ps.timers.next_deadline() <= clock_now() {
        return true;
    }
    let watched = shared.watch.as_ref().is_some_and(|w| w.is_claimed());
    long_poll && !watched && ps.poller.has_registrations() && has_ready_events(ps)
}

/// Whether `ps`'s poller has events ready, without taking them: a `poll(2)` of its epoll
/// descriptor, which is readable while the epoll ready list is not empty.
fn has_ready_events(ps: &ProcShared) -> bool {
    let mut pfd = libc::pollfd {
        fd: ps.poller.epoll_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: `pfd` is one valid `pollfd` for the duration of the call, and the descriptor
    // stays open as long as the poller, which `ps` holds.
    let ready = unsafe { libc::poll(&mut pfd, 1, 0) };
    ready > 0 && pfd.revents & libc::POLLIN != 0
}
