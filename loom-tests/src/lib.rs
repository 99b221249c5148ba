//! # goro-loom-tests: loom models of goro's lock-free protocols
//!
//! goro keeps every lock-free protocol of the scheduler and of the poller in a small file
//! that takes its atomics and locks from `crate::sync` and from nowhere else (see
//! `sched/src/sync.rs` and `netpoll/src/sync.rs`):
//!
//! | file                       | protocol                                                       |
//! |----------------------------|----------------------------------------------------------------|
//! | `sched/src/task/state.rs`  | the task state word (run state, join interest, wakers, refs)   |
//! | `sched/src/runnext.rs`     | a processor's `runnext` slot (owner `replace`, thieves `take`) |
//! | `sched/src/park.rs`        | park/unpark of one processor (poller, watch or sleeper)        |
//! | `sched/src/idle.rs`        | idle processors and spinning (Go's `pidle`/`nmspinning`)       |
//! | `sched/src/ownership.rs`   | a processor's owner, run state and retake (monitor's handoff)  |
//! | `sched/src/time/entry.rs`  | one timer: ARMED → FIRED or CANCELLED, and its waker slot      |
//! | `netpoll/src/readiness.rs` | an I/O registration's readiness word and read/write wakers     |
//! | `runtime/src/sync/owner.rs` | a lock's owner word against the deadlock walk (`goro::sync`) |
//! | `runtime/src/sync/mutex/raw.rs` | `goro::sync::Mutex`'s lock: state word and waiter queue |
//!
//! ## The shim trick
//!
//! This crate compiles **those exact files** — no copy, no `cfg(loom)` in them — with
//! `#[path = "../../sched/src/…"] mod …;` (or `../../netpoll/src/…`). Inside them
//! `crate::sync` resolves to this crate's `sync` module, which re-exports
//! `loom::sync::atomic::{fence, AtomicPtr, AtomicU64, AtomicUsize, Ordering}` and wraps
//! `loom::sync::Mutex` so that `lock()` returns the guard directly (parking_lot style, as the
//! shipped code expects). So every atomic operation and every lock of the shipped protocol
//! code is a loom operation, and loom explores their interleavings and the weak-memory
//! behaviours its C11 model allows. The models are plain `#[test]`s (no `--cfg loom`, no
//! environment variables): each one runs `loom::model::Builder` with a preemption bound set
//! in code (see `models::check`).
//!
//! The rest of the runtime (the task harness, the processors, crossbeam-deque, mio) is not
//! loom-aware, so each model has a small *harness* in `src/models/` that drives the protocol
//! the way the runtime does, written to follow the runtime's code line by line, with
//! stand-ins for the parts loom cannot run: the task allocation and its future/output are
//! `loom::cell::UnsafeCell`s (so loom's race detector checks every exclusive access the
//! state word is supposed to grant), the run queues and the injector are loom mutexes or
//! counters, and the poller's eventfd is a `Mutex<bool>` + `Condvar` ("a wake is remembered
//! until the next wait"), the tasks' `std::task::Waker`s are probes that count their wakes
//! and drops and can block their thread until woken (`models::probe`), and the kernel's
//! socket buffers are counters. A parked processor (or a sleeping task) that nobody will
//! ever wake shows up as a loom deadlock, i.e. as a lost wake-up.
//!
//! ## The models
//!
//! * `models::task_state` — drives `State` like `task/harness.rs`, `waker.rs`, `join.rs` and
//!   `raw.rs` do: a scheduler polling the task when it holds a `Notified`, wakers cloned,
//!   woken by value or by reference and dropped on other threads, `abort`, the `JoinHandle`
//!   registering, replacing and dropping its waker and being dropped, and the shutdown
//!   sweep. Checks: never two polls at once and no poll after completion (the future is a
//!   loom cell, plus a counter); at most one `Notified` exists at a time, so a wake of an
//!   idle task yields exactly one; a wake is never lost (the task always completes); the
//!   allocation is freed exactly once, only at zero references, and never used after (an
//!   "alive" loom cell read before every access and written by the free); the future and the
//!   output are each dropped exactly once; an aborted idle task gets its future dropped;
//!   `Orphaned` is reported exactly when the task is left idle with no waker (never while a
//!   waker exists anywhere, never twice), and no waker is used after an orphan report; the
//!   waker count in the state word matches the wakers that exist; the `JoinHandle` is woken
//!   (or sees the output) whenever it registered a waker.
//! * `models::runnext` — owner `replace` against thieves' `take` with a boxed stand-in item:
//!   every item put in the slot comes out exactly once (taken, displaced back to the owner,
//!   or left for the final drain), and its contents are visible to whoever takes it.
//! * `models::park` — `ParkState` under `Processor::park`/`Shared::unpark`, with the poller
//!   modelled as a remembered signal plus a poll lock: a processor that loops "check for
//!   work, else park" always ends up seeing work published before an `unpark` and never
//!   blocks forever; also with two unparkers, with I/O events ending the wait (spurious
//!   wake-ups, stale signals), and with another thread stealing a poll of the processor's
//!   poller (`try_poll_now`), which must hand back a wake signal it consumed. With two
//!   processors: the first to park claims the poller watch and the other sleeps in its
//!   sleeper, and every unpark reaches the place where its processor blocks, also when an
//!   I/O event makes the watch change hands while an unpark's signal is on its way; and a
//!   sleeping processor offered the watch by its leaving holder moves there (`move_park`)
//!   without losing an unpark that races the move.
//! * `models::idle` — two processors running the loop of `machine.rs`/`processor/`
//!   (`next_task`, `search` with `try_begin_spinning`, `run_task`/`stop_spinning`, and `park`
//!   with `transition_to_parked`, the `has_visible_work` re-check, `ParkState` in the watch
//!   or a sleeper, and `transition_from_parked`) against producers that push to the injector and call
//!   `notify_work`, with crossbeam-deque's injector and local queues modelled as index
//!   counters with crossbeam's memory orderings. Checks: every task is run exactly once —
//!   with every processor going to sleep while the work arrives, with bursts and concurrent
//!   producers, and with one processor stuck for good in a poll (the other must run the
//!   rest, whether it comes from the injector or from the stuck processor's local queue);
//!   every processor leaves its loop at shutdown; and at the end the (unparked, spinning)
//!   counts match what the processors themselves believe.
//! * `models::readiness` — `Readiness` driven like `goro-netpoll`'s polling thread
//!   (`dispatch` per event, `shutdown`) and the I/O types' edge-triggered loop (`poll_ready`;
//!   try the operation against a stand-in kernel count; `clear_readiness` on `WouldBlock`;
//!   sleep until woken on `Pending`), with real `std::task::Waker`s that count their wakes and
//!   drops (`models::probe`). Checks: a dispatch racing `poll_ready` (check, store the waker,
//!   re-check) never loses the wake-up, and wakes the waker the task just stored, not a
//!   replaced one; a stale-tick `clear_readiness` racing a dispatch never erases the fresh
//!   readiness, and read/write loops on one registration always get all their data and room
//!   (a loss is a loom deadlock); the read and write waiters never take each other's
//!   wake-ups, and one direction's clear never erases the other's readiness; `shutdown` wakes
//!   both waiters and `SHUTDOWN` is never cleared; every waker is dropped exactly once.
//! * `models::timer` — `TimerEntry` driven like `time/mod.rs` (`Sleep::poll`: fired? else
//!   `set_waker`, then `is_fired` again; drop or reset: `cancel`) and `time/queue.rs` (`fire`
//!   then wake outside the lock; shutdown `clear`: `cancel`). Checks: exactly one of
//!   `fire`/`cancel` wins, also with two cancels; a `Sleep` re-polled with a new waker (or
//!   the same task's) while its timer fires either sees FIRED on its re-check or has that
//!   most recent waker woken; a fire wakes exactly one waker, and none is woken once a cancel
//!   won; every waker is dropped exactly once (the armed one as soon as fire or cancel wins).
//!
//! * `models::ownership` — a processor's `Ownership` under `Processor::run_task` (begin and
//!   end a poll), a wake on the stuck machine's thread (`enter_local`, else the injector) and
//!   the monitor's `retake` followed by the next owner's `acquire`. Checks: exactly one of
//!   the end-of-poll CAS and the retake wins; a task woken during the poll is queued exactly
//!   once; no push to the local queue races the next owner's use of it (a loom cell).
//!
//! * `models::lock_owner` — `OwnerWord` under `goro::sync`'s unlock (clear the owner; give
//!   the lock back under the side mutex only if anyone watches) racing the deadlock walk's
//!   proof (watch the lock, read the owner under the side mutex) and a registered waiter's
//!   watch. Checks: a walk that sees the owner never sees the lock given back while it
//!   holds the side mutex, also with two walkers and a waiter leaving; the unlock always
//!   completes.
//!
//! * `models::raw_mutex` — `RawMutex` driven like `mutex/lock.rs` (try, queue, sleep until
//!   woken, ask again; or give up when woken) by three tasks, one of which locks twice in a
//!   row and so barges in on the waiter its unlock woke; waiters whose waits count as short
//!   (normal mode) or long (starvation mode: unlocks grant the lock). Checks: mutual
//!   exclusion (the guarded data is a loom cell); every task that does not give up gets the
//!   lock, and one that gives up passes its wake or grant on (else a loom deadlock); the
//!   lock ends free with no flags; every waker the queue kept is dropped. Fails with the
//!   `QUEUED` mark made apart from its check of the lock, with a woken waiter's give-up not
//!   passing the wake on, and with a grant that frees the lock.
//!
//! A lost wake-up shows up as a loom deadlock ("deadlock; threads = [...]"). Loom 0.7 cannot
//! unwind out of a deadlock and aborts the test binary, so a failing `park` or `idle` model,
//! or a failing read/write loop of `readiness`, ends the whole run; the first message printed
//! names the test.
//!
//! Run with `cargo test -p goro-loom-tests --release`: about 14 s on two cores (the debug
//! build takes about 1.5 min). Each model's preemption bound is set in code.

