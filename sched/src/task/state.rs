//! The task state word.
//!
//! Every task has one `AtomicU64` that holds its whole concurrency state, so that each
//! transition is a single atomic operation (a CAS loop at worst):
//!
//! ```text
//!  63                          32 31                     8 7  6  5  4  3  2  1  0
//! +------------------------------+------------------------+--+--+--+--+--+--+--+--+
//! |         reference count      |   outstanding wakers   |  |OT|JW|JI|CA|CO|NO|RU|
//! +------------------------------+------------------------+--+--+--+--+--+--+--+--+
//! ```
//!
//! * `RU` RUNNING: a machine is polling the future (or a shutdown is dropping it).
//! * `NO` NOTIFIED: the task is scheduled; exactly one `Notified` reference to it exists in a
//!   run queue, the injector, or in the hands of a machine about to poll it.
//! * `CO` COMPLETE: the future is gone; the stage holds the output (or nothing).
//! * `CA` CANCELLED: abort or shutdown asked for the future to be dropped.
//! * `JI` JOIN_INTEREST: a `JoinHandle` exists and wants the output.
//! * `JW` JOIN_WAKER: the join waker slot holds a waker written by the `JoinHandle`.
//! * `OT` OUTPUT_TAKEN: the `JoinHandle` moved the output out of the task, or dropped it.
//!   Set once, after COMPLETE, by the `JoinHandle` alone; no transition reads it. It tells
//!   the task's slot, which holds the future or the output without a tag of its own
//!   (`harness.rs`), that the output is gone.
//! * wakers: how many `Waker`s for this task exist (clones of the waker passed to `poll`).
//!   The borrowed waker of the current poll is not counted.
//! * refs: how many references keep the allocation alive: the task registry's (until the task
//!   completes), the scheduler's (held by the `Notified` entry or the machine polling it), the
//!   `JoinHandle`'s, and one per outstanding waker.
//!
//! A task is **idle** when none of RUNNING, NOTIFIED and COMPLETE is set. An idle task with
//! zero wakers can never be woken again: it is *orphaned*. Cloning or dropping a waker changes
//! both counts in one `fetch_add`/`fetch_sub`, so counting wakers costs nothing extra, and the
//! moment an idle task's last waker is dropped is visible in that one operation's result.

use crate::sync::atomic::{AtomicU64, Ordering::*};

const RUNNING: u64 = 1 << 0;
const NOTIFIED: u64 = 1 << 1;
const COMPLETE: u64 = 1 << 2;
const CANCELLED: u64 = 1 << 3;
const JOIN_INTEREST: u64 = 1 << 4;
const JOIN_WAKER: u64 = 1 << 5;
const OUTPUT_TAKEN: u64 = 1 << 6;

/// Run-state bits; a task with none of these set is idle.
const LIFECYCLE: u64 = RUNNING | NOTIFIED | COMPLETE;

const WAKER_SHIFT: u32 = 8;
const WAKER_ONE: u64 = 1 << WAKER_SHIFT;
const WAKER_MASK: u64 = ((1 << 24) - 1) << WAKER_SHIFT;

const REF_SHIFT: u32 = 32;
const REF_ONE: u64 = 1 << REF_SHIFT;

/// One waker: a reference plus a waker count, changed together.
const WAKER_REF: u64 = REF_ONE | WAKER_ONE;

/// A new task: scheduled, a `JoinHandle` wants its output, and three references
/// (registry, scheduler, `JoinHandle`).
const INITIAL: u64 = NOTIFIED | JOIN_INTEREST | (3 * REF_ONE);

/// The state word.
pub(crate) struct State {
    val: AtomicU64,
}

/// A copy of the state word.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot(u64);

/// Result of [`State::transition_to_running`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ToRunning {
    /// Poll the future.
    Poll,
    /// The task was cancelled while queued: drop the future instead of polling it.
    Cancel,
    /// Someone else completed or claimed the task; drop the `Notified` reference.
    Skip,
}

