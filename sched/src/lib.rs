//! # goro-sched: the G-P-M scheduler
//!
//! This crate is goro's scheduler, built on the model Go's runtime uses (see Go's
//! `runtime/proc.go`), adapted to Rust futures.
//!
//! ## The three actors
//!
//! * **G — task** ([`task`]). A spawned future in one allocation with its header: an atomic
//!   state word (run state, join interest, reference count, and the number of outstanding
//!   wakers), the task id, its spawn location, and a slot for its output.
//! * **P — processor** (`processor`). The right to run tasks. There are `processors(n)`
//!   of them (GOMAXPROCS). Each owns a local FIFO run queue (a crossbeam-deque `Worker`), a
//!   `runnext` slot, a poller (`goro-netpoll`), its timers, and its counters.
//! * **M — machine** (`machine`). An OS thread that holds a processor and runs the
//!   scheduling loop on it. A processor is a value machines hand to each other, not a thread.
//!
//! ## The scheduling loop
//!
//! A machine repeatedly takes the next task of its processor and polls it once. Sources, in
//! order: the global injector every 61st tick (fairness for tasks scheduled from outside),
//! the `runnext` slot (at most 3 times in a row), the local queue, the injector. With
//! nothing there the processor *spins*: it steals half of a random victim's queue, checks the
//! injector, and finally takes the `runnext` task of a victim stuck in one poll. At most half
//! of the unparked processors spin at once. A processor that finds nothing parks until new
//! work, I/O or its earliest timer wakes it: with one processor, in its poller's
//! `epoll_wait`; with several, one parked processor at a time waits in the *poller watch*
//! (an epoll set over every processor's poller) and the others in their own sleepers, so a
//! burst of I/O wakes one thread, which wakes more only if there is work for them.
//!
//! ## Waking
//!
//! A task woken on a machine of the same runtime goes to that processor's `runnext` (it runs
//! next, on the same core as the data its waker just produced); the task it displaces goes to
//! the tail of the local queue. A wake from any other thread goes to the injector. Whenever
//! work is added, one parked processor is woken if none is spinning (`idle`); a spinner
//! that finds work wakes the next one if it was the last spinner. The park protocol
//! (`park`) keeps wake-ups from being lost or paid for twice. Wakes during or after shutdown
//! are harmless: the task is dropped from the queue it lands in.
//!
//! ## Fairness
//!
//! A task gets a cooperative budget of 128 operations on goro's leaf futures per poll
//! ([`coop`]); when it runs out the operation returns `Pending` and the task goes to the
//! back of the queue. `yield_now` goes to the back of the queue, and if nothing else is
//! queued there the processor first fires its due timers, polls for I/O and takes tasks
//! from the injector, so a yield lets everything runnable go first.
//!
//! ## Task lifetime and shutdown
//!
//! Every live task is in the `registry` (sharded intrusive lists) from spawn until it
//! completes. Shutdown stops the machines (each finishes the poll it is in), then walks the
//! registry and drops every future exactly once; their `JoinHandle`s resolve as cancelled.
//!
//! ## I/O
//!
//! Every processor owns a poller (`goro-netpoll`); a socket registers with the poller of
//! the processor that created it ([`io::current_poller`]). Every 61 ticks a processor polls
//! for I/O without blocking (its own poller, or with several processors the pollers the
//! watch reports, unless a parked processor waits in the watch already); a parked processor
//! waits for I/O as described above, and the one in the watch polls the pollers of busy
//! processors too (poll stealing). Events wake tasks on the polling thread, so they land on
//! the polling processor.
//!
//! ## Nothing waits behind a stuck task: the monitor and spare machines
//!
//! A future that blocks its thread (a synchronous DNS lookup, `std::thread::sleep`, a
//! blocking driver call) or computes for long inside one poll cannot be interrupted. goro's
//! answer is Go's: the processor is a value, and another machine can take it. The *monitor*
//! (`monitor`, Go's sysmon) is a thread without a processor that samples every processor's
//! `run_state` every 250 µs while any processor is busy. A processor seen in the same poll
//! twice is in a long poll, and then:
//!
//! * work waiting behind the poll (its queue, its `runnext` task, its due timers, or ready
//!   I/O that nobody watches) gets an idle processor woken for it, which steals it, within
//!   a round or two;
//! * a machine whose thread CPU clock stood still for 50 µs and that `/proc` shows asleep in
//!   the kernel loses its processor to a spare machine at once (Go retakes a P in a system
//!   call the same way, with `entersyscall` to tell it; we read the clock instead);
//! * a poll running on a CPU for `handoff_after` (10 ms) loses it too, since its poller and
//!   timers need an owner when every processor is busy.
//!
//! `block_in_place` hands the processor off before the closure runs. A spare machine always
//! waits (`machine`), so a handoff never waits for a thread to be created; the machine a
//! handoff leaves finishes its poll and becomes the next spare. If nobody waits in the
//! poller watch during a long poll, the monitor offers it to a sleeping processor
//! (`Shared::offer_watch`), so the stuck processor's sockets are served by an idle one.
//!
//! ## Blocking work
//!
//! `spawn_blocking` closures run on a separate pool of threads without a processor
//! (`blocking`), so they never stall the tasks of a processor.
//!
//! ## Watching itself
//!
//! The runtime keeps its statistics always on (`stats`): per-processor counters, a record
//! per task (polls, wakes, idle time, and the *suspension point*: the goro leaf future it
//! last waited on, [`task::traced`]), sampled latency histograms, and per-spawn-site counts.
//! Because the state word counts wakers, the moment a task is idle with no waker left, an
//! *orphan* that nothing can ever wake, is the result of one atomic operation; it is
//! recorded then, and cancelled if `reclaim_orphans` is on. The monitor runs a *stats cycle*
//! every `stats_interval`: it records the cycle's pause (the longest time a processor had
//! runnable work and started no poll), raises the stall alarm, and groups idle tasks by
//! spawn site and suspension point to find suspected leaks. [`Handle::stats`],
//! [`Handle::leak_report`], [`Handle::pauses`] and [`Handle::task_dump`] read it all.
//!
//! ## Concurrency checking
//!
//! The lock-free protocols live in small files that import their atomics from `sync`:
//! `task/state.rs` (task state machine), `runnext.rs`, `idle.rs` and `park.rs`. The
//! `goro-loom-tests` crate compiles those exact files against loom and checks them.

mod block_on;
mod blocking;
mod config;
mod context;
pub mod coop;
mod idle;
pub mod io;
mod low_water;
mod machine;
mod monitor;
mod park;
mod processor;
mod registry;
mod runnext;
mod scheduler;
mod shared;
mod sleeper;
mod stats;
mod sync;
pub mod task;
mod thread_clock;
pub mod time;

pub use config::{
    Config, MonitorHook, ThreadStartHook, DEFAULT_HANDOFF_AFTER, MAX_PROCESSORS, MIN_HANDOFF_AFTER,
};
pub use monitor::{BLOCKED_GRACE, STARVED_AFTER};
pub use scheduler::{block_in_place, current_task_id, Handle, Scheduler};
