//! Tests of the readiness word and waker slots (kept out of `readiness.rs`, which loom
//! models include as it is).

use crate::readiness::advance;
use crate::test_util::CountingWaker;
use crate::{Direction, Readiness, Ready};
use std::sync::{Arc, Barrier};
use std::task::{Context, Poll};

#[test]
fn dispatch_wakes_the_waiting_direction_only() {
    let r = Readiness::new();
    let (reader, rw) = CountingWaker::new();
    let (writer, ww) = CountingWaker::new();
    assert!(r
        .poll_ready(&mut Context::from_waker(&rw), Direction::Read)
        .is_pending());
    assert!(r
        .poll_ready(&mut Context::from_waker(&ww), Direction::Write)
        .is_pending());
    r.dispatch(Ready::READABLE);
    assert_eq!(reader.count(), 1);
    assert_eq!(writer.count(), 0);
    let ev = match r.poll_ready(&mut Context::from_waker(&rw), Direction::Read) {
        Poll::Ready(ev) => ev,
        Poll::Pending => panic!("readable after dispatch"),
    };
    assert_eq!(ev.ready(), Ready::READABLE);
    assert_eq!(ev.tick(), 1);
    r.dispatch(Ready::ERROR);
    assert_eq!(writer.count(), 1, "ERROR wakes the writer too");
    // The reader's waker was taken by the first dispatch: no second wake.
    assert_eq!(reader.count(), 1);
}

#[test]
fn stale_tick_clear_keeps_fresh_readiness() {
    let r = Readiness::new();
    r.dispatch(Ready::READABLE);
    let old = r.current(Direction::Read);
    r.dispatch(Ready::READABLE);
    r.clear_readiness(old);
    assert!(
        r.current(Direction::Read).ready().is_readable(),
        "stale clear erased"
    );
    let fresh = r.current(Direction::Read);
    r.clear_readiness(fresh);
    assert!(r.current(Direction::Read).ready().is_empty());
    assert_eq!(
        r.current(Direction::Read).tick(),
        fresh.tick(),
        "clear keeps the tick"
    );
}

#[test]
fn clear_only_touches_observed_bits_and_never_shutdown() {
    let r = Readiness::new();
    r.dispatch(Ready::READABLE | Ready::WRITABLE);
    let ev = r.current(Direction::Read);
    r.clear_readiness(ev);
    assert!(r.current(Direction::Write).ready().is_writable());
    r.shutdown();
    let ev = r.current(Direction::Write);
    assert!(ev.ready().is_shutdown());
    r.clear_readiness(ev);
    assert!(r.current(Direction::Read).ready().is_shutdown());
    assert!(r.is_shutdown());
}

#[test]
fn shutdown_wakes_both_waiters() {
    let r = Readiness::new();
    let (reader, rw) = CountingWaker::new();
    let (writer, ww) = CountingWaker::new();
    let _ = r.poll_ready(&mut Context::from_waker(&rw), Direction::Read);
    let _ = r.poll_ready(&mut Context::from_waker(&ww), Direction::Write);
    r.shutdown();
    assert_eq!((reader.count(), writer.count()), (1, 1));
}

#[test]
fn tick_wraps_without_touching_ready_bits() {
    let last_tick: u64 = !0xFFFF;
    let word = advance(last_tick | 0b1, Ready::WRITABLE);
    assert_eq!(word, 0b11, "tick 0, READABLE | WRITABLE");
}

/// A waiter and a dispatcher start together, many times: either the wait returns `Ready`
/// or the waker it stored is woken. Never neither.
#[test]
fn no_lost_wakeup_when_dispatch_races_the_wait() {
    const ROUNDS: usize = 20_000;
    let r = Arc::new(Readiness::new());
    let barrier = Arc::new(Barrier::new(2));
    let dispatcher = {
        let (r, barrier) = (r.clone(), barrier.clone());
        std::thread::spawn(move || {
            for _ in 0..ROUNDS {
                barrier.wait();
                r.dispatch(Ready::READABLE);
                barrier.wait();
            }
        })
    };
    let mut pending_then_woken = 0;
    for _ in 0..ROUNDS {
        let (counter, waker) = CountingWaker::new();
        barrier.wait();
        let res = r.poll_ready(&mut Context::from_waker(&waker), Direction::Read);
        barrier.wait();
        match res {
            Poll::Ready(ev) => r.clear_readiness(ev),
            Poll::Pending => {
                assert_eq!(counter.count(), 1, "wake-up lost");
                pending_then_woken += 1;
                let ev = r.current(Direction::Read);
                assert!(ev.ready().is_readable());
                r.clear_readiness(ev);
            }
        }
    }
    dispatcher.join().unwrap();
    // Only informative: both orders should occur on a multi-core machine.
    eprintln!("{pending_then_woken} of {ROUNDS} waits went pending before the dispatch");
}
