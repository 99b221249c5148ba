//! The readiness word of one registration, and its read and write waker slots.
//!
//! ## The word
//!
//! One `AtomicU64`:
//!
//! ```text
//!  63                                   16 15          0
//! ┌──────────────────────────────────────┬─────────────┐
//! │ tick (48 bits, wrapping)             │ Ready bits  │
//! └──────────────────────────────────────┴─────────────┘
//! ```
//!
//! The ready bits are [`Ready::READABLE`], [`Ready::WRITABLE`], [`Ready::READ_CLOSED`],
//! [`Ready::WRITE_CLOSED`], [`Ready::ERROR`] and [`Ready::SHUTDOWN`]. The **tick** counts
//! dispatches: every [`Readiness::dispatch`] (one per poller event for this registration, and
//! the final [`Readiness::shutdown`]) ORs its bits in and adds one to the tick in one CAS.
//!
//! ## Protocol (edge-triggered)
//!
//! The poller registers sources edge-triggered, so the kernel reports a change of readiness
//! once; the word remembers it until a task proves it gone:
//!
//! * **Wait** ([`Readiness::poll_ready`]): load the word; if the direction's bits are set,
//!   return them with the tick they were seen at ([`ReadyEvent`]). Otherwise store the task's
//!   waker in the direction's slot and **load the word again**: a dispatch that ran between
//!   the first load and the store found the slot empty and woke nobody, but its bits are
//!   visible to the second load, so the task returns `Ready` instead of sleeping. A dispatch
//!   that takes the slot's lock after the store finds the waker and wakes it. Either way no
//!   wake-up is lost. (The slot's lock orders the two: the dispatch's CAS precedes its lock,
//!   the waiter's second load follows its own lock, and one lock section comes first.)
//! * **Dispatch** ([`Readiness::dispatch`], called by the polling thread): CAS in the bits and
//!   tick + 1, then for each direction whose mask meets the new bits take the waker out of its
//!   slot and wake it by value (after releasing the lock).
//! * **Clear** ([`Readiness::clear_readiness`]): a task whose operation returned `WouldBlock`
//!   clears the bits of the event it acted on, **only if the tick is still the event's tick**.
//!   If a dispatch came in meanwhile (tick + 1) the readiness it set may be newer than the
//!   `WouldBlock`, so nothing is cleared and the task simply tries again.
//!   [`Ready::SHUTDOWN`] is never cleared. The closed bits are cleared like the others: a
//!   closed direction makes its operation return at once (`Ok(0)`, `EPIPE`, ...), never
//!   `WouldBlock`, so a clear only happens when the bit was not final after all (mio reports a
//!   lone `EPOLLERR`, say a UDP socket's ICMP error, as "write closed"), and keeping it would
//!   spin the task.
//! * **Shutdown** ([`Readiness::shutdown`]): a dispatch of [`Ready::SHUTDOWN`], which both
//!   direction masks contain: every waiter wakes and every later wait returns at once.
//!
//! A waker left in a slot after its task stopped waiting (it returned `Ready` on the second
//! load, or was dropped) costs at most one spurious wake-up.
//!
//! ## The waker slots: a small mutex each
//!
//! Each slot is a `parking_lot::Mutex<Option<Waker>>` (1 byte of lock + 16 bytes of waker).
//! Cost: an uncontended lock and unlock is two atomic read-modify-writes (~10–20 ns); they are
//! paid when a wait goes `Pending` and when a dispatch's bits concern that direction. The lock
//! is contended only when a dispatch races a wait on the same registration and direction, and
//! the critical sections are a few instructions (no waker is woken or dropped under the lock).
//! A lock-free `AtomicWaker` would save little (its register and wake are also one or two
//! RMWs each) and is much harder to check; tokio's `ScheduledIo` makes the same choice.
//!
//! This file imports its atomics and lock only from `crate::sync`, and keeps its tests in
//! `readiness_tests.rs` (and no doc-tests), so that a loom model can compile it unchanged
//! with `#[path]`.

use crate::sync::atomic::{AtomicU64, Ordering};
use crate::sync::Mutex;
use std::fmt;
use std::task::{Context, Poll, Waker};

/// Bits 0..16 of the word hold [`Ready`] bits.
const READY_MASK: u64 = 0xFFFF;
/// The tick lives above the ready bits.
const TICK_SHIFT: u32 = 16;

/// A set of readiness bits (combine with `|`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Ready(u16);

