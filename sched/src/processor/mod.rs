//! The processor (P): a local run queue, a `runnext` slot, a poller, timers, counters.
//!
//! A processor is split in two:
//! * [`Processor`], the part only its holder touches: the owning end of the local queue
//!   (a crossbeam-deque FIFO `Worker`), the scheduling tick, the `runnext` streak, its
//!   random-number state and whether it is spinning. A machine (M) holds it as a value; the
//!   value moves between threads when a processor is handed to another machine.
//! * [`ProcShared`], the part everyone may touch: the stealing end of the queue, the
//!   `runnext` slot, the park state and the poller, and the counters.
//!
//! ## Where the next task comes from
//!
//! [`Processor::next_task`] looks, in order, at: the global injector every 61st tick (so
//! tasks injected from outside are never starved by a busy local queue; 61 is Go's prime);
//! the `runnext` slot, unless it already supplied [`RUNNEXT_CAP`] tasks in a row (so two
//! tasks waking each other cannot starve the queue); the local queue; the injector. When all
//! are empty, a lone processor polls its poller without blocking; then [`Processor::search`]
//! spins: it fires other processors' overdue timers, steals half of a random victim's queue,
//! tries the injector again, and in the last round takes the `runnext` task of a victim that
//! has been stuck in the same poll all along. Then the processor parks.
//!
//! Besides, every 61st tick the processor polls for I/O without blocking, so a busy
//! processor never starves its sockets.
//!
//! ## Where a processor parks
//!
//! A lone processor parks in its own poller: one `epoll_wait` waits for its I/O, its
//! earliest timer and an unpark (the poller's eventfd).
//!
//! With several processors, each blocking in its own poller makes a burst of I/O on the
//! connections of *n* pollers wake *n* threads, even when one could serve it all. Measured
//! with HTTP keep-alive load at 2 processors: twice tokio's voluntary context switches per
//! request, from each processor sleeping and waking on its own half of the connections. So
//! the runtime has one [`PollerWatch`](goro_netpoll::PollerWatch), an epoll set over every
//! processor's poller, and a parked processor
//!
//! * claims the watch if no other thread holds it, and blocks there (timeout: its earliest
//!   timer; unpark: the watch's waker). When the wait returns it leaves the parked state and
//!   then polls, without blocking, the pollers that have events, its own or others' (poll
//!   stealing): their tasks land here, and another processor is woken for them only if
//!   some still wait in the queue 30 µs later (`Processor::dispatch`);
//! * otherwise blocks in its [`Sleeper`] (timeout: its earliest timer; unpark: a condition
//!   variable), away from I/O, which the processor in the watch serves.
//!
//! While the holder of the watch runs tasks, nobody waits there. That is what Go and tokio
//! do too, and it costs nothing as long as polls are short: the holder is back in a few
//! microseconds, and any processor's 61-tick poll of the watch serves the I/O meanwhile. A
//! long poll is different: the monitor sees it within a round or two (about 100-200 µs)
//! and, if the watch is free, offers it to a processor asleep in its sleeper
//! (`Shared::offer_watch`), which moves into the watch without running anything, so the
//! I/O of every poller, the stuck processor's too, is served again. Handing the watch on
//! eagerly, each time its holder leaves it (tokio 1.52's opt-in
//! `enable_eager_driver_handoff`), was measured here and rejected: at 20 000 HTTP
//! requests/s on 2 processors it costs a second thread wake per wake-up and raised the
//! median latency from about 40 to about 60 µs, to save at most those 100-200 µs when a
//! poll blocks. [`ParkState`] records where each processor blocks, so that an unpark
//! signals the right place.
//!
//! ## Ownership and handoff
//!
//! Processors live in the runtime's `Shared` and are handed between machines by index. The
//! machine that holds a processor is its *owner*; only the owner touches the owned half.
//! `ownership.rs` holds the protocol that makes taking a processor from a machine stuck in
//! a poll safe ([`Ownership`]: the run-state word, the owner's id and the push guard).
//! Why the monitor takes it ([`HandoffReason`]: asleep in the kernel, running past
//! `handoff_after`, or `block_in_place`) is counted per reason; `owner_clock` lets the
//! monitor read the owner's thread CPU clock to tell the first two apart.

