//! # goro-sched: the G-P-M scheduler
//!
//! This crate is goro's scheduler, built on the model Go's runtime uses (see Go's
//! `runtime/proc.go`), adapted to Rust futures. `docs/architecture.md` in the repository
//! draws a request's whole path through it.
//!
//! ## Words
//!
//! | here | Go | tokio |
//! |------|----|-------|
//! | task (G) | goroutine | task |
//! | processor (P), `Processor` | P | a worker's `Core` |
//! | machine (M), `Machine` | M | worker thread |
//! | spare machine | idle M | — |
//! | monitor | sysmon | — |
//! | injector | global run queue | inject queue |
//! | `runnext` | `runnext` | LIFO slot |
//! | spinning | spinning M | searching worker |
//! | poller (one per processor) | netpoll (one) | I/O driver (one) |
//! | handoff | `handoffp` | `block_in_place`'s core handoff |
//!
//! ## Crates
//!
//! ```text
//! goro (runtime/: the public API) ──► goro-sched (this crate) ──► goro-netpoll (pollers)
//!          │                                   │
//!          └──────────────► goro-stats ◄───────┘   (report types, counters, leak detector)
//! ```
//!
//! This crate registers wakers with `goro-netpoll`'s pollers and knows nothing of sockets;
//! `goro-stats` knows nothing of tasks or processors. Of the three modules called `stats`,
//! `goro-stats` holds the report types and judges the numbers, this crate's `stats` measures
//! the scheduler and assembles the reports, and `goro::stats` is the user's door to them
//! (plus `GORO_SCHEDTRACE` and the debug HTTP server).
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
//! Every processor owns a poller (`goro-netpoll`). A socket a task creates (`bind`,
//! `connect`) registers with the poller of the processor that created it
//! ([`io::current_poller`]; from a thread without a processor, one picked round-robin). An
//! *accepted* socket registers with the poller that has the fewest registrations
//! ([`io::least_loaded_poller`]): one task usually accepts every connection, and keeping
//! them all on its processor would leave the others to get connection work only by
//! stealing. A socket stays on its poller for its life. Every 61 ticks a processor polls
//! for I/O without blocking (its own poller, or with several processors the pollers the
//! watch reports, unless a parked processor waits in the watch already); a parked processor
//! waits for I/O as described above, and the one in the watch polls the pollers of busy
//! processors too (poll stealing). Events wake tasks on the polling thread, so they land on
//! the polling processor: a connection task spawned by the acceptor moves, on its first
//! wake, to the processor that polls its socket, and stays. A processor that queued several
//! tasks from one I/O batch wakes another processor for them only if they still wait 30 µs
//! later (`Processor::dispatch`): a parked thread's wake-up costs about as much as serving
//! a short batch.
//!
//! ## The poller watch
//!
//! With several processors, each parked one blocking in its own poller would make a burst
//! of I/O on *n* pollers wake *n* threads. So the runtime has one
//! [`PollerWatch`](goro_netpoll::PollerWatch), an epoll set over every processor's poller.
//! A parking processor claims it if it is free and blocks there (timeout: its earliest
//! timer); otherwise it blocks in its sleeper (`sleeper.rs`), away from I/O. When the
//! watch reports pollers with events, the holder leaves it and polls them without blocking
//! (its own or others'); their tasks land on it. While the holder runs tasks nobody waits in
//! the watch, as in Go and tokio; the 61-tick polls serve I/O meanwhile, and if the holder's
//! poll runs long the monitor offers the free watch to a sleeping processor
//! (`Shared::offer_watch`). `park.rs` records where each processor blocks (poller, watch
//! or sleeper), so an unpark signals the right place.
//!
//! ## Timers
//!
//! Each processor keeps its timers in its own queue ([`time`], `time/queue.rs`): the first
//! poll of a `Sleep` on a machine arms its entry on that processor (from a thread without
//! one, on a processor picked round-robin, which is woken if the timer is its earliest). The
//! owner fires due timers on every turn of its loop, before its next task, into `runnext`;
//! it parks no longer than its earliest deadline; a spinning processor fires the overdue
//! timers of busy ones, and the monitor counts due timers as work waiting behind a long poll.
//! A fired timer wakes its task from the firing thread, so the task lands there. Deadlines
//! are kept in nanoseconds; a parked processor wakes at the millisecond boundary after its
//! deadline (epoll's resolution). An entry (`time/entry.rs`) is ARMED until exactly one of
//! fire and cancel wins it.
//!
//! ## Nothing waits behind a stuck task: the monitor and spare machines
//!
//! A future that blocks its thread (a synchronous DNS lookup, `std::thread::sleep`, a
//! blocking driver call) or computes for long inside one poll cannot be interrupted. goro's
//! answer is Go's: the processor is a value, and another machine can take it. The *monitor*
//! (`monitor`, Go's sysmon) is a thread without a processor that samples every processor's
//! `run_state` while any processor is busy: every 250 µs for a second after a stall (a
//! handoff, or a long poll seen computing), every millisecond in a program whose polls are
//! all short (a round costs a thread wake-up; the first stall after a long calm is seen a
//! little later). A processor seen in the same poll twice is in a long poll, and then:
//!
//! * work waiting behind the poll (its queue, its `runnext` task, its due timers, or ready
//!   I/O that nobody watches) gets an idle processor woken for it, which steals it, within
//!   a round or two;
//! * a machine whose thread CPU clock stood still for 50 µs and that `/proc` shows asleep in
//!   the kernel loses its processor to a spare machine at once (Go retakes a P in a system
//!   call the same way, with `entersyscall` to tell it; we read the clock instead);
//! * a poll seen for `handoff_after` (10 ms) loses it too, since its poller and timers need
//!   an owner when every processor is busy; unless its thread only waits for a CPU (its
//!   clock stood still and `/proc` says runnable): a thread preempted in a poll of
//!   microseconds is no stuck task, and a new machine would wait for a CPU as well.
//!
//! A handoff is one CAS on the processor's `run_state` (`ownership.rs`): the monitor swaps
//! the long poll's value for "handed off" and gives the processor, queue, poller, timers and all, to a spare
//! machine, which resumes the scheduling loop on it. The stuck machine learns of it only
//! when its poll ends and its own end-of-poll CAS fails (wakes made on its thread meanwhile
//! go to the injector, see `ownership.rs`); then it becomes a spare itself. A spare
//! machine always waits (`machine`): the runtime starts with one, and a handoff that takes
//! the last one starts a replacement after the processor is on its way, so a handoff never
//! waits for a thread to be created; spares beyond one exit after a while without work.
//!
//! [`block_in_place`] is the same handoff, asked for by the task itself: the processor goes
//! to a spare before the closure runs, the task finishes its poll on this thread, and this
//! machine then becomes a spare. tokio does the same in `block_in_place`, but only when the
//! code asks; goro's monitor does it for code that did not know it blocks.
//!
//! If nobody waits in the poller watch during a long poll, the monitor offers it to a
//! sleeping processor (`Shared::offer_watch`), so the stuck processor's sockets are served
//! by an idle one.
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
//! spawn site, suspension point and wait op (`goro_stats::GroupKey`) to find suspected
//! leaks. [`Handle::stats`],
//! [`Handle::leak_report`], [`Handle::pauses`] and [`Handle::task_dump`] read it all.
//!
//! ## Concurrency checking
//!
//! The lock-free protocols live in small files that import their atomics and locks from
//! `sync`: `task/state.rs` (task state machine), `runnext.rs`, `idle.rs`, `park.rs`,
//! `ownership.rs` (a processor's owner and the monitor's retake) and `time/entry.rs` (a
//! timer's ARMED → FIRED or CANCELLED). The `goro-loom-tests` crate
//! compiles those exact files against loom and checks them.

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
mod ownership;
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
#[cfg(test)]
mod wake_counter;

pub use block_on::block_thread_on;
pub use config::{
    Config, MonitorHook, ThreadStartHook, DEFAULT_HANDOFF_AFTER, MAX_PROCESSORS, MIN_HANDOFF_AFTER,
};
pub use monitor::{BLOCKED_GRACE, STARVED_AFTER};
pub use scheduler::{block_in_place, current_task_id, Handle, Scheduler};
