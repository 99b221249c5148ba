//! A processor's ownership protocol (`sched/src/ownership.rs`): the machine ending its poll
//! against the monitor's retake, and a wake pushing to the local queue on the stuck
//! machine's thread against the next owner.
//!
//! The harness follows `processor/mod.rs` and `monitor/retake.rs`: the owner runs
//! `begin_poll` / `end_poll` around a poll (`Processor::run_task`); a wake during the poll
//! goes to the local queue under `enter_local`, or to the injector when the processor was
//! lost (`Processor::schedule_local`); the monitor reads `run_state` and calls `retake`, and
//! on `Taken` the next machine `acquire`s the processor and uses its local queue. The local
//! queue is a loom `UnsafeCell` (a counter of the tasks in it), so loom reports a data race
//! if a push can overlap the next owner's use of the queue. Checks:
//!
//! * exactly one of the end-of-poll CAS and the retake wins;
//! * every task woken during the poll is queued exactly once, locally or in the injector;
//! * no push to the local queue overlaps (races with) the next owner's access to it.

use super::check;
use crate::ownership::{MachineId, Ownership, Retake, RunResult};
use loom::cell::UnsafeCell;
use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::sync::Arc;
use loom::thread;

/// The processor: its shared words, its local queue (a count of tasks, only the owner may
/// touch it) and the injector (a count of tasks, shared).
struct Proc {
    ownership: Ownership,
    local: UnsafeCell<usize>,
    injector: AtomicUsize,
}

impl Proc {
    fn new(owner: MachineId) -> Proc {
        let proc = Proc {
            ownership: Ownership::default(),
            local: UnsafeCell::new(0),
            injector: AtomicUsize::new(0),
        };
        proc.ownership.acquire(owner, 0);
        proc
    }

    /// `Processor::schedule_local` of a task woken on machine `machine`'s thread.
    fn wake(&self, machine: MachineId) {
        match self.ownership.enter_local(Some(machine)) {
            Some(access) => {
                // SAFETY: `access` proves this machine owns the processor; loom checks that
                // no other thread touches the cell meanwhile (the point of the model).
                self.local.with_mut(|n| unsafe { *n += 1 });
                drop(access);
            }
            None => {
                self.injector.fetch_add(1, SeqCst);
            }
        }
    }

    /// The next owner takes the processor and drains its local queue; returns how many
    /// tasks it found.
    fn next_owner_drains(&self, machine: MachineId) -> usize {
        self.ownership.acquire(machine, 0);
        // SAFETY: the processor was retaken and handed to `machine`; loom checks that no
        // push races this access.
        self.local.with_mut(|n| std::mem::take(unsafe { &mut *n }))
    }
}

fn machine(n: usize) -> MachineId {
    MachineId::new(n).unwrap()
}

/// The monitor retakes the processor while its owner ends the poll: exactly one wins, and
/// the loser's view agrees.
#[test]
fn a_retake_and_the_end_of_the_poll_exactly_one_wins() {
    check(3, || {
        let proc = Arc::new(Proc::new(machine(1)));
        let polling = proc.ownership.begin_poll(1);
        let monitor = {
            let proc = proc.clone();
            thread::spawn(move || proc.ownership.retake(proc.ownership.run_state()))
        };
        let ended = proc.ownership.end_poll(polling);
        let retake = monitor.join().unwrap();
        match (ended, retake) {
            (RunResult::Kept, Retake::PollEnded) => {
                assert!(proc.ownership.is_owned_by(Some(machine(1))));
            }
            (RunResult::HandedOff, Retake::Taken) => {
                assert!(!proc.ownership.is_owned_by(Some(machine(1))));
            }
            other => panic!("both or neither won: {other:?}"),
        }
    });
}

/// A task woken on the stuck machine's thread during its poll, while the monitor retakes
/// the processor and a spare machine starts using it: the task is queued exactly once, and
/// the push never races the new owner's access to the local queue.
#[test]
fn a_wake_during_a_retake_is_queued_once_and_never_races_the_next_owner() {
    check(3, || {
        let proc = Arc::new(Proc::new(machine(1)));
        let polling = proc.ownership.begin_poll(1);
        let monitor = {
            let proc = proc.clone();
            thread::spawn(move || match proc.ownership.retake(polling) {
                Retake::Taken => Some(proc.next_owner_drains(machine(2))),
                Retake::PollEnded => None,
            })
        };
        // The stuck poll wakes a task on its own thread, then ends.
        proc.wake(machine(1));
        let ended = proc.ownership.end_poll(polling);
        let drained_by_next = monitor.join().unwrap();
        let left_local = match ended {
            // Still the owner: nobody else touched the queue.
            // SAFETY: the poll kept the processor and every other thread has joined.
            RunResult::Kept => proc.local.with_mut(|n| unsafe { *n }),
            RunResult::HandedOff => 0,
        };
        let queued = drained_by_next.unwrap_or(0) + left_local + proc.injector.load(SeqCst);
        assert_eq!(queued, 1, "the woken task was lost or queued twice");
        assert_eq!(ended == RunResult::Kept, drained_by_next.is_none());
    });
}
