//! Which machine holds a processor, and how a processor is taken from a machine stuck in a
//! poll: the ownership protocol, in one place.
//!
//! A processor's owned half (local queue, tick, `runnext` streak, ...) is touched only by the
//! machine that holds it, its *owner*. Ownership changes hands in two ways:
//!
//! * **Acquire.** A machine handed a processor (at start, or by `Machines::hand_off`) makes
//!   itself the owner ([`Ownership::acquire`]).
//! * **Retake.** The monitor (or the owner itself, in `block_in_place`) takes the processor
//!   from a machine *inside a poll*, which cannot be asked to let go
//!   ([`Ownership::retake`]).
//!
//! Three words make the retake safe while the owner runs on:
//!
//! * `run_state` ([`RunState`]) is `seq << 1 | in_poll`, or [`RunState::HANDED_OFF`]. Only
//!   the owner writes it outside a retake: [`Ownership::begin_poll`] stores the in-poll value
//!   of a fresh sequence number, [`Ownership::end_poll`] CASes it back to the between-polls
//!   value. A retake CASes the same in-poll value to `HANDED_OFF`. Exactly one of the two
//!   CASes wins, so the machine learns at the end of its poll whether it still owns the
//!   processor ([`RunResult`]), and the monitor never takes a processor whose poll it did
//!   not see (the sequence number differs for every poll).
//! * `owner` is the owner's [`MachineId`], or none. A wake that runs on the stuck machine's
//!   thread during the poll still finds the processor in its thread context and would push
//!   to the local queue, which the next owner is about to use.
//! * `guard` closes that gap, Dekker style. The waker raises `guard`, then checks `owner`
//!   ([`Ownership::enter_local`]); the retake clears `owner`, then waits for `guard` to drop.
//!   A SeqCst fence sits between the store and the load on each side. The fences are
//!   totally ordered: if the waker's fence comes first, the retake's load sees the raised
//!   guard (or its release) and waits for the push; if the retake's comes first, the waker
//!   sees the owner cleared and sends the task to the injector. (SeqCst on the four
//!   accesses alone would be as correct in C++20's model, but loom treats SeqCst accesses
//!   as acquire/release and models only SeqCst fences exactly, so the fences are what lets
//!   loom check this.)
//!
//! The loom model `models::ownership` in `goro-loom-tests` compiles this file and checks
//! both: one CAS wins, and no push to the local queue overlaps the next owner's use of it.
//! Atomics come from `crate::sync`, as in every protocol file.

use crate::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering::*};
use crate::sync::hint::spin_loop;
use std::num::NonZeroUsize;

/// A machine's id: unique in the process (ids are never reused), never zero, so that
/// "no machine" fits in the same word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MachineId(NonZeroUsize);

impl MachineId {
    /// The id numbered `n`, or `None` for 0.
    pub(crate) fn new(n: usize) -> Option<MachineId> {
        NonZeroUsize::new(n).map(MachineId)
    }

    fn word(id: Option<MachineId>) -> usize {
        id.map_or(0, |id| id.0.get())
    }
}

/// A processor's `run_state` word: `seq << 1 | in_poll` while a machine owns it, or
/// [`RunState::HANDED_OFF`] once it was taken from a machine inside a poll.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RunState(u64);

impl RunState {
    /// Taken from the machine that was polling; stays so until the next owner acquires it.
    pub(crate) const HANDED_OFF: RunState = RunState(u64::MAX);
    /// Sequence numbers wrap below this, so no in-poll value is ever `HANDED_OFF`.
    const SEQ_MASK: u64 = u64::MAX >> 2;

    /// Between polls number `seq` and the next.
    pub(crate) fn between_polls(seq: u64) -> RunState {
        RunState((seq & Self::SEQ_MASK) << 1)
    }

    /// Inside poll number `seq`.
    pub(crate) fn polling(seq: u64) -> RunState {
        RunState((seq & Self::SEQ_MASK) << 1 | 1)
    }

    /// Whether a machine is inside a poll that it may still end (not handed off).
    pub(crate) fn is_polling(self) -> bool {
        self.0 & 1 == 1 && self != Self::HANDED_OFF
    }
}

impl Default for RunState {
    fn default() -> RunState {
        RunState::between_polls(0)
    }
}

/// How a poll ended for the machine that ran it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub(crate) enum RunResult {
    /// The machine still owns the processor and goes on scheduling.
    Kept,
    /// The processor was taken during the poll (the poll ran too long, blocked in the
    /// kernel, or called `block_in_place`): the machine must not touch it again.
    HandedOff,
}