mod dispatch;
mod parking;
mod steal;
mod timers;

use crate::context;
use crate::ownership::{LocalAccess, MachineId, Ownership, Retake, RunResult, RunState};
use crate::park::ParkState;
use crate::runnext::{Runnext, SlotItem};
use crate::shared::Shared;
use crate::sleeper::Sleeper;
use crate::stats::{ProcHistograms, POLL_SAMPLE};
use crate::task::{Notified, RawTask};
use crate::thread_clock::{MachineClock, NO_CLOCK};
use crate::time::queue::TimerQueue;
use crossbeam_deque::{Steal, Stealer, Worker};
use crossbeam_utils::CachePadded;
use goro_netpoll::Poller;
use goro_stats::ProcCounters;
use std::cell::Cell;
use std::io;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering::*};
use std::sync::Arc;
use std::time::Instant;

/// Check the injector first every this many ticks.
const GLOBAL_QUEUE_INTERVAL: u32 = 61;
/// At most this many tasks move from the injector to a local queue at once (Go and tokio
/// take at most half of a 256-slot local queue).
const INJECTOR_BATCH_MAX: usize = 128;
/// At most this many consecutive tasks come from `runnext`.
pub(crate) const RUNNEXT_CAP: u32 = 3;

/// Why a processor is taken from the machine inside a poll.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HandoffReason {
    /// The machine sleeps in the kernel (its CPU clock stopped): the monitor's quick rule.
    Blocked,
    /// The poll ran on a CPU for `handoff_after`.
    Running,
    /// The task called `block_in_place`.
    BlockInPlace,
}

/// The shared half of a processor. Every field says who writes it and who reads it ("the
/// owner" is the machine holding the processor, see `ownership.rs`).
pub(crate) struct ProcShared {
    /// Who owns the processor and whether it is inside a poll: written by the owner around
    /// each poll and by a retake (the monitor, `block_in_place`); read by the monitor each
    /// round and by every wake that wants the local queue (`ownership.rs`).
    pub(crate) ownership: Ownership,
    /// The owner's [`MachineClock`], packed (or `NO_CLOCK`): written by each new owner
    /// as it acquires the processor, read by the monitor to tell a poll asleep in the kernel
    /// from one running.
    pub(crate) owner_clock: AtomicU64,
    /// The stealing end of the local queue: thieves (searching processors) take half of it;
    /// the monitor and the idle protocol read whether it is empty. Only the owner pushes,
    /// through `Processor::local`.
    pub(crate) stealer: Stealer<Notified>,
    /// The LIFO slot: the owner (and wakes on its thread, under `LocalAccess`) put the task
    /// woken last here; the owner takes it first, and a thief takes it from a victim stuck in
    /// one poll (`runnext.rs`).
    pub(crate) runnext: Runnext<Notified>,
    /// Where the processor is parked, if it is: written by the processor as it parks and
    /// wakes, and by the monitor moving a sleeper into the poller watch; read by every
    /// unpark, to signal the right place (`park.rs`).
    pub(crate) park: ParkState,
    /// What a processor parked away from I/O blocks on: the processor sleeps in it, an unpark
    /// signals it (`sleeper.rs`).
    pub(crate) sleeper: Sleeper,
    /// This processor's epoll set: sockets register with the least loaded poller (`io.rs`);
    /// polled by the owner, by any processor holding the poller watch, and by the monitor
    /// when nobody polled it for `STARVED_AFTER`.
    pub(crate) poller: Arc<Poller>,
    /// This processor's timers: armed by tasks anywhere (under its lock); fired by the owner
    /// before each task, by searching processors when they are overdue, and read (the next
    /// deadline) by the monitor and by `park` for its timeout.
    pub(crate) timers: TimerQueue,
    /// Counters (polls, steals, parks, handoffs, ...): written by the owner without atomic
    /// read-modify-write, and by others through `add_shared`; read by stats snapshots.
    pub(crate) counters: ProcCounters,
    /// Sampled latency histograms: recorded by the owner; read by stats snapshots (`stats`).
    pub(crate) hist: ProcHistograms,
}