/// The loom versions of what `sched/src/sync.rs` exports to the protocol files.
pub(crate) mod sync {
    pub(crate) mod atomic {
        pub(crate) use loom::sync::atomic::{
            fence, AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering,
        };
    }

    pub(crate) mod hint {
        pub(crate) use loom::hint::spin_loop;
    }

    /// The blocking mutex, by the name `runtime/src/sync/mutex/raw.rs` uses.
    pub(crate) mod blocking {
        pub(crate) use super::Mutex;
    }

    /// `loom::sync::Mutex` with a parking_lot-style `lock()` (no poisoning).
    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Mutex<T> {
            Mutex(loom::sync::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> loom::sync::MutexGuard<'_, T> {
            self.0.lock().unwrap()
        }
    }
}

// The shipped protocol files, compiled against `sync` above. Not every function of them is
// used by the models, hence `dead_code`.
#[allow(dead_code)]
#[path = "../../sched/src/task/state.rs"]
mod state;

#[allow(dead_code)]
#[path = "../../runtime/src/sync/owner.rs"]
mod owner;

#[allow(dead_code)]
#[path = "../../runtime/src/sync/mutex/raw.rs"]
mod raw_mutex;

#[allow(dead_code)]
#[path = "../../sched/src/ownership.rs"]
mod ownership;

#[allow(dead_code)]
#[path = "../../sched/src/runnext.rs"]
mod runnext;

#[allow(dead_code)]
#[path = "../../sched/src/park.rs"]
mod park;

#[allow(dead_code)]
#[path = "../../sched/src/idle.rs"]
mod idle;

#[allow(dead_code)]
#[path = "../../sched/src/time/entry.rs"]
mod timer_entry;

#[allow(dead_code)]
#[path = "../../netpoll/src/readiness.rs"]
mod readiness;

#[cfg(test)]
mod models;