/// Result of [`State::transition_to_idle`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ToIdle {
    /// The task is idle and the caller's reference was released.
    Idle,
    /// The task is idle and no waker for it exists, so nothing can wake it again. The caller
    /// still holds its reference (to report the orphan) and must drop it afterwards.
    Orphaned,
    /// The task was woken while it ran: schedule it again with the caller's reference.
    Notified,
    /// The task was cancelled while it ran: drop the future (the caller keeps RUNNING).
    Cancel,
}

/// What a wake asks of the caller.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum WakeAction {
    /// Nothing: the task is running, queued or complete.
    Nothing,
    /// Push a new `Notified` for the task (its reference is already accounted for).
    Submit,
    /// The last reference is gone: free the task.
    Dealloc,
}

/// Result of [`State::drop_waker`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum WakerDropped {
    /// Nothing more to do.
    Done,
    /// This was the last reference: free the task.
    Dealloc,
    /// This was the last waker of an idle task, which is now orphaned. The waker's reference
    /// was kept so the caller can report the task; it must drop it afterwards.
    Orphaned,
}

impl State {
    pub(crate) fn new() -> State {
        State {
            val: AtomicU64::new(INITIAL),
        }
    }

    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.val.load(Acquire))
    }

    /// Applies `f` in a CAS loop until it returns `None` (no change) or the CAS succeeds.
    /// Returns `f`'s output and the snapshot it was computed from.
    fn update<T>(&self, mut f: impl FnMut(Snapshot) -> (T, Option<Snapshot>)) -> (T, Snapshot) {
        let mut curr = self.load();
        loop {
            let (out, next) = f(curr);
            let Some(next) = next else {
                return (out, curr);
            };
            match self
                .val
                .compare_exchange_weak(curr.0, next.0, AcqRel, Acquire)
            {
                Ok(_) => return (out, curr),
                Err(actual) => curr = Snapshot(actual),
            }
        }
    }

    /// A machine took a `Notified` for this task and wants to poll it.
    pub(crate) fn transition_to_running(&self) -> ToRunning {
        self.update(|s| {
            if s.has(RUNNING | COMPLETE) {
                return (ToRunning::Skip, None);
            }
            let next = Snapshot((s.0 | RUNNING) & !NOTIFIED);
            if s.has(CANCELLED) {
                (ToRunning::Cancel, Some(next))
            } else {
                (ToRunning::Poll, Some(next))
            }
        })
        .0
    }

    /// The future returned `Pending`.
    pub(crate) fn transition_to_idle(&self) -> ToIdle {
        self.update(|s| {
            debug_assert!(s.has(RUNNING));
            if s.has(CANCELLED) {
                return (ToIdle::Cancel, None);
            }
            let next = s.0 & !RUNNING;
            if s.has(NOTIFIED) {
                // The reference we hold becomes the new `Notified`'s.
                return (ToIdle::Notified, Some(Snapshot(next)));
            }
            if s.wakers() == 0 {
                return (ToIdle::Orphaned, Some(Snapshot(next)));
            }
            (ToIdle::Idle, Some(Snapshot(next - REF_ONE)))
        })
        .0
    }

    /// The future finished (or was dropped). Returns the state before the transition, which
    /// tells whether a `JoinHandle` wants the output and whether its waker is set.
    pub(crate) fn transition_to_complete(&self) -> Snapshot {
        let prev = Snapshot(self.val.fetch_xor(RUNNING | COMPLETE, AcqRel));
        debug_assert!(prev.has(RUNNING) && !prev.has(COMPLETE));
        prev
    }

    /// `Waker::wake_by_ref`.
    pub(crate) fn transition_to_notified_by_ref(&self) -> WakeAction {
        self.update(|s| {
            if s.has(COMPLETE | NOTIFIED) {
                (WakeAction::Nothing, None)
            } else if s.has(RUNNING) {
                // The machine polling it will reschedule it when the poll ends.
                (WakeAction::Nothing, Some(Snapshot(s.0 | NOTIFIED)))
            } else {
                let next = Snapshot((s.0 | NOTIFIED) + REF_ONE);
                (WakeAction::Submit, Some(next))
            }
        })
        .0
    }

    /// `Waker::wake`: consumes the waker's reference and its place in the waker count.
    pub(crate) fn transition_to_notified_by_val(&self) -> WakeAction {
        self.update(|s| {
            debug_assert!(s.wakers() > 0 && s.refs() > 0);
            if s.has(RUNNING) {
                let next = Snapshot((s.0 | NOTIFIED) - WAKER_REF);
                (WakeAction::Nothing, Some(next))
            } else if s.has(COMPLETE | NOTIFIED) {
                let next = Snapshot(s.0 - WAKER_REF);
                let action = if next.refs() == 0 {
                    WakeAction::Dealloc
                } else {
                    WakeAction::Nothing
                };
                (action, Some(next))
            } else {
                // Idle: the waker's reference moves to the new `Notified`.
                let next = Snapshot((s.0 | NOTIFIED) - WAKER_ONE);
                (WakeAction::Submit, Some(next))
            }
        })
        .0
    }

    /// `JoinHandle::abort`: mark cancelled; if the task is idle, schedule it so that a
    /// machine drops its future promptly.
    pub(crate) fn transition_to_notified_and_cancel(&self) -> WakeAction {
        self.update(|s| {
            if s.has(COMPLETE | CANCELLED) {
                (WakeAction::Nothing, None)
            } else if s.has(RUNNING | NOTIFIED) {
                let next = Snapshot(s.0 | NOTIFIED | CANCELLED);
                (WakeAction::Nothing, Some(next))
            } else {
                let next = Snapshot((s.0 | NOTIFIED | CANCELLED) + REF_ONE);
                (WakeAction::Submit, Some(next))
            }
        })
        .0
    }

    /// Runtime shutdown: mark cancelled, and claim the task (set RUNNING) if nobody runs it
    /// and it is not complete. Returns whether the caller claimed it and must drop the future.
    pub(crate) fn transition_to_shutdown(&self) -> bool {
        self.update(|s| {
            if s.has(COMPLETE) {
                (false, None)
            } else if s.has(RUNNING) {
                (false, Some(Snapshot(s.0 | CANCELLED)))
            } else {
                (true, Some(Snapshot(s.0 | CANCELLED | RUNNING)))
            }
        })
        .0
    }

    /// Clears JOIN_INTEREST (and JOIN_WAKER) unless the task is complete. `Err` means it is
    /// complete and the caller (the `JoinHandle`) must drop the output.
    pub(crate) fn unset_join_interest(&self) -> Result<Snapshot, Snapshot> {
        let (ok, prev) = self.update(|s| {
            debug_assert!(s.has(JOIN_INTEREST));
            if s.has(COMPLETE) {
                (false, None)
            } else {
                (true, Some(Snapshot(s.0 & !(JOIN_INTEREST | JOIN_WAKER))))
            }
        });
        if ok {
            Ok(prev)
        } else {
            Err(prev)
        }
    }

    /// Publishes the join waker the `JoinHandle` just wrote. `Err` if the task completed.
    pub(crate) fn set_join_waker(&self) -> Result<(), ()> {
        self.set_or_unset_join_waker(true)
    }

    /// Takes the join waker slot back for writing. `Err` if the task completed.
    pub(crate) fn unset_join_waker(&self) -> Result<(), ()> {
        self.set_or_unset_join_waker(false)
    }

    fn set_or_unset_join_waker(&self, set: bool) -> Result<(), ()> {
        let (ok, _) = self.update(|s| {
            debug_assert!(s.has(JOIN_INTEREST) && s.has(JOIN_WAKER) != set);
            if s.has(COMPLETE) {
                (false, None)
            } else if set {
                (true, Some(Snapshot(s.0 | JOIN_WAKER)))
            } else {
                (true, Some(Snapshot(s.0 & !JOIN_WAKER)))
            }
        });
        if ok {
            Ok(())
        } else {
            Err(())
        }
    }

    /// The `JoinHandle` takes (or drops) the output of the completed task. `Err` if it had
    /// already taken it.
    pub(crate) fn take_output(&self) -> Result<(), ()> {
        let prev = Snapshot(self.val.fetch_or(OUTPUT_TAKEN, AcqRel));
        debug_assert!(prev.has(COMPLETE) && prev.has(JOIN_INTEREST));
        if prev.has(OUTPUT_TAKEN) {
            Err(())
        } else {
            Ok(())
        }
    }

    /// Drops `n` references; returns whether they were the last ones.
    pub(crate) fn ref_dec(&self, n: u64) -> bool {
        let prev = Snapshot(self.val.fetch_sub(n * REF_ONE, AcqRel));
        debug_assert!(prev.refs() >= n);
        prev.refs() == n
    }

    /// One more plain reference (an `AbortHandle`'s).
    pub(crate) fn ref_inc(&self) {
        let prev = Snapshot(self.val.fetch_add(REF_ONE, Relaxed));
        if prev.refs() >= u32::MAX as u64 {
            // Like `Arc`, an overflow can only come from leaking handles in a loop.
            std::process::abort();
        }
    }

    /// `Waker::clone`: one more waker and one more reference, in one operation.
    pub(crate) fn clone_waker(&self) {
        let prev = Snapshot(self.val.fetch_add(WAKER_REF, Relaxed));
        if prev.wakers() >= (WAKER_MASK >> WAKER_SHIFT) - 1 || prev.refs() >= u32::MAX as u64 {
            // Like `Arc`, an overflow can only come from leaking wakers in a loop.
            std::process::abort();
        }
    }

    /// `Waker::drop`: one waker and one reference fewer (a single successful CAS).
    pub(crate) fn drop_waker(&self) -> WakerDropped {
        self.update(|s| {
            debug_assert!(s.wakers() > 0 && s.refs() > 0);
            if s.wakers() == 1 && s.is_idle() {
                (WakerDropped::Orphaned, Some(Snapshot(s.0 - WAKER_ONE)))
            } else if s.refs() == 1 {
                (WakerDropped::Dealloc, Some(Snapshot(s.0 - WAKER_REF)))
            } else {
                (WakerDropped::Done, Some(Snapshot(s.0 - WAKER_REF)))
            }
        })
        .0
    }
}