impl ProcShared {
    /// Whether the machine of the calling thread owns this processor (`false` on a thread
    /// that is no machine, on a machine of another runtime (machine ids are unique in the
    /// process), and on a machine whose poll ran so long that the processor was handed on).
    pub(crate) fn is_owned_here(&self) -> bool {
        self.ownership.is_owned_by(context::machine_id())
    }

    /// Whether tasks wait in this processor's local queue or `runnext` slot (a racy read,
    /// for the idle protocol and the monitor).
    pub(crate) fn has_queued_work(&self) -> bool {
        !self.stealer.is_empty() || self.runnext.is_occupied()
    }
}

/// The owned half of a processor: only its owner reads or writes it (the `Cell`s say so),
/// except `index` and `shared`, which never change and which wakes on the owner's thread
/// read through the thread context.
pub(crate) struct Processor {
    /// Its place in `Shared::procs` and `Shared::processors`; fixed.
    pub(crate) index: usize,
    /// The runtime this processor belongs to; it lives inside it. Fixed.
    shared: *const Shared,
    /// The owning end of the local queue: the owner pushes and pops; wakes on the owner's
    /// thread push under `LocalAccess`; thieves use `ProcShared::stealer`.
    local: Worker<Notified>,
    /// The number of the last poll, for the run-state word (`ownership.rs`).
    poll_seq: Cell<u64>,
    /// Counts `next_task` calls: every 61st looks at the injector and the pollers first.
    tick: Cell<u32>,
    /// Tasks taken from `runnext` in a row, capped at [`RUNNEXT_CAP`].
    runnext_streak: Cell<u32>,
    /// xorshift state for choosing the first steal victim.
    rng: Cell<u64>,
    /// Whether the processor counts as spinning in the idle protocol (`idle.rs`).
    spinning: Cell<bool>,
    /// The pollers a watch wait reported (kept to reuse its allocation).
    watch_ready: Cell<Vec<usize>>,
    /// Set while this thread dispatches the events of a poll: the tasks they wake and push
    /// out of `runnext` do not wake another processor one by one.
    dispatching: Cell<bool>,
    /// When an I/O batch left tasks queued here that no other processor was woken for.
    batch_queued_at: Cell<Option<Instant>>,
}

impl SlotItem for Notified {
    fn into_ptr(self) -> NonNull<()> {
        let ptr = self.raw().as_ptr().cast();
        std::mem::forget(self);
        ptr
    }

    unsafe fn from_ptr(ptr: NonNull<()>) -> Notified {
        // SAFETY: the pointer came from `into_ptr` of a `Notified`, whose reference it carries.
        unsafe { Notified::from_raw(RawTask::from_raw(ptr.cast())) }
    }
}

/// Creates the two halves of `n` processors.
pub(crate) fn new_processors(n: usize) -> io::Result<(Vec<Worker<Notified>>, Vec<ProcShared>)> {
    let mut workers = Vec::with_capacity(n);
    let mut shared = Vec::with_capacity(n);
    for _ in 0..n {
        let worker = Worker::new_fifo();
        shared.push(ProcShared {
            ownership: Ownership::default(),
            owner_clock: AtomicU64::new(NO_CLOCK),
            stealer: worker.stealer(),
            runnext: Runnext::new(),
            park: ParkState::new(),
            sleeper: Sleeper::default(),
            poller: Arc::new(Poller::new()?),
            timers: TimerQueue::new(),
            counters: ProcCounters::default(),
            hist: ProcHistograms::default(),
        });
        workers.push(worker);
    }
    Ok((workers, shared))
}

/// A processor stored in `Shared`, accessed under the ownership protocol above. Padded: each
/// owner writes its processor's fields on every poll, and processors sit side by side.
pub(crate) struct ProcessorCell(CachePadded<Processor>);

// SAFETY: the owned half is only used by the machine that owns the processor (see the module
// docs); other threads read only its immutable fields (`index`, `shared`).
unsafe impl Sync for ProcessorCell {}
// SAFETY: as above; the `Worker` and `Cell`s move with the processor between owners.
unsafe impl Send for ProcessorCell {}

