//! The readiness word and its waker slots (`netpoll/src/readiness.rs`).
//!
//! The harness plays the two sides the way `goro-netpoll` and the runtime's I/O types do: the
//! polling thread calls [`Readiness::dispatch`] once per event (and [`Readiness::shutdown`] at
//! deregistration), and a task runs the edge-triggered loop "`poll_ready`; try the operation;
//! on `WouldBlock`, `clear_readiness` the event it acted on and wait again". The task's wakers
//! are [`Probe`]s (real `std::task::Waker`s that count wakes and drops). Checks:
//!
//! * a dispatch racing `poll_ready` (check, store the waker, re-check) never loses the wake-up:
//!   the task either returns `Ready` or its waker — the one it just stored, not an older one —
//!   is woken; every dispatch that finds a waker wakes exactly one;
//! * a stale `clear_readiness` (the tick of an earlier event) racing a dispatch never erases
//!   the fresh readiness, and a task looping on `WouldBlock` never misses data that arrived
//!   (as a loom deadlock if it would sleep forever);
//! * the read and the write waiter never take each other's wake-ups;
//! * `shutdown` wakes both waiters, and `SHUTDOWN` is never cleared;
//! * every waker is dropped exactly once (replaced, woken by value, or dropped with the
//!   registration).

use super::check;
use super::probe::Probe;
use crate::readiness::{Direction, Readiness, Ready, ReadyEvent};
use loom::sync::atomic::{AtomicUsize, Ordering::AcqRel};
use loom::sync::Arc;
use loom::thread;
use std::task::{Context, Poll, Waker};

fn poll_ready(r: &Readiness, waker: &Waker, dir: Direction) -> Poll<ReadyEvent> {
    r.poll_ready(&mut Context::from_waker(waker), dir)
}

/// The polling thread dispatching `ready` (one poller event) on another thread.
fn spawn_dispatch(r: &Arc<Readiness>, ready: Ready) -> thread::JoinHandle<()> {
    let r = r.clone();
    thread::spawn(move || r.dispatch(ready))
}

/// A task waiting on `dir` with its own waker, on another thread; returns what the wait
/// returned.
fn spawn_wait(
    r: &Arc<Readiness>,
    task: &std::sync::Arc<Probe>,
    dir: Direction,
) -> thread::JoinHandle<Poll<ReadyEvent>> {
    let (r, waker) = (r.clone(), task.waker());
    thread::spawn(move || poll_ready(&r, &waker, dir))
}

/// A READABLE event races a task's first `poll_ready`: the task sees it or is woken.
#[test]
fn dispatch_races_poll_ready() {
    check(3, || {
        let r = Arc::new(Readiness::new());
        let task = Probe::new("task");
        let waker = task.waker();

        let poller = spawn_dispatch(&r, Ready::READABLE);
        let res = poll_ready(&r, &waker, Direction::Read);
        poller.join().unwrap();

        match res {
            Poll::Ready(ev) => {
                assert_eq!(ev.ready(), Ready::READABLE);
                assert_eq!(ev.tick(), 1);
            }
            Poll::Pending => assert_eq!(task.wakes(), 1, "lost wake-up: Pending, never woken"),
        }
        assert!(task.wakes() <= 1, "one dispatch woke the task twice");
        drop((waker, r));
        task.assert_all_dropped();
    });
}

/// The task already waits with an old waker (its previous poll went `Pending`) and polls
/// again with a new one (it moved) while the event comes in: if it stays `Pending`, its new
/// waker is the one woken, and the dispatch wakes exactly one of the two in any case.
#[test]
fn dispatch_races_poll_ready_with_a_new_waker() {
    check(3, || {
        let r = Arc::new(Readiness::new());
        let old = Probe::new("old waker");
        let new = Probe::new("new waker");
        assert!(poll_ready(&r, &old.waker(), Direction::Read).is_pending());

        let poller = spawn_dispatch(&r, Ready::READABLE);
        let res = poll_ready(&r, &new.waker(), Direction::Read);
        poller.join().unwrap();

        if res.is_pending() {
            assert_eq!(new.wakes(), 1, "lost wake-up: the new waker was not woken");
            assert_eq!(old.wakes(), 0, "the replaced waker was woken instead");
        }
        assert_eq!(old.wakes() + new.wakes(), 1);
        // The replaced waker was dropped by `poll_ready` (or taken and woken).
        if new.wakes() == 1 {
            old.assert_all_dropped();
        }
        drop(r);
        old.assert_all_dropped();
        new.assert_all_dropped();
    });
}

