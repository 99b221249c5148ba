//! The lock itself: a state word and a queue of waiting tasks, with Go's two modes.
//!
//! tokio's `Mutex` is a fair semaphore: an unlock hands the lock to the longest waiter. Under
//! contention that makes every lock a task switch: once one task waits, the lock belongs to
//! a task that is not running, every other task that comes to lock it queues behind, and the
//! lock moves at the pace of the run queues (a *lock convoy*). goro's `Mutex` works like Go's
//! `sync.Mutex` (`src/sync/mutex.go`, "Mutex fairness"):
//!
//! * **Normal mode.** An unlock frees the lock and wakes the first waiter, which then
//!   *competes* for it with tasks that are running and arrive to lock it. A running task
//!   usually wins (it is already on a CPU and its data is in cache), so a lock that is held
//!   for short moments costs no task switch per lock. A waiter that lost goes back to the
//!   *front* of the queue. At most one waiter is woken and not yet back at a time
//!   ([`WOKEN`]): unlocks in between wake no one else.
//! * **Starvation mode.** A woken waiter that has waited longer than the caller's
//!   threshold (1 ms, Go's) and loses again switches the mutex to starvation mode
//!   ([`STARVING`]): unlocks hand the lock straight to the first waiter (it stays
//!   [`LOCKED`]; the waiter finds it *granted* when it runs), and arriving tasks queue at the
//!   back instead of competing. The mode ends when the queue is empty or a waiter is granted
//!   the lock after a short wait. So no waiter waits much longer than it would in a fair
//!   lock, and in normal mode (almost always) the lock is as fast as an uncontended one.
//!
//! The fast paths touch only the state word: a lock is one compare-and-swap that sets
//! [`LOCKED`] when neither it nor [`STARVING`] is set; an unlock is one compare-and-swap
//! from exactly `LOCKED` to 0. Everything else (queueing, waking, granting, a waiter giving
//! up) happens under the queue's mutex, and the bits other than `LOCKED` change only under
//! it. A task that queues sets [`QUEUED`] with a compare-and-swap that requires the lock to
//! be taken, so either the unlock's fast path fails (it sees `QUEUED` and takes the slow
//! path, which waits for the queue's mutex and finds the new waiter) or the waiter's swap
//! fails and it sees the lock free and takes it: no wake-up is lost.
//!
//! This file takes its atomics and its mutex from `crate::sync`, so `goro-loom-tests` can
//! compile it against loom's (`models::raw_mutex`): the lock is exclusive, every waiter gets
//! it, and no wake-up is lost, with waiters that give up and in both modes. It knows nothing
//! of owners, edges or budgets: `mod.rs` and `lock.rs` add those.

use crate::sync::atomic::{
    AtomicUsize,
    Ordering::{AcqRel, Acquire, Relaxed, Release},
};
use crate::sync::blocking::Mutex;
use std::collections::VecDeque;
use std::task::Waker;

/// Held by a task. Set by a lock's compare-and-swap, or kept set by an unlock that grants
/// the lock to a waiter (starvation mode); cleared by an unlock.
pub(crate) const LOCKED: usize = 1;
/// A waiter was woken (normal mode) and has not yet tried again or given up: an unlock then
/// wakes no one. Set and cleared under the queue's mutex.
pub(crate) const WOKEN: usize = 2;
/// Starvation mode: unlocks grant the lock to the first waiter, and lockers queue instead
/// of competing. Only set while `LOCKED` is; set and cleared under the queue's mutex.
pub(crate) const STARVING: usize = 4;
/// The queue has waiters. Set and cleared under the queue's mutex, set only while the lock
/// is taken.
pub(crate) const QUEUED: usize = 8;

/// A queued waiter's number, unique in its mutex's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ticket(u64);

/// The waiters, behind the queue's mutex.
pub(crate) struct Queue {
    waiting: VecDeque<(Ticket, Waker)>,
    /// The waiter woken by an unlock in normal mode and not yet back (with [`WOKEN`]).
    woken: Option<Ticket>,
    /// The waiter an unlock granted the lock to (starvation mode), not yet back.
    granted: Option<Ticket>,
    next: u64,
}

/// What [`RawMutex::lock_or_queue`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arrival {
    /// The lock was free: the caller holds it.
    Locked,
    /// The caller waits, with this ticket, until [`RawMutex::poll_wait`] says it holds the
    /// lock or it gives up with [`RawMutex::cancel`].
    Queued(Ticket),
}

/// What [`RawMutex::poll_wait`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WaitPoll {
    /// The waiter holds the lock (it won after a wake, or it was granted it).
    Locked,
    /// The waiter is queued (again): it will be woken.
    Waiting,
}

/// See the module docs.
pub(crate) struct RawMutex {
    state: AtomicUsize,
    queue: Mutex<Queue>,
}

impl Queue {
    /// No waiters.
    pub(crate) const fn new() -> Queue {
        Queue {
            waiting: VecDeque::new(),
            woken: None,
            granted: None,
            next: 0,
        }
    }
}

impl RawMutex {
    pub(crate) fn new() -> RawMutex {
        RawMutex::from_parts(AtomicUsize::new(0), Mutex::new(Queue::new()))
    }

    /// A free mutex of a state word of 0 and an empty queue that the caller made: in a
    /// `const` (`Mutex::const_new`), where only std's atomic and mutex can be made, which
    /// this file does not name (`goro-loom-tests` compiles it against loom's).
    pub(crate) const fn from_parts(state: AtomicUsize, queue: Mutex<Queue>) -> RawMutex {
        RawMutex { state, queue }
    }

