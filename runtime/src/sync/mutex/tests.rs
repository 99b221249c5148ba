//! The lock protocol of `raw.rs`, step by step, with wakers that count their wakes.

use super::raw::{Arrival, RawMutex, Ticket, WaitPoll, LOCKED, QUEUED, STARVING, WOKEN};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Wake, Waker};

#[derive(Default)]
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// A waiter: its waker and how often it was woken.
fn waiter() -> (Arc<Count>, Waker) {
    let count = Arc::new(Count::default());
    (count.clone(), Waker::from(count))
}

fn wakes(count: &Count) -> usize {
    count.0.load(SeqCst)
}

/// Queues a waiter on a taken lock.
fn queue(raw: &RawMutex, waker: &Waker) -> Ticket {
    match raw.lock_or_queue(waker) {
        Arrival::Queued(ticket) => ticket,
        Arrival::Locked => panic!("the lock was expected to be taken"),
    }
}

/// A lock held by the test.
fn taken() -> RawMutex {
    let raw = RawMutex::new();
    assert!(raw.try_lock());
    raw
}

/// The last waiter, woken, gets the lock; after its unlock the lock is free and unmarked.
fn last_waiter_locks(raw: &RawMutex, ticket: Ticket, waker: &Waker) {
    assert_eq!(raw.poll_wait(ticket, waker, false), WaitPoll::Locked);
    raw.unlock();
    assert_eq!(raw.state(), 0);
}

#[test]
fn a_free_lock_is_taken_at_once_and_a_taken_one_queues() {
    let raw = taken();
    assert!(!raw.try_lock());
    let (_, w) = waiter();
    let _ticket = queue(&raw, &w);
    assert_eq!(raw.state(), LOCKED | QUEUED);
    let raw = RawMutex::new();
    assert_eq!(raw.lock_or_queue(&w), Arrival::Locked);
}

#[test]
fn an_unlock_wakes_one_waiter_and_a_running_task_may_take_the_lock_first() {
    let raw = taken();
    let (c1, w1) = waiter();
    let (c2, w2) = waiter();
    let t1 = queue(&raw, &w1);
    let t2 = queue(&raw, &w2);
    raw.unlock();
    assert_eq!((wakes(&c1), wakes(&c2)), (1, 0));
    // Normal mode: a running task barges in before the woken waiter is back.
    assert!(raw.try_lock());
    // An unlock while a waiter is woken wakes no one else.
    raw.unlock();
    assert_eq!((wakes(&c1), wakes(&c2)), (1, 0));
    assert!(raw.try_lock());
    // The woken waiter lost: it goes back to the front, not starving.
    assert_eq!(raw.poll_wait(t1, &w1, false), WaitPoll::Waiting);
    assert_eq!(raw.state() & (WOKEN | STARVING), 0);
    raw.unlock();
    assert_eq!(
        (wakes(&c1), wakes(&c2)),
        (2, 0),
        "the first waiter is woken again first"
    );
    assert_eq!(raw.poll_wait(t1, &w1, false), WaitPoll::Locked);
    raw.unlock();
    assert_eq!(wakes(&c2), 1);
    last_waiter_locks(&raw, t2, &w2);
}

#[test]
fn a_waiter_that_waited_too_long_gets_the_lock_handed_over() {
    let raw = taken();
    let (c1, w1) = waiter();
    let t1 = queue(&raw, &w1);
    raw.unlock();
    assert!(raw.try_lock(), "normal mode: a running task barges in");
    assert_eq!(raw.poll_wait(t1, &w1, true), WaitPoll::Waiting);
    assert_ne!(
        raw.state() & STARVING,
        0,
        "a long wait switches to starvation mode"
    );
    assert!(
        !raw.try_lock(),
        "starvation mode: a running task cannot barge in"
    );
    // Starvation mode: the unlock hands the lock over; no one can barge in.
    raw.unlock();
    assert_eq!(wakes(&c1), 2);
    assert!(!raw.try_lock(), "the lock was handed to the waiter");
    let (_, w2) = waiter();
    let t2 = queue(&raw, &w2);
    assert_eq!(raw.poll_wait(t1, &w1, false), WaitPoll::Locked);
    assert_eq!(
        raw.state() & STARVING,
        0,
        "a short-waiting grantee ends the mode"
    );
    raw.unlock();
    last_waiter_locks(&raw, t2, &w2);
}

#[test]
fn a_woken_waiter_that_gives_up_passes_the_wake_on() {
    let raw = taken();
    let (c1, w1) = waiter();
    let (c2, w2) = waiter();
    let t1 = queue(&raw, &w1);
    let t2 = queue(&raw, &w2);
    raw.unlock();
    assert_eq!(wakes(&c1), 1);
    raw.cancel(t1);
    assert_eq!(
        wakes(&c2),
        1,
        "the next waiter is woken, or it would wait forever"
    );
    last_waiter_locks(&raw, t2, &w2);
}

#[test]
fn a_granted_waiter_that_gives_up_passes_the_lock_on() {
    let raw = taken();
    let (_, w1) = waiter();
    let (c2, w2) = waiter();
    let t1 = queue(&raw, &w1);
    raw.unlock();
    assert!(raw.try_lock());
    assert_eq!(raw.poll_wait(t1, &w1, true), WaitPoll::Waiting);
    let t2 = queue(&raw, &w2);
    raw.unlock(); // grants t1
    raw.cancel(t1);
    assert_eq!(wakes(&c2), 1, "the lock goes to the next waiter");
    last_waiter_locks(&raw, t2, &w2);
}

#[test]
fn a_queued_waiter_that_gives_up_leaves_the_queue() {
    let raw = taken();
    let (c1, w1) = waiter();
    let t1 = queue(&raw, &w1);
    raw.cancel(t1);
    assert_eq!(raw.state(), LOCKED);
    raw.unlock();
    assert_eq!(wakes(&c1), 0);
    assert_eq!(raw.state(), 0);
}

#[test]
fn a_waiter_polled_for_another_reason_keeps_its_place_with_its_new_waker() {
    let raw = taken();
    let (c1, w1) = waiter();
    let (c1b, w1b) = waiter();
    let t1 = queue(&raw, &w1);
    assert_eq!(raw.poll_wait(t1, &w1b, false), WaitPoll::Waiting);
    raw.unlock();
    assert_eq!((wakes(&c1), wakes(&c1b)), (0, 1));
    assert_eq!(raw.poll_wait(t1, &w1b, false), WaitPoll::Locked);
    raw.unlock();
}
