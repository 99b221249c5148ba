//! A timer's entry (`sched/src/time/entry.rs`): ARMED → FIRED by `fire`, or → CANCELLED by
//! `cancel`, and its waker slot.
//!
//! The harness follows `time/mod.rs` and `time/queue.rs`: [`poll_sleep`] is `Sleep::poll`
//! once armed (fired? else `set_waker`, then `is_fired` again), [`fire`] is `pop_due` + `wake_all`
//! (fire, then wake outside any lock), a `Sleep`'s drop or reset is `cancel`, and a timer
//! queue's shutdown `clear` is `cancel` too. Wakers are [`Probe`]s. Checks:
//!
//! * exactly one of `fire` and `cancel` wins (even with two cancels: a `Sleep` dropped while
//!   the queue is cleared);
//! * no lost wake-up: a `Sleep` that re-polls with a new waker (or the same task's waker
//!   again) while its timer fires either sees FIRED on its re-check or has *that* waker
//!   woken;
//! * a fire wakes exactly one waker, and after a cancel won no waker is ever woken;
//! * every waker is dropped exactly once (taken by the winner, replaced, or dropped with the
//!   entry).

use super::check;
use super::probe::Probe;
use crate::timer_entry::TimerEntry;
use loom::sync::Arc;
use loom::thread;
use std::task::Waker;

/// `Sleep::poll` of an armed sleep: whether it is `Ready`.
fn poll_sleep(entry: &TimerEntry, waker: &Waker) -> bool {
    if entry.is_fired() {
        return true;
    }
    entry.set_waker(waker);
    entry.is_fired()
}

/// The timer queue popping a due entry: fire, and wake the waker (outside the heap lock).
/// Returns whether the fire won.
fn fire(entry: &TimerEntry) -> bool {
    match entry.fire() {
        Some(waker) => {
            waker.wake();
            true
        }
        None => {
            assert!(
                entry.is_cancelled(),
                "fire lost, but the timer is not cancelled"
            );
            false
        }
    }
}

/// A timer thread firing `entry` on another thread.
fn spawn_fire(entry: &Arc<TimerEntry>) -> thread::JoinHandle<bool> {
    let entry = entry.clone();
    thread::spawn(move || fire(&entry))
}

/// The Sleep is dropped (cancel) while the queue fires it and the queue is cleared at
/// shutdown (another cancel): exactly one wins, and the armed waker is woken iff the fire
/// won, and dropped right away in every case.
#[test]
fn fire_races_two_cancels() {
    check(3, || {
        let task = Probe::new("armed waker");
        let entry = Arc::new(TimerEntry::new(task.waker()));

        let timer = spawn_fire(&entry);
        let clear = {
            let entry = entry.clone();
            thread::spawn(move || entry.cancel())
        };
        let dropped = entry.cancel();
        let fired = timer.join().unwrap();
        let cleared = clear.join().unwrap();

        let winners = [fired, cleared, dropped].iter().filter(|w| **w).count();
        assert_eq!(winners, 1, "fire={fired} clear={cleared} drop={dropped}");
        assert_eq!(entry.is_fired(), fired);
        assert_eq!(entry.is_cancelled(), !fired);
        assert_eq!(task.wakes(), usize::from(fired), "woken iff fired");
        // The winner took the waker out of the slot: dropped (or woken) already.
        task.assert_all_dropped();
    });
}