/// The task acted on READABLE at tick 1, got `WouldBlock` and clears that event while new
/// data's event (tick 2) comes in; then it waits again. The fresh readiness survives the
/// stale clear, and the wait ends.
#[test]
fn stale_clear_races_dispatch() {
    check(3, || {
        let r = Arc::new(Readiness::new());
        let task = Probe::new("task");
        let waker = task.waker();
        r.dispatch(Ready::READABLE);
        let Poll::Ready(seen) = poll_ready(&r, &waker, Direction::Read) else {
            panic!("READABLE was dispatched");
        };
        assert_eq!(seen.tick(), 1);

        let poller = spawn_dispatch(&r, Ready::READABLE);
        r.clear_readiness(seen);
        let res = poll_ready(&r, &waker, Direction::Read);
        poller.join().unwrap();

        assert!(
            r.current(Direction::Read).ready().is_readable(),
            "a stale clear erased the readiness of a newer dispatch"
        );
        assert_eq!(r.current(Direction::Read).tick(), 2);
        match res {
            Poll::Ready(ev) => assert!(ev.ready().is_readable()),
            Poll::Pending => assert_eq!(task.wakes(), 1, "lost wake-up after a clear"),
        }
        // A clear of the current tick does clear.
        let now = r.current(Direction::Read);
        r.clear_readiness(now);
        assert!(r.current(Direction::Read).ready().is_empty());
        drop((waker, r));
        task.assert_all_dropped();
    });
}

/// One direction's edge-triggered loop: wait, try the operation on the "kernel" count of what
/// is available (`swap(0)`: the bytes buffered, or the room to write), clear the event on
/// `WouldBlock`, sleep on `Pending`; until `want` units went through.
fn io_loop(
    r: &Readiness,
    (task, waker): (&Probe, &Waker),
    dir: Direction,
    kernel: &AtomicUsize,
    want: usize,
) {
    let mut done = 0;
    while done < want {
        match poll_ready(r, waker, dir) {
            Poll::Ready(ev) => match kernel.swap(0, AcqRel) {
                0 => r.clear_readiness(ev), // WouldBlock
                n => done += n,
            },
            Poll::Pending => task.sleep(),
        }
    }
}

/// The whole edge-triggered read loop against a peer that sends twice: the "kernel" counts
/// the bytes in the socket buffer, and each send is followed by its edge (a dispatch). The
/// reader reads what is there, clears on `WouldBlock`, and sleeps when `Pending` until its
/// waker is woken. It must read both sends: an erased readiness or a lost wake-up leaves it
/// asleep for good, which loom reports as a deadlock.
#[test]
fn read_loop_never_misses_data() {
    check(3, || {
        let r = Arc::new(Readiness::new());
        let buffered = Arc::new(AtomicUsize::new(0));
        let task = Probe::sleeper("reader");
        let waker = task.waker();

        let peer = {
            let (r, buffered) = (r.clone(), buffered.clone());
            thread::spawn(move || {
                for _ in 0..2 {
                    buffered.fetch_add(1, AcqRel);
                    r.dispatch(Ready::READABLE);
                }
            })
        };

        io_loop(&r, (&task, &waker), Direction::Read, &buffered, 2);
        peer.join().unwrap();
        drop((waker, r));
        task.assert_all_dropped();
    });
}

/// A reader task and a writer task loop on the same registration while the socket gets room
/// to write and the peer then sends twice (each followed by its edge; the reader may see the
/// first send, read it and hit `WouldBlock` at a tick whose word also holds WRITABLE). Both
/// must finish: a wake-up taken by the wrong direction, or the readiness of one direction
/// erased by the other's clear, leaves one asleep for good (a loom deadlock).
#[test]
fn read_and_write_loops_share_a_registration() {
    check(3, || {
        let r = Arc::new(Readiness::new());
        let buffered = Arc::new(AtomicUsize::new(0));
        let room = Arc::new(AtomicUsize::new(0));

        let peer = {
            let (r, buffered, room) = (r.clone(), buffered.clone(), room.clone());
            thread::spawn(move || {
                room.fetch_add(1, AcqRel);
                r.dispatch(Ready::WRITABLE);
                for _ in 0..2 {
                    buffered.fetch_add(1, AcqRel);
                    r.dispatch(Ready::READABLE);
                }
            })
        };
        let reader = {
            let (r, buffered) = (r.clone(), buffered.clone());
            thread::spawn(move || {
                let task = Probe::sleeper("reader");
                let waker = task.waker();
                io_loop(&r, (&task, &waker), Direction::Read, &buffered, 2);
                task
            })
        };
        let writer = Probe::sleeper("writer");
        let waker = writer.waker();
        io_loop(&r, (&writer, &waker), Direction::Write, &room, 1);

        peer.join().unwrap();
        let reader = reader.join().unwrap();
        drop((waker, r));
        reader.assert_all_dropped();
        writer.assert_all_dropped();
    });
}