/// What a retake attempt did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub(crate) enum Retake {
    /// The processor is no one's now; the caller hands it to another machine.
    Taken,
    /// The poll seen had already ended (or the processor was not in a poll): nothing done.
    PollEnded,
}

/// The shared words of the protocol (see the module docs), one set per processor.
pub(crate) struct Ownership {
    /// Written by the owner (`begin_poll`, `end_poll`, `acquire`) and by a retake's CAS; read
    /// by the monitor every round and by thieves deciding whether to steal `runnext`.
    run_state: AtomicU64,
    /// The owner's id, or 0: written by `acquire` and `retake`; read by every wake that
    /// wants to push to the local queue (`enter_local`, `is_owned_by`).
    owner: AtomicUsize,
    /// Raised by a wake pushing to the local queue (`enter_local` until its `LocalAccess`
    /// drops); read by a retake, which waits for it to drop.
    guard: AtomicBool,
}

impl Default for Ownership {
    fn default() -> Ownership {
        Ownership {
            run_state: AtomicU64::new(RunState::default().0),
            owner: AtomicUsize::new(0),
            guard: AtomicBool::new(false),
        }
    }
}

impl Ownership {
    /// The current run state (Acquire: a retake that wins sees the poll's start).
    pub(crate) fn run_state(&self) -> RunState {
        RunState(self.run_state.load(Acquire))
    }

    /// Machine `machine` takes the processor, which was handed to it; `seq` is the number of
    /// its last poll.
    pub(crate) fn acquire(&self, machine: MachineId, seq: u64) {
        self.owner.store(MachineId::word(Some(machine)), SeqCst);
        self.run_state
            .store(RunState::between_polls(seq).0, Release);
    }

    /// The owner starts poll number `seq`; returns the state to pass to `end_poll`.
    pub(crate) fn begin_poll(&self, seq: u64) -> RunState {
        let polling = RunState::polling(seq);
        // Only the end-of-poll CAS races a retake; this store needs no full barrier.
        self.run_state.store(polling.0, Release);
        polling
    }

    /// The owner's poll (`polling`, from `begin_poll`) ended: whether it still owns the
    /// processor.
    pub(crate) fn end_poll(&self, polling: RunState) -> RunResult {
        let between = RunState(polling.0 & !1);
        match self
            .run_state
            .compare_exchange(polling.0, between.0, AcqRel, Acquire)
        {
            Ok(_) => RunResult::Kept,
            Err(_) => RunResult::HandedOff,
        }
    }

    /// Takes the processor from the machine inside the poll `polling` (read from
    /// `run_state`): clears the owner and waits until no wake is pushing to the local queue.
    pub(crate) fn retake(&self, polling: RunState) -> Retake {
        if !polling.is_polling() {
            return Retake::PollEnded;
        }
        if self
            .run_state
            .compare_exchange(polling.0, RunState::HANDED_OFF.0, SeqCst, SeqCst)
            .is_err()
        {
            return Retake::PollEnded;
        }
        self.owner.store(MachineId::word(None), Relaxed);
        fence(SeqCst);
        while self.guard.load(Acquire) {
            spin_loop();
        }
        Retake::Taken
    }

    /// Whether `machine` (the caller's, `None` on a thread that is no machine) owns the
    /// processor.
    pub(crate) fn is_owned_by(&self, machine: Option<MachineId>) -> bool {
        machine.is_some() && self.owner.load(SeqCst) == MachineId::word(machine)
    }

    /// Raises the guard and checks that `machine` still owns the processor: `Some` while the
    /// caller may touch the owned half, `None` (guard already lowered) if it lost it.
    pub(crate) fn enter_local(&self, machine: Option<MachineId>) -> Option<LocalAccess<'_>> {
        self.guard.store(true, Relaxed);
        fence(SeqCst);
        if machine.is_some() && self.owner.load(Relaxed) == MachineId::word(machine) {
            return Some(LocalAccess(self));
        }
        self.guard.store(false, Release);
        None
    }
}

/// Proof that the caller's machine owns the processor; lowers the guard when dropped.
pub(crate) struct LocalAccess<'a>(&'a Ownership);

impl Drop for LocalAccess<'_> {
    fn drop(&mut self) {
        self.0.guard.store(false, Release);
    }
}