/// The timer fires while the (armed, pending) Sleep is polled again with the wakers in
/// `repolls`, one poll each, stopping at `Ready`; then it is dropped. If it is still pending
/// after its last poll, the waker of that poll is the one woken.
fn fire_races_repolls(repolls: &[&std::sync::Arc<Probe>], armed: &std::sync::Arc<Probe>) {
    let entry = Arc::new(TimerEntry::new(armed.waker()));

    let timer = spawn_fire(&entry);
    let mut ready = false;
    let mut last = armed;
    for probe in repolls {
        last = probe;
        if poll_sleep(&entry, &probe.waker()) {
            ready = true;
            break;
        }
    }
    assert!(timer.join().unwrap(), "nothing cancels here");

    if !ready {
        assert_eq!(
            last.wakes(),
            1,
            "lost wake-up: pending, its last waker not woken"
        );
    }
    // Several of the probes may be the same task's: count each once.
    let mut probes = vec![armed];
    for probe in repolls {
        if !probes.iter().any(|q| std::sync::Arc::ptr_eq(probe, q)) {
            probes.push(probe);
        }
    }
    let wakes: usize = probes.iter().map(|p| p.wakes()).sum();
    assert_eq!(wakes, 1, "a fire wakes exactly one waker");

    // The Sleep is dropped: too late to cancel.
    assert!(!entry.cancel());
    drop(entry);
    armed.assert_all_dropped();
    for probe in repolls {
        probe.assert_all_dropped();
    }
}

/// The task moved: its next poll brings a new waker.
#[test]
fn fire_races_repoll_with_a_new_waker() {
    check(3, || {
        let armed = Probe::new("armed waker");
        let new = Probe::new("new waker");
        fire_races_repolls(&[&new], &armed);
    });
}

/// The same task polls again (its waker `will_wake` the stored one: kept, not replaced).
#[test]
fn fire_races_repoll_with_the_same_waker() {
    check(3, || {
        let armed = Probe::new("armed waker");
        fire_races_repolls(&[&armed], &armed);
    });
}

/// Two polls with two new wakers (spurious wake-up, moved twice) while the timer fires.
#[test]
fn fire_races_two_repolls() {
    check(3, || {
        let armed = Probe::new("armed waker");
        let first = Probe::new("first new waker");
        let second = Probe::new("second new waker");
        fire_races_repolls(&[&first, &second], &armed);
    });
}

/// A `Timeout` whose future completed: its Sleep is polled once more (new waker) and then
/// dropped, while the timer fires. Exactly one of fire and cancel wins; if the cancel won,
/// no waker is ever woken; if the fire won, exactly one is.
#[test]
fn poll_then_drop_races_fire() {
    check(3, || {
        let armed = Probe::new("armed waker");
        let new = Probe::new("new waker");
        let entry = Arc::new(TimerEntry::new(armed.waker()));

        let timer = spawn_fire(&entry);
        let ready = poll_sleep(&entry, &new.waker());
        let cancelled = entry.cancel();
        let fired = timer.join().unwrap();

        assert!(fired != cancelled, "fire={fired} cancel={cancelled}");
        if ready {
            assert!(fired);
        }
        let wakes = armed.wakes() + new.wakes();
        if cancelled {
            assert_eq!(wakes, 0, "a waker was woken after the cancel won");
        } else {
            assert_eq!(wakes, 1, "a fire wakes exactly one waker");
        }
        drop(entry);
        armed.assert_all_dropped();
        new.assert_all_dropped();
    });
}

/// The queue is cleared at shutdown (cancel) while the Sleep is polled with a new waker and
/// then dropped: the Sleep stays pending, exactly one cancel wins, no waker is woken, and the
/// waker stored after the cancel is dropped with the entry.
#[test]
fn shutdown_clear_races_poll_and_drop() {
    check(3, || {
        let armed = Probe::new("armed waker");
        let new = Probe::new("new waker");
        let entry = Arc::new(TimerEntry::new(armed.waker()));

        let clear = {
            let entry = entry.clone();
            thread::spawn(move || entry.cancel())
        };
        assert!(!poll_sleep(&entry, &new.waker()), "a cancelled timer fired");
        let dropped = entry.cancel();
        let cleared = clear.join().unwrap();

        assert!(cleared != dropped, "clear={cleared} drop={dropped}");
        assert!(entry.is_cancelled());
        assert!(!fire(&entry), "fired after cancel");
        assert_eq!(armed.wakes() + new.wakes(), 0, "woken after cancel");
        drop(entry);
        armed.assert_all_dropped();
        new.assert_all_dropped();
    });
}
