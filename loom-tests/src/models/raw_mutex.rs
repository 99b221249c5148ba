//! `RawMutex` (`runtime/src/sync/mutex/raw.rs`): goro's `Mutex` lock, Go's normal and
//! starvation modes. Each task locks like `mutex/lock.rs`: `try_lock`, else
//! `lock_or_queue`, then sleeps until woken and asks `poll_wait` again, for as long as it
//! says `Waiting`; it then writes the guarded data (a loom cell: two holders at once are a
//! loom data race) and unlocks. A task whose wait was woken may instead give up
//! (`cancel`, as a dropped lock future does). Checks: mutual exclusion; every task that
//! does not give up gets the lock (a lost wake-up or a lost grant leaves a sleeper that
//! nobody wakes: a loom deadlock); the lock ends free with no flags; every waker the queue
//! kept is dropped.

use super::check;
use super::probe::Probe;
use crate::raw_mutex::{Arrival, RawMutex, WaitPoll};
use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::thread;

/// The lock and the data it guards.
struct Guarded {
    raw: RawMutex,
    data: UnsafeCell<usize>,
}

/// How a task waits.
#[derive(Clone, Copy)]
enum Waits {
    /// Until it holds the lock; `starving`: its waits count as long ones.
    UntilLocked { starving: bool },
    /// Gives up after its first wake (or grant).
    GivesUpWhenWoken,
}

/// One task: takes the lock (or gives up) as described above, `rounds` times. Returns how
/// often it held it.
fn task(g: &Guarded, probe: &std::sync::Arc<Probe>, waits: Waits, rounds: usize) -> usize {
    (0..rounds).filter(|_| lock_once(g, probe, waits)).count()
}

/// One lock and unlock (or give up); whether it held the lock.
fn lock_once(g: &Guarded, probe: &std::sync::Arc<Probe>, waits: Waits) -> bool {
    let waker = probe.waker();
    let locked = g.raw.try_lock()
        || match g.raw.lock_or_queue(&waker) {
            Arrival::Locked => true,
            Arrival::Queued(ticket) => loop {
                probe.sleep();
                match waits {
                    Waits::GivesUpWhenWoken => {
                        g.raw.cancel(ticket);
                        break false;
                    }
                    Waits::UntilLocked { starving } => {
                        if g.raw.poll_wait(ticket, &waker, starving) == WaitPoll::Locked {
                            break true;
                        }
                    }
                }
            },
        };
    if locked {
        g.data.with_mut(|d| {
            // SAFETY: the lock is held: this is the only access (loom checks it).
            unsafe { *d += 1 }
        });
        g.raw.unlock();
    }
    locked
}

/// Runs `others` as tasks on their own threads (one lock each) and `main` on this one (two
/// locks in a row: it barges in on a waiter woken by its own unlock), then checks the lock
/// ended free, counts the holds and checks every waker was dropped.
fn run(main: Waits, others: &[Waits]) {
    let g = Arc::new(Guarded {
        raw: RawMutex::new(),
        data: UnsafeCell::new(0),
    });
    let probes: Vec<_> = (0..=others.len()).map(|_| Probe::sleeper("lock")).collect();
    let threads: Vec<_> = others
        .iter()
        .zip(&probes[1..])
        .map(|(&w, probe)| {
            let (g, probe) = (g.clone(), probe.clone());
            thread::spawn(move || task(&g, &probe, w, 1))
        })
        .collect();
    let mut held = task(&g, &probes[0], main, 2);
    for t in threads {
        held += t.join().unwrap();
    }
    assert_eq!(g.raw.state(), 0, "the lock ends free, with no waiters");
    // SAFETY: every task was joined: no one else touches the data.
    assert_eq!(g.data.with(|d| unsafe { *d }), held);
    for probe in &probes {
        probe.assert_all_dropped();
    }
}

const NORMAL: Waits = Waits::UntilLocked { starving: false };
const STARVING: Waits = Waits::UntilLocked { starving: true };

#[test]
fn three_tasks_in_normal_mode_all_get_the_lock() {
    check(3, || run(NORMAL, &[NORMAL, NORMAL]));
}

#[test]
fn starving_waiters_are_handed_the_lock() {
    check(3, || run(NORMAL, &[STARVING, STARVING]));
}

#[test]
fn a_waiter_that_gives_up_passes_its_wake_or_grant_on() {
    check(3, || run(NORMAL, &[Waits::GivesUpWhenWoken, STARVING]));
}