impl Ready {
    /// No readiness.
    pub const EMPTY: Ready = Ready(0);
    /// The source can be read (or accepted from) without blocking.
    pub const READABLE: Ready = Ready(1);
    /// The source can be written without blocking.
    pub const WRITABLE: Ready = Ready(1 << 1);
    /// The read half is closed (the peer sent FIN, or both halves hung up).
    pub const READ_CLOSED: Ready = Ready(1 << 2);
    /// The write half is closed.
    pub const WRITE_CLOSED: Ready = Ready(1 << 3);
    /// The source has a pending error (`SO_ERROR`); it wakes both directions.
    pub const ERROR: Ready = Ready(1 << 4);
    /// The registration was deregistered or its runtime is shutting down; final.
    pub const SHUTDOWN: Ready = Ready(1 << 5);
    /// Every bit.
    pub const ALL: Ready = Ready(0b11_1111);

    /// Whether no bit is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every bit of `other` is set in `self`.
    pub const fn contains(self, other: Ready) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether `self` and `other` share a bit.
    pub const fn intersects(self, other: Ready) -> bool {
        self.0 & other.0 != 0
    }

    /// The bits set in both.
    pub const fn intersection(self, other: Ready) -> Ready {
        Ready(self.0 & other.0)
    }

    /// Whether [`Ready::READABLE`] is set.
    pub const fn is_readable(self) -> bool {
        self.intersects(Ready::READABLE)
    }

    /// Whether [`Ready::WRITABLE`] is set.
    pub const fn is_writable(self) -> bool {
        self.intersects(Ready::WRITABLE)
    }

    /// Whether [`Ready::READ_CLOSED`] is set.
    pub const fn is_read_closed(self) -> bool {
        self.intersects(Ready::READ_CLOSED)
    }

    /// Whether [`Ready::WRITE_CLOSED`] is set.
    pub const fn is_write_closed(self) -> bool {
        self.intersects(Ready::WRITE_CLOSED)
    }

    /// Whether [`Ready::ERROR`] is set.
    pub const fn is_error(self) -> bool {
        self.intersects(Ready::ERROR)
    }

    /// Whether [`Ready::SHUTDOWN`] is set.
    pub const fn is_shutdown(self) -> bool {
        self.intersects(Ready::SHUTDOWN)
    }

    const fn from_word(word: u64) -> Ready {
        Ready((word & READY_MASK) as u16)
    }
}