    /// Takes the lock if it is free and not reserved for waiters (starvation mode).
    #[inline]
    pub(crate) fn try_lock(&self) -> bool {
        let mut s = self.state.load(Relaxed);
        loop {
            if s & (LOCKED | STARVING) != 0 {
                return false;
            }
            match self
                .state
                .compare_exchange_weak(s, s | LOCKED, Acquire, Relaxed)
            {
                Ok(_) => return true,
                Err(now) => s = now,
            }
        }
    }

    /// Under the queue's mutex: takes the lock if it is free, or sets `QUEUED` while it is
    /// taken (see the module docs). Returns whether the lock was taken.
    fn lock_or_mark_queued(&self) -> bool {
        let mut s = self.state.load(Relaxed);
        loop {
            let free = s & (LOCKED | STARVING) == 0;
            let new = if free { s | LOCKED } else { s | QUEUED };
            match self.state.compare_exchange_weak(s, new, AcqRel, Relaxed) {
                Ok(_) => return free,
                Err(now) => s = now,
            }
        }
    }

    /// Takes the lock, or queues the caller (at the back) to be woken through `waker`.
    pub(crate) fn lock_or_queue(&self, waker: &Waker) -> Arrival {
        let mut queue = self.queue.lock();
        if self.lock_or_mark_queued() {
            return Arrival::Locked;
        }
        let ticket = Ticket(queue.next);
        queue.next += 1;
        queue.waiting.push_back((ticket, waker.clone()));
        Arrival::Queued(ticket)
    }

    /// A queued waiter is polled. If it was granted the lock, it holds it; if it was woken,
    /// it competes for the lock and, if it loses, goes back to the front of the queue,
    /// switching the mutex to starvation mode if `starving` (it has waited too long);
    /// otherwise it stays queued, with `waker` from now on.
    pub(crate) fn poll_wait(&self, ticket: Ticket, waker: &Waker, starving: bool) -> WaitPoll {
        let mut queue = self.queue.lock();
        if queue.granted == Some(ticket) {
            queue.granted = None;
            if !starving {
                // A short wait: the mode has done its job.
                self.state.fetch_and(!STARVING, Relaxed);
            }
            return WaitPoll::Locked;
        }
        if queue.woken == Some(ticket) {
            queue.woken = None;
            self.state.fetch_and(!WOKEN, Relaxed);
            if self.lock_or_mark_queued() {
                self.unmark_if_empty(&queue);
                return WaitPoll::Locked;
            }
            if starving {
                self.state.fetch_or(STARVING, Relaxed);
            }
            queue.waiting.push_front((ticket, waker.clone()));
            return WaitPoll::Waiting;
        }
        if let Some((_, queued)) = queue.waiting.iter_mut().find(|(t, _)| *t == ticket) {
            if !queued.will_wake(waker) {
                queued.clone_from(waker);
            }
        }
        WaitPoll::Waiting
    }

    /// A waiter gives up (its lock future is dropped). A waiter that was granted the lock
    /// unlocks it; one that was woken passes the wake on.
    pub(crate) fn cancel(&self, ticket: Ticket) {
        let mut queue = self.queue.lock();
        let waker = if queue.granted == Some(ticket) {
            queue.granted = None;
            self.release(&mut queue)
        } else if queue.woken == Some(ticket) {
            queue.woken = None;
            self.state.fetch_and(!WOKEN, Relaxed);
            if self.state.load(Relaxed) & LOCKED == 0 {
                self.wake_first(&mut queue)
            } else {
                None
            }
        } else {
            if let Some(i) = queue.waiting.iter().position(|(t, _)| *t == ticket) {
                drop(queue.waiting.remove(i));
                self.unmark_if_empty(&queue);
            }
            None
        };
        drop(queue);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Unlocks (the caller holds the lock).
    #[inline]
    pub(crate) fn unlock(&self) {
        if self
            .state
            .compare_exchange(LOCKED, 0, Release, Relaxed)
            .is_err()
        {
            let waker = self.release(&mut self.queue.lock());
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }

    /// Unlocks a lock whose state is more than `LOCKED`, under the queue's mutex: grants it
    /// to the first waiter in starvation mode, else frees it and picks the first waiter to
    /// wake, unless one is already woken. Returns the waker to wake once the queue's mutex
    /// is unlocked.
    fn release(&self, queue: &mut Queue) -> Option<Waker> {
        if self.state.load(Relaxed) & STARVING != 0 {
            match queue.waiting.pop_front() {
                Some((ticket, waker)) => {
                    queue.granted = Some(ticket);
                    if queue.waiting.is_empty() {
                        self.state.fetch_and(!(QUEUED | STARVING), Release);
                    }
                    Some(waker)
                }
                None => {
                    self.state.fetch_and(!(LOCKED | STARVING), Release);
                    None
                }
            }
        } else {
            let s = self.state.fetch_and(!LOCKED, Release);
            if s & WOKEN == 0 {
                self.wake_first(queue)
            } else {
                None
            }
        }
    }

    /// Marks the first waiter (if any) woken and returns its waker.
    fn wake_first(&self, queue: &mut Queue) -> Option<Waker> {
        let (ticket, waker) = queue.waiting.pop_front()?;
        queue.woken = Some(ticket);
        self.state.fetch_or(WOKEN, Relaxed);
        self.unmark_if_empty(queue);
        Some(waker)
    }

    /// Clears `QUEUED` if the queue is empty.
    fn unmark_if_empty(&self, queue: &Queue) {
        if queue.waiting.is_empty() {
            self.state.fetch_and(!QUEUED, Relaxed);
        }
    }

    /// The state word now (for `Debug` and tests).
    #[cfg(test)]
    pub(crate) fn state(&self) -> usize {
        self.state.load(Relaxed)
    }
}