impl ProcessorCell {
    pub(crate) fn new(p: Processor) -> ProcessorCell {
        ProcessorCell(CachePadded::new(p))
    }

    /// # Safety
    /// The caller owns the processor (it was handed the processor and made itself the owner
    /// with `Ownership::acquire`), or no machine is running any more (shutdown).
    pub(crate) unsafe fn get(&self) -> &Processor {
        &self.0
    }
}

impl Processor {
    /// `shared` must point to the `Shared` that will hold this processor.
    pub(crate) fn new(index: usize, shared: *const Shared, local: Worker<Notified>) -> Processor {
        Processor {
            index,
            shared,
            local,
            poll_seq: Cell::new(0),
            tick: Cell::new(0),
            runnext_streak: Cell::new(0),
            rng: Cell::new(0x9E37_79B9_7F4A_7C15 ^ (index as u64 + 1).wrapping_mul(0xA24B_AED4)),
            spinning: Cell::new(false),
            watch_ready: Cell::new(Vec::new()),
            dispatching: Cell::new(false),
            batch_queued_at: Cell::new(None),
        }
    }

    pub(crate) fn shared(&self) -> &Shared {
        // SAFETY: the processor is stored inside this `Shared`, so it outlives `self`.
        unsafe { &*self.shared }
    }

    /// This processor's shared half (`Shared::procs[index]`).
    pub(crate) fn proc_shared(&self) -> &ProcShared {
        &self.shared().procs[self.index]
    }

    /// Machine `machine`, whose thread's clock is `clock`, takes this processor (it was
    /// handed to it).
    pub(crate) fn acquire(&self, machine: MachineId, clock: Option<MachineClock>) {
        let ps = self.proc_shared();
        let clock = clock.map_or(NO_CLOCK, MachineClock::pack);
        ps.owner_clock.store(clock, Release);
        ps.ownership.acquire(machine, self.poll_seq.get());
    }