impl std::ops::BitOr for Ready {
    type Output = Ready;
    fn bitor(self, rhs: Ready) -> Ready {
        Ready(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for Ready {
    fn bitor_assign(&mut self, rhs: Ready) {
        self.0 |= rhs.0;
    }
}

impl fmt::Debug for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [(Ready, &str); 6] = [
            (Ready::READABLE, "READABLE"),
            (Ready::WRITABLE, "WRITABLE"),
            (Ready::READ_CLOSED, "READ_CLOSED"),
            (Ready::WRITE_CLOSED, "WRITE_CLOSED"),
            (Ready::ERROR, "ERROR"),
            (Ready::SHUTDOWN, "SHUTDOWN"),
        ];
        let mut first = true;
        f.write_str("Ready(")?;
        for (bit, name) in NAMES {
            if self.contains(bit) {
                if !first {
                    f.write_str(" | ")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        f.write_str(")")
    }
}

/// Which waker slot a wait uses, and which bits end it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Reading, accepting, receiving: ended by `READABLE | READ_CLOSED | ERROR | SHUTDOWN`.
    Read,
    /// Writing, connecting, sending: ended by `WRITABLE | WRITE_CLOSED | ERROR | SHUTDOWN`.
    Write,
}

impl Direction {
    /// The bits that end a wait in this direction.
    pub const fn mask(self) -> Ready {
        match self {
            Direction::Read => {
                Ready(Ready::READABLE.0 | Ready::READ_CLOSED.0 | Ready::ERROR.0 | Ready::SHUTDOWN.0)
            }
            Direction::Write => Ready(
                Ready::WRITABLE.0 | Ready::WRITE_CLOSED.0 | Ready::ERROR.0 | Ready::SHUTDOWN.0,
            ),
        }
    }
}

/// Readiness observed at one tick: what [`Readiness::poll_ready`] returns and what
/// [`Readiness::clear_readiness`] takes back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadyEvent {
    ready: Ready,
    tick: u64,
}

impl ReadyEvent {
    /// The bits seen (only those of the direction waited for).
    pub const fn ready(&self) -> Ready {
        self.ready
    }

    /// The dispatch count at which they were seen (48 bits, wrapping).
    pub const fn tick(&self) -> u64 {
        self.tick
    }
}

/// The readiness word and the two waker slots of one registration. See the module docs.
pub struct Readiness {
    word: AtomicU64,
    reader: Mutex<Option<Waker>>,
    writer: Mutex<Option<Waker>>,
}

impl Default for Readiness {
    fn default() -> Self {
        Readiness::new()
    }
}

impl Readiness {
    /// Nothing ready, tick 0, no wakers.
    pub fn new() -> Readiness {
        Readiness {
            word: AtomicU64::new(0),
            reader: Mutex::new(None),
            writer: Mutex::new(None),
        }
    }

    fn slot(&self, dir: Direction) -> &Mutex<Option<Waker>> {
        match dir {
            Direction::Read => &self.reader,
            Direction::Write => &self.writer,
        }
    }

    /// The direction's current readiness (possibly empty) and tick, without waiting.
    pub fn current(&self, dir: Direction) -> ReadyEvent {
        let word = self.word.load(Ordering::Acquire);
        ReadyEvent {
            ready: Ready::from_word(word).intersection(dir.mask()),
            tick: word >> TICK_SHIFT,
        }
    }

    /// `Ready` with the direction's bits if any is set; otherwise stores `cx`'s waker in the
    /// direction's slot (replacing the previous one unless it `will_wake` the same task),
    /// checks again, and returns `Pending` only if still nothing is set.
    pub fn poll_ready(&self, cx: &mut Context<'_>, dir: Direction) -> Poll<ReadyEvent> {
        let ev = self.current(dir);
        if !ev.ready.is_empty() {
            return Poll::Ready(ev);
        }
        let replaced = {
            let mut slot = self.slot(dir).lock();
            match &*slot {
                Some(w) if w.will_wake(cx.waker()) => None,
                _ => slot.replace(cx.waker().clone()),
            }
        };
        // Dropped outside the lock: a waker's drop may run arbitrary code.
        drop(replaced);
        // Closes the race with a dispatch that found the slot still empty.
        let ev = self.current(dir);
        if ev.ready.is_empty() {
            Poll::Pending
        } else {
            Poll::Ready(ev)
        }
    }

    /// Clears `ev`'s bits (except [`Ready::SHUTDOWN`]) if no dispatch happened since `ev` was
    /// observed (same tick); otherwise does nothing, since the newer readiness may be real.
    pub fn clear_readiness(&self, ev: ReadyEvent) {
        let clear = u64::from(ev.ready.0 & !Ready::SHUTDOWN.0);
        let mut cur = self.word.load(Ordering::Acquire);
        loop {
            if cur >> TICK_SHIFT != ev.tick {
                return;
            }
            let new = cur & !clear;
            if new == cur {
                return;
            }
            match self
                .word
                .compare_exchange_weak(cur, new, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Sets `ready`'s bits, advances the tick, and wakes (by value, outside the lock) the
    /// waker of each direction whose mask meets `ready`. Called by the polling thread for each
    /// event, so the woken task lands on the polling processor.
    pub fn dispatch(&self, ready: Ready) {
        let mut cur = self.word.load(Ordering::Acquire);
        loop {
            let new = advance(cur, ready);
            match self
                .word
                .compare_exchange_weak(cur, new, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break,
                Err(actual) => cur = actual,
            }
        }
        for dir in [Direction::Read, Direction::Write] {
            if ready.intersects(dir.mask()) {
                let waker = self.slot(dir).lock().take();
                if let Some(waker) = waker {
                    waker.wake();
                }
            }
        }
    }

    /// Marks the registration [`Ready::SHUTDOWN`] for good and wakes both waiters.
    pub fn shutdown(&self) {
        self.dispatch(Ready::SHUTDOWN);
    }

    /// Whether [`Readiness::shutdown`] ran.
    pub fn is_shutdown(&self) -> bool {
        Ready::from_word(self.word.load(Ordering::Acquire)).is_shutdown()
    }

    /// Drops both stored wakers (outside the locks) without waking them.
    pub fn clear_wakers(&self) {
        let r = self.reader.lock().take();
        let w = self.writer.lock().take();
        drop((r, w));
    }
}

/// The word after a dispatch of `ready` to `word`: bits ORed in, tick + 1 (wrapping).
pub(crate) const fn advance(word: u64, ready: Ready) -> u64 {
    let tick = (word >> TICK_SHIFT).wrapping_add(1);
    (tick << TICK_SHIFT) | (word & READY_MASK) | ready.0 as u64
}

impl fmt::Debug for Readiness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = self.word.load(Ordering::Acquire);
        f.debug_struct("Readiness")
            .field("ready", &Ready::from_word(word))
            .field("tick", &(word >> TICK_SHIFT))
            .finish_non_exhaustive()
    }
}