/// A reader and a writer wait on the same registration while a READABLE event comes in: the
/// writer is not woken (and stays `Pending`), the reader is not lost. A later WRITABLE event
/// wakes the writer and not the reader.
#[test]
fn read_and_write_waiters_do_not_take_each_others_wakes() {
    check(3, || {
        let r = Arc::new(Readiness::new());
        let reader = Probe::new("reader");
        let writer = Probe::new("writer");

        let read_wait = spawn_wait(&r, &reader, Direction::Read);
        let write_wait = spawn_wait(&r, &writer, Direction::Write);
        r.dispatch(Ready::READABLE);
        let read_res = read_wait.join().unwrap();
        let write_res = write_wait.join().unwrap();

        match read_res {
            Poll::Ready(ev) => assert_eq!(ev.ready(), Ready::READABLE),
            Poll::Pending => assert_eq!(reader.wakes(), 1, "lost the reader's wake-up"),
        }
        assert!(write_res.is_pending(), "the writer saw READABLE");
        assert_eq!(writer.wakes(), 0, "READABLE woke the writer");

        let reader_wakes = reader.wakes();
        r.dispatch(Ready::WRITABLE);
        assert_eq!(writer.wakes(), 1, "lost the writer's wake-up");
        assert_eq!(reader.wakes(), reader_wakes, "WRITABLE woke the reader");

        drop(r);
        reader.assert_all_dropped();
        writer.assert_all_dropped();
    });
}

/// Shutdown races a reader and a writer starting to wait: both end, and every later wait
/// returns `SHUTDOWN` at once, even after a clear of a `SHUTDOWN` event.
#[test]
fn shutdown_wakes_both_waiters() {
    check(3, || {
        let r = Arc::new(Readiness::new());
        let reader = Probe::new("reader");
        let writer = Probe::new("writer");

        let read_wait = spawn_wait(&r, &reader, Direction::Read);
        let write_wait = spawn_wait(&r, &writer, Direction::Write);
        r.shutdown();
        for (res, task) in [(read_wait, &reader), (write_wait, &writer)] {
            match res.join().unwrap() {
                Poll::Ready(ev) => assert!(ev.ready().is_shutdown()),
                Poll::Pending => assert_eq!(task.wakes(), 1, "shutdown did not wake a waiter"),
            }
            assert!(task.wakes() <= 1);
        }

        assert!(r.is_shutdown());
        for dir in [Direction::Read, Direction::Write] {
            let probe = Probe::new("late waiter");
            let Poll::Ready(ev) = poll_ready(&r, &probe.waker(), dir) else {
                panic!("a wait after shutdown went Pending");
            };
            assert!(ev.ready().is_shutdown());
            r.clear_readiness(ev);
            assert!(r.current(dir).ready().is_shutdown(), "SHUTDOWN was cleared");
            probe.assert_all_dropped();
        }

        drop(r);
        reader.assert_all_dropped();
        writer.assert_all_dropped();
    });
}

/// Shutdown races a task clearing the readiness it acted on (same tick, so the clear may win
/// the CAS first): `SHUTDOWN` stays set whatever the order.
#[test]
fn shutdown_races_a_clear() {
    check(3, || {
        let r = Arc::new(Readiness::new());
        r.dispatch(Ready::READABLE | Ready::READ_CLOSED);
        let seen = r.current(Direction::Read);

        let poller = {
            let r = r.clone();
            thread::spawn(move || r.shutdown())
        };
        r.clear_readiness(seen);
        poller.join().unwrap();

        assert!(r.is_shutdown());
        let now = r.current(Direction::Read);
        assert_eq!(now.tick(), 2);
        assert!(now.ready().is_shutdown());
    });
}