    /// Raises the push guard if `machine` still owns the processor (see `ownership.rs`);
    /// `None`: the caller must not touch the owned half.
    fn enter_local(&self, machine: Option<MachineId>) -> Option<LocalAccess<'_>> {
        self.proc_shared().ownership.enter_local(machine)
    }

    /// Takes the processor from the machine inside the poll `polling` (which is stuck, or
    /// is the caller in `block_in_place`), for `reason`, and counts it.
    pub(crate) fn retake(ps: &ProcShared, polling: RunState, reason: HandoffReason) -> Retake {
        let retake = ps.ownership.retake(polling);
        if retake == Retake::PollEnded {
            return retake;
        }
        ps.counters.handoffs.add_shared(1);
        let by_reason = match reason {
            HandoffReason::Blocked => &ps.counters.handoffs_blocked,
            HandoffReason::Running => &ps.counters.handoffs_running,
            HandoffReason::BlockInPlace => &ps.counters.handoffs_block_in_place,
        };
        by_reason.add_shared(1);
        retake
    }

    pub(crate) fn counters(&self) -> &ProcCounters {
        &self.proc_shared().counters
    }

    /// A task woken or spawned on this processor: it runs next; the task it displaces from
    /// `runnext` goes to the tail of the local queue.
    pub(crate) fn schedule_local(&self, machine: Option<MachineId>, task: Notified) {
        let Some(access) = self.enter_local(machine) else {
            return self.shared().schedule_remote(task);
        };
        let displaced = self.proc_shared().runnext.replace(task);
        let notify = displaced.is_some();
        if let Some(prev) = displaced {
            self.local.push(prev);
        }
        drop(access);
        if notify && !self.dispatching.get() {
            self.shared().notify_work();
        }
    }

    /// A task that yielded (or was woken while it ran): to the tail of the local queue.
    pub(crate) fn schedule_yield(&self, machine: Option<MachineId>, task: Notified) {
        let Some(access) = self.enter_local(machine) else {
            return self.shared().schedule_remote(task);
        };
        self.local.push(task);
        drop(access);
        self.shared().notify_work();
    }

    /// The next task from this processor's own sources and the injector.
    pub(crate) fn next_task(&self) -> Option<Notified> {
        self.call_batch_help();
        let tick = self.tick.get().wrapping_add(1);
        self.tick.set(tick);
        if tick.is_multiple_of(GLOBAL_QUEUE_INTERVAL) {
            self.poll_io_now();
            if let Some(task) = self.pop_injector() {
                return Some(task);
            }
        }
        let ps = self.proc_shared();
        if self.runnext_streak.get() < RUNNEXT_CAP {
            if let Some(task) = ps.runnext.take() {
                self.runnext_streak.set(self.runnext_streak.get() + 1);
                ps.counters.runnext_hits.incr();
                return Some(task);
            }
        }
        self.runnext_streak.set(0);
        if let Some(task) = self.local.pop() {
            ps.counters.local_pulls.incr();
            return Some(task);
        }
        if let Some(task) = ps.runnext.take() {
            ps.counters.runnext_hits.incr();
            return Some(task);
        }
        self.pop_injector()
    }

    /// The next task from `runnext` or the local queue, after events or timers woke some.
    fn take_woken(&self) -> Option<Notified> {
        self.proc_shared()
            .runnext
            .take()
            .or_else(|| self.local.pop())
    }

    /// Takes a batch from the injector into the local queue and returns one task of it. The
    /// batch is this processor's fair share, `len / processors + 1`, as in Go's
    /// `globrunqget`, so a burst of tasks from outside drains in a few checks.
    fn pop_injector(&self) -> Option<Notified> {
        let shared = self.shared();
        loop {
            let share = shared.injector.len() / shared.procs.len() + 1;
            let limit = share.min(INJECTOR_BATCH_MAX);
            match shared
                .injector
                .steal_batch_with_limit_and_pop(&self.local, limit)
            {
                Steal::Success(task) => {
                    self.counters().injector_pulls.incr();
                    return Some(task);
                }
                Steal::Empty => return None,
                Steal::Retry => continue,
            }
        }
    }

    /// Polls one task. The machine loses the processor if the poll ran so long that the
    /// monitor handed it off, or if the task called `block_in_place`.
    pub(crate) fn run_task(&self, task: Notified) -> RunResult {
        if self.spinning.get() {
            self.stop_spinning();
        }
        let counters = self.counters();
        counters.polls.incr();
        if task.header().record.ran_on(self.index as u16) {
            counters.cross_wakes.incr();
        }
        let timed = self.shared().stats.timing && counters.polls.get() & (POLL_SAMPLE - 1) == 0;
        let seq = self.poll_seq.get().wrapping_add(1);
        self.poll_seq.set(seq);
        let ownership = &self.proc_shared().ownership;
        let polling = ownership.begin_poll(seq);
        if timed {
            let start = Instant::now();
            task.run();
            self.proc_shared()
                .hist
                .poll_duration
                .record_duration(start.elapsed());
        } else {
            task.run();
        }
        let result = ownership.end_poll(polling);
        if let Some(task) = context::take_yielded() {
            match result {
                RunResult::Kept => self.make_way_for(task),
                RunResult::HandedOff => self.shared().schedule_remote(task),
            }
        }
        result
    }

    /// Queues a task that yielded (or was woken while it ran) behind every other runnable
    /// task this processor can see. If nothing else is queued here, that means first polling
    /// for I/O without blocking and taking tasks from the injector, which the next ticks would
    /// otherwise skip (the injector is only checked first every 61st): a yield lets everything
    /// runnable anywhere go first, as tokio's does. (Due timers need nothing here: the loop
    /// fires them before it takes the next task, and their tasks go to `runnext`, ahead of
    /// the yielder.)
    fn make_way_for(&self, yielded: Notified) {
        if self.local.is_empty() && !self.proc_shared().runnext.is_occupied() {
            self.poll_io_now();
            if let Some(task) = self.pop_injector() {
                self.local.push(task);
            }
        }
        self.local.push(yielded);
        self.shared().notify_work();
    }

    /// Drops every task left in the local queue and `runnext` (shutdown).
    pub(crate) fn drain(&self) {
        while let Some(task) = self.local.pop() {
            drop(task);
        }
        drop(self.proc_shared().runnext.take());
    }

    fn next_rand(&self) -> u64 {
        // xorshift64
        let mut x = self.rng.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng.set(x);
        x
    }
}