impl Snapshot {
    fn has(self, bits: u64) -> bool {
        self.0 & bits != 0
    }

    pub(crate) fn is_idle(self) -> bool {
        self.0 & LIFECYCLE == 0
    }
    pub(crate) fn is_running(self) -> bool {
        self.has(RUNNING)
    }
    pub(crate) fn is_notified(self) -> bool {
        self.has(NOTIFIED)
    }
    pub(crate) fn is_complete(self) -> bool {
        self.has(COMPLETE)
    }
    pub(crate) fn is_cancelled(self) -> bool {
        self.has(CANCELLED)
    }
    pub(crate) fn is_join_interested(self) -> bool {
        self.has(JOIN_INTEREST)
    }
    pub(crate) fn has_join_waker(self) -> bool {
        self.has(JOIN_WAKER)
    }
    pub(crate) fn is_output_taken(self) -> bool {
        self.has(OUTPUT_TAKEN)
    }
    pub(crate) fn wakers(self) -> u64 {
        (self.0 & WAKER_MASK) >> WAKER_SHIFT
    }
    pub(crate) fn refs(self) -> u64 {
        self.0 >> REF_SHIFT
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("running", &self.is_running())
            .field("notified", &self.is_notified())
            .field("complete", &self.is_complete())
            .field("cancelled", &self.is_cancelled())
            .field("join_interest", &self.is_join_interested())
            .field("join_waker", &self.has_join_waker())
            .field("output_taken", &self.is_output_taken())
            .field("wakers", &self.wakers())
            .field("refs", &self.refs())
            .finish()
    }
}