/// Counts a budget yield on the current processor, if the thread holds one.
pub(crate) fn count_budget_yield() {
    context::with_processor(|p| {
        if let Some(p) = p {
            p.counters().budget_yields.incr();
        }
    });
}

#[cfg(test)]
mod tests {
    use crate::{context, Config, Scheduler};
    use std::future::poll_fn;
    use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
    use std::sync::{Arc, Mutex};
    use std::task::{Poll, Waker};
    use std::time::{Duration, Instant};

    /// A task that records the processor of each of its polls and waits for wakes.
    #[derive(Default)]
    struct Target {
        waker: Mutex<Option<Waker>>,
        ran_on: Mutex<Vec<usize>>,
        done: AtomicBool,
    }

    impl Target {
        /// How often consecutive polls ran on different processors.
        fn moves(&self) -> u64 {
            let ran_on = self.ran_on.lock().unwrap();
            ran_on.windows(2).filter(|w| w[0] != w[1]).count() as u64
        }
    }

    fn here() -> usize {
        context::with_processor(|p| p.expect("polled on a processor").index)
    }

    fn cross_wakes(rt: &Scheduler) -> u64 {
        rt.handle().counters().iter().map(|c| c.cross_wakes).sum()
    }

    /// Pairs of tasks that spin a little (so that the pair spreads over the processors)
    /// each wake the target from wherever they run, until it moved `want` times or 5 s
    /// passed. Returns the target's polls and moves, and the runtime's cross wakes.
    fn wake_from_everywhere(procs: usize, want: u64) -> (usize, u64, u64) {
        let rt = Scheduler::new(Config::with_processors(procs)).unwrap();
        let target = Arc::new(Target::default());
        let t = target.clone();
        let join = rt.handle().spawn(
            poll_fn(move |cx| {
                t.ran_on.lock().unwrap().push(here());
                *t.waker.lock().unwrap() = Some(cx.waker().clone());
                match t.done.load(Relaxed) {
                    true => Poll::Ready(()),
                    false => Poll::Pending,
                }
            }),
            None,
        );
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut rounds = 0;
        while (target.moves() < want || rounds < 20) && Instant::now() < deadline {
            rounds += 1;
            let probes: Vec<_> = (0..2)
                .map(|_| {
                    let t = target.clone();
                    rt.handle().spawn(
                        async move {
                            let until = Instant::now() + Duration::from_micros(300);
                            while Instant::now() < until {
                                std::hint::spin_loop();
                            }
                            if let Some(waker) = t.waker.lock().unwrap().as_ref() {
                                waker.wake_by_ref();
                            }
                        },
                        None,
                    )
                })
                .collect();
            for probe in probes {
                rt.handle().block_on(probe).unwrap();
            }
        }
        target.done.store(true, Relaxed);
        if let Some(waker) = target.waker.lock().unwrap().take() {
            waker.wake();
        }
        rt.handle().block_on(join).unwrap();
        let polls = target.ran_on.lock().unwrap().len();
        (polls, target.moves(), cross_wakes(&rt))
    }

    #[test]
    fn a_task_woken_onto_another_processor_counts_a_cross_wake() {
        let (polls, moves, cross) = wake_from_everywhere(2, 3);
        assert!(moves >= 1, "the target never moved in {polls} polls");
        // The probes run once each (a first poll does not count), so every cross wake is
        // one of the target's moves.
        assert_eq!(cross, moves, "{polls} polls");
    }

    #[test]
    fn one_processor_counts_no_cross_wakes() {
        let (polls, moves, cross) = wake_from_everywhere(1, 0);
        assert!(polls > 20, "the target was woken only {polls} times");
        assert_eq!((moves, cross), (0, 0));
    }
}
