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
//! machine that holds a processor is its *owner* (`ProcShared::owner`, a machine id); only
//! the owner touches the owned half. Two words make handing off safe while the owner is
//! stuck inside a poll:
//!
//! * `run_state` is `seq << 1 | in_poll`. The owner sets it when a poll starts and CASes it
//!   back when the poll ends. The monitor (or `block_in_place`) takes the processor by
//!   CASing the same in-poll value to [`HANDED_OFF`]. Exactly one CAS wins, so the machine
//!   learns at the end of its poll whether it still owns the processor. Why the monitor
//!   takes it ([`HandoffReason`]: asleep in the kernel, running past `handoff_after`, or
//!   `block_in_place`) is counted per reason; `owner_clock` lets the monitor read the
//!   owner's thread CPU clock to tell the first two apart.
//! * A wake on the stuck machine's thread still finds the processor in its thread context.
//!   Before touching the local queue it raises `guard` and then checks `owner`; the monitor
//!   clears `owner` and then waits for `guard` to drop. With SeqCst on both sides either the
//!   waker sees it lost the processor (and goes to the injector), or the monitor waits until
//!   the push is done before handing the processor on.

use crate::context;
use crate::park::{ParkState, ParkedIn};
use crate::runnext::{Runnext, SlotItem};
use crate::shared::Shared;
use crate::sleeper::{SleepEnd, Sleeper};
use crate::stats::{ProcHistograms, POLL_SAMPLE};
use crate::task::{Notified, RawTask};
use crate::thread_clock::{MachineClock, NO_CLOCK};
use crate::time::{clock_now, queue::TimerQueue};
use crossbeam_deque::{Steal, Stealer, Worker};
use crossbeam_utils::CachePadded;
use goro_netpoll::{Poller, WaitOutcome, WatchGuard};
use goro_stats::ProcCounters;
use std::cell::Cell;
use std::io;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Check the injector first every this many ticks.
const GLOBAL_QUEUE_INTERVAL: u32 = 61;
/// At most this many tasks move from the injector to a local queue at once (Go and tokio
/// take at most half of a 256-slot local queue).
const INJECTOR_BATCH_MAX: usize = 128;
/// At most this many tasks move in one steal (on top of the half-the-queue limit).
const STEAL_BATCH_MAX: usize = 1024;
/// At most this many consecutive tasks come from `runnext`.
pub(crate) const RUNNEXT_CAP: u32 = 3;
/// Rounds over all victims before a spinning processor gives up.
const STEAL_ROUNDS: usize = 4;
/// How long a victim must stay in the same poll before its `runnext` task is stolen.
const RUNNEXT_STEAL_DELAY: Duration = Duration::from_micros(5);
/// How long the tasks an I/O batch queued here may wait before another processor is woken
/// to take some of them; see [`Processor::poll_ready`].
const BATCH_HELP_DELAY: Duration = Duration::from_micros(30);

/// `run_state` of a processor taken from a machine stuck in a poll.
pub(crate) const HANDED_OFF: u64 = u64::MAX;
/// `owner` of a processor no machine holds.
pub(crate) const NO_OWNER: usize = 0;

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

/// The shared half of a processor.
pub(crate) struct ProcShared {
    /// `seq << 1 | in_poll`, or [`HANDED_OFF`]; see the module docs.
    pub(crate) run_state: AtomicU64,
    /// The id of the machine holding the processor, or [`NO_OWNER`].
    pub(crate) owner: AtomicUsize,
    /// The owner's [`MachineClock`], packed (or `NO_CLOCK`): written by each new owner
    /// as it acquires the processor, read by the monitor to tell a poll asleep in the kernel
    /// from one running.
    pub(crate) owner_clock: AtomicU64,
    /// Raised while a wake pushes to the local queue; see the module docs.
    guard: AtomicBool,
    pub(crate) stealer: Stealer<Notified>,
    pub(crate) runnext: Runnext<Notified>,
    pub(crate) park: ParkState,
    pub(crate) sleeper: Sleeper,
    pub(crate) poller: Arc<Poller>,
    pub(crate) timers: TimerQueue,
    pub(crate) counters: ProcCounters,
    /// Sampled latency histograms; see `stats`.
    pub(crate) hist: ProcHistograms,
}

impl ProcShared {
    /// Whether the machine of the calling thread owns this processor (`false` on a thread
    /// that is no machine, on a machine of another runtime (machine ids are unique in the
    /// process), and on a machine whose poll ran so long that the processor was handed on).
    pub(crate) fn is_owned_here(&self) -> bool {
        let machine = context::machine_id();
        machine != NO_OWNER && self.owner.load(SeqCst) == machine
    }

    /// Whether tasks wait in this processor's local queue or `runnext` slot (a racy read,
    /// for the idle protocol and the monitor).
    pub(crate) fn has_queued_work(&self) -> bool {
        !self.stealer.is_empty() || self.runnext.is_occupied()
    }
}

/// The owned half of a processor.
pub(crate) struct Processor {
    pub(crate) index: usize,
    /// The runtime this processor belongs to; it lives inside it.
    shared: *const Shared,
    local: Worker<Notified>,
    poll_seq: Cell<u64>,
    tick: Cell<u32>,
    runnext_streak: Cell<u32>,
    rng: Cell<u64>,
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
            run_state: AtomicU64::new(0),
            owner: AtomicUsize::new(NO_OWNER),
            owner_clock: AtomicU64::new(NO_CLOCK),
            guard: AtomicBool::new(false),
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
    /// The caller owns the processor (it set `owner` to its machine id after the processor
    /// was handed to it), or no machine is running any more (shutdown).
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

    pub(crate) fn ps(&self) -> &ProcShared {
        &self.shared().procs[self.index]
    }

    /// Machine `machine`, whose thread's clock is `clock`, takes this processor (it was
    /// handed to it).
    pub(crate) fn acquire(&self, machine: usize, clock: Option<MachineClock>) {
        let ps = self.ps();
        let clock = clock.map_or(NO_CLOCK, MachineClock::pack);
        ps.owner_clock.store(clock, Release);
        ps.owner.store(machine, SeqCst);
        ps.run_state.store(self.poll_seq.get() << 1, Release);
    }

    /// Raises the guard and checks that `machine` still owns the processor. On `false`
    /// the guard is already lowered and the caller must not touch the owned half.
    fn enter_local(&self, machine: usize) -> bool {
        let ps = self.ps();
        ps.guard.store(true, SeqCst);
        if ps.owner.load(SeqCst) == machine {
            return true;
        }
        ps.guard.store(false, Release);
        false
    }

    fn exit_local(&self) {
        self.ps().guard.store(false, Release);
    }

    /// Takes the processor from the machine polling with `run_state == polling` (which is
    /// stuck, or is the caller in `block_in_place`), for `reason`. Returns `false` if the
    /// poll ended first.
    pub(crate) fn retake(ps: &ProcShared, polling: u64, reason: HandoffReason) -> bool {
        if polling & 1 == 0 || polling == HANDED_OFF {
            return false;
        }
        if ps
            .run_state
            .compare_exchange(polling, HANDED_OFF, SeqCst, SeqCst)
            .is_err()
        {
            return false;
        }
        ps.owner.store(NO_OWNER, SeqCst);
        while ps.guard.load(SeqCst) {
            std::hint::spin_loop();
        }
        ps.counters.handoffs.add_shared(1);
        let by_reason = match reason {
            HandoffReason::Blocked => &ps.counters.handoffs_blocked,
            HandoffReason::Running => &ps.counters.handoffs_running,
            HandoffReason::BlockInPlace => &ps.counters.handoffs_block_in_place,
        };
        by_reason.add_shared(1);
        true
    }

    pub(crate) fn counters(&self) -> &ProcCounters {
        &self.ps().counters
    }

    /// A task woken or spawned on this processor: it runs next; the task it displaces from
    /// `runnext` goes to the tail of the local queue.
    pub(crate) fn schedule_local(&self, machine: usize, task: Notified) {
        if !self.enter_local(machine) {
            return self.shared().schedule_remote(task);
        }
        let displaced = self.ps().runnext.replace(task);
        let notify = displaced.is_some();
        if let Some(prev) = displaced {
            self.local.push(prev);
        }
        self.exit_local();
        if notify && !self.dispatching.get() {
            self.shared().notify_work();
        }
    }

    /// A task that yielded (or was woken while it ran): to the tail of the local queue.
    pub(crate) fn schedule_yield(&self, machine: usize, task: Notified) {
        if !self.enter_local(machine) {
            return self.shared().schedule_remote(task);
        }
        self.local.push(task);
        self.exit_local();
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
        let ps = self.ps();
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

    /// Out of tasks, before searching other processors: with one processor, polls its
    /// poller without blocking (cheaper than the round of the idle protocol that parking in
    /// it would take). With several, does nothing: the park that follows a fruitless search
    /// waits in the watch, which returns at once if any poller has events, and polling it
    /// here too would cost a system call on every idle turn (measured: twice the
    /// `epoll_wait` calls per HTTP request of tokio's multi-thread runtime).
    pub(crate) fn poll_io_before_search(&self) -> usize {
        match self.shared().watch {
            None => self.poll_io_now(),
            Some(_) => 0,
        }
    }

    /// Polls for I/O without blocking; the tasks the events wake land here. Returns how
    /// many events were dispatched.
    ///
    /// With one processor that is its own poller. With several it is the poller watch: one
    /// call says which processors' pollers have events, and only those are polled. If
    /// another thread holds the watch (a processor parked in it, which the kernel wakes
    /// for any event, or one polling it right now) there is nothing to do.
    pub(crate) fn poll_io_now(&self) -> usize {
        let Some(watch) = &self.shared().watch else {
            return self.poll_ready(&[self.index]);
        };
        let Some(guard) = watch.try_claim() else {
            return 0;
        };
        let mut ready = self.watch_ready.take();
        let events = match guard.wait_then(Some(Duration::ZERO), || {}, &mut ready) {
            Ok(_) => self.poll_ready(&ready),
            Err(_) => 0,
        };
        self.watch_ready.set(ready);
        events
    }

    /// The next task from `runnext` or the local queue, after events or timers woke some.
    fn take_woken(&self) -> Option<Notified> {
        self.ps().runnext.take().or_else(|| self.local.pop())
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

    /// Fires this processor's due timers. Costs one relaxed load when no timer is armed.
    #[inline]
    pub(crate) fn fire_timers(&self) {
        let timers = &self.ps().timers;
        if timers.next_deadline() == crate::time::queue::NONE {
            return;
        }
        let now = clock_now();
        if timers.next_deadline() <= now {
            timers.fire_due(now);
        }
    }

    /// Fires other processors' overdue timers (their owners are busy or stuck). The woken
    /// tasks land here. Returns how many fired.
    fn steal_timers(&self) -> usize {
        let mut now = None;
        let mut fired = 0;
        for (i, p) in self.shared().procs.iter().enumerate() {
            let next = p.timers.next_deadline();
            if i == self.index || next == crate::time::queue::NONE {
                continue;
            }
            let now = *now.get_or_insert_with(clock_now);
            if next <= now {
                fired += p.timers.try_fire_due(now);
            }
        }
        fired
    }

    /// Polls one task. Returns whether the machine still owns the processor afterwards (it
    /// loses it if the poll ran so long that the monitor handed the processor off, or if the
    /// task called `block_in_place`).
    pub(crate) fn run_task(&self, task: Notified) -> bool {
        if self.spinning.get() {
            self.stop_spinning();
        }
        let counters = self.counters();
        counters.polls.incr();
        if task.header().record.ran_on(self.index as u16) {
            counters.cross_wakes.incr();
        }
        let timed = self.shared().stats.timing && counters.polls.get() & (POLL_SAMPLE - 1) == 0;
        let seq = self.poll_seq.get().wrapping_add(1) & (u64::MAX >> 2);
        self.poll_seq.set(seq);
        let run_state = &self.ps().run_state;
        // Only the end-of-poll CAS races the monitor; this store needs no full barrier.
        run_state.store(seq << 1 | 1, Release);
        if timed {
            let start = Instant::now();
            task.run();
            self.ps()
                .hist
                .poll_duration
                .record_duration(start.elapsed());
        } else {
            task.run();
        }
        let owned = run_state
            .compare_exchange(seq << 1 | 1, seq << 1, AcqRel, Acquire)
            .is_ok();
        if let Some(task) = context::take_yielded() {
            if owned {
                self.make_way_for(task);
            } else {
                self.shared().schedule_remote(task);
            }
        }
        owned
    }

    /// Queues a task that yielded (or was woken while it ran) behind every other runnable
    /// task this processor can see. If nothing else is queued here, that means first polling
    /// for I/O without blocking and taking tasks from the injector, which the next ticks would
    /// otherwise skip (the injector is only checked first every 61st): a yield lets everything
    /// runnable anywhere go first, as tokio's does. (Due timers need nothing here: the loop
    /// fires them before it takes the next task, and their tasks go to `runnext`, ahead of
    /// the yielder.)
    fn make_way_for(&self, yielded: Notified) {
        if self.local.is_empty() && !self.ps().runnext.is_occupied() {
            self.poll_io_now();
            if let Some(task) = self.pop_injector() {
                self.local.push(task);
            }
        }
        self.local.push(yielded);
        self.shared().notify_work();
    }

    fn stop_spinning(&self) {
        self.spinning.set(false);
        if self.shared().idle.end_spinning() {
            // The last spinner found work; there may be more: wake another searcher.
            self.shared().notify_work();
        }
    }

    /// Spins looking for work on other processors and the injector. Returns `None` when
    /// there is nothing, or when too many processors already spin.
    pub(crate) fn search(&self) -> Option<Notified> {
        if !self.spinning.get() {
            if !self.shared().idle.try_begin_spinning() {
                return None;
            }
            self.spinning.set(true);
        }
        if self.steal_timers() > 0 {
            if let Some(task) = self.take_woken() {
                return Some(task);
            }
        }
        let n = self.shared().procs.len();
        for round in 0..STEAL_ROUNDS {
            let start = self.next_rand() as usize % n;
            for i in 0..n {
                let victim = (start + i) % n;
                if victim == self.index {
                    continue;
                }
                if let Some(task) = self.steal_half(victim) {
                    return Some(task);
                }
                if round == STEAL_ROUNDS - 1 {
                    if let Some(task) = self.steal_runnext(victim) {
                        return Some(task);
                    }
                }
            }
            if let Some(task) = self.pop_injector() {
                return Some(task);
            }
        }
        None
    }

    /// Steals half of `victim`'s local queue (crossbeam never takes more than half,
    /// rounded up) into ours and returns one of the tasks.
    fn steal_half(&self, victim: usize) -> Option<Notified> {
        let stealer = &self.shared().procs[victim].stealer;
        if stealer.is_empty() {
            // Two loads; a steal attempt pins crossbeam's epoch, which costs time in the
            // number of threads (thousands, with thousands of processors).
            return None;
        }
        loop {
            match stealer.steal_batch_with_limit_and_pop(&self.local, STEAL_BATCH_MAX) {
                Steal::Success(task) => {
                    let counters = self.counters();
                    counters.steal_ops.incr();
                    counters.steals.add(1 + self.local.len() as u64);
                    return Some(task);
                }
                Steal::Empty => return None,
                Steal::Retry => continue,
            }
        }
    }

    /// Takes `victim`'s `runnext` task if the victim stays inside one poll for
    /// [`RUNNEXT_STEAL_DELAY`] (it would not get to the task soon), like Go's `runqsteal`.
    fn steal_runnext(&self, victim: usize) -> Option<Notified> {
        let v = &self.shared().procs[victim];
        if !v.runnext.is_occupied() {
            return None;
        }
        let polls_at_start = v.counters.polls.get();
        let until = Instant::now() + RUNNEXT_STEAL_DELAY;
        while Instant::now() < until {
            std::hint::spin_loop();
        }
        if v.counters.polls.get() != polls_at_start {
            return None;
        }
        let task = v.runnext.take()?;
        self.counters().steals.incr();
        Some(task)
    }

    /// Parks until woken (by new work, shutdown, an I/O event, or its earliest timer).
    pub(crate) fn park(&self) {
        let timeout = self.ps().timers.park_timeout(clock_now());
        if timeout == Some(Duration::ZERO) {
            // A timer is due: fire it on the next turn instead of parking.
            return;
        }
        let was_spinning = self.spinning.replace(false);
        let shared = self.shared();
        if shared.idle.transition_to_parked(self.index, was_spinning) && shared.has_visible_work() {
            shared.notify_work();
        }
        let mut notified = None;
        if !shared.is_shutdown() {
            self.ps().counters.parks.incr();
            let claim = shared.watch.as_ref().and_then(|watch| watch.try_claim());
            notified = self.block(timeout, claim);
        }
        let notified = notified.unwrap_or_else(|| self.leave_parked());
        self.spinning.set(notified);
    }

    /// Blocks where the module docs say: in the watch if the caller claimed it, else in the
    /// processor's own poller (a lone processor) or sleeper. The events of a poller wait are
    /// dispatched here, after the processor left the parked state. Returns whether
    /// `notify_work` woke the processor, or `None` if an unpark was pending and it did not
    /// block.
    fn block(&self, timeout: Option<Duration>, claim: Option<WatchGuard<'_>>) -> Option<bool> {
        let ps = self.ps();
        let place = match (&claim, &self.shared().watch) {
            (Some(_), _) => ParkedIn::Watch,
            (None, None) => ParkedIn::Poller,
            (None, Some(_)) => ParkedIn::Sleeper,
        };
        if !ps.park.begin_park(place) {
            return None;
        }
        let start = self.shared().stats.timing.then(Instant::now);
        let mut notified = None;
        let mut woke = || notified = Some(self.awake(start));
        // An error of a poller or watch wait (epoll_wait only fails for invalid arguments)
        // must not spin the processor: it is taken as a wake-up.
        match claim {
            Some(guard) => self.wait_in_watch(guard, timeout, &mut woke),
            None if place == ParkedIn::Poller => {
                if let Ok(outcome) = ps.poller.wait_then(timeout, woke) {
                    self.count_poll(self.index, outcome);
                }
            }
            None => self.sleep_or_take_watch(timeout, &mut woke),
        }
        notified
    }

    /// Blocks in the poller watch; when the wait ends, polls the pollers it reported.
    fn wait_in_watch(
        &self,
        guard: WatchGuard<'_>,
        timeout: Option<Duration>,
        woke: &mut dyn FnMut(),
    ) {
        let mut ready = self.watch_ready.take();
        if guard.wait_then(timeout, woke, &mut ready).is_ok() {
            self.poll_ready(&ready);
        }
        self.watch_ready.set(ready);
    }

    /// Blocks in the sleeper until woken or the timeout; if offered the poller watch
    /// meanwhile, moves there for the rest of the timeout.
    fn sleep_or_take_watch(&self, timeout: Option<Duration>, woke: &mut dyn FnMut()) {
        let ps = self.ps();
        let deadline = timeout.map(|t| Instant::now() + t);
        let left = || deadline.map(|d| d.saturating_duration_since(Instant::now()));
        loop {
            if ps.sleeper.sleep(left()) == SleepEnd::Woken {
                return woke();
            }
            let Some(guard) = self.shared().watch.as_ref().and_then(|w| w.try_claim()) else {
                // Someone else took the watch: sleep on.
                continue;
            };
            if !ps.park.move_park(ParkedIn::Sleeper, ParkedIn::Watch) {
                // An unpark came first and signalled the sleeper.
                return woke();
            }
            return self.wait_in_watch(guard, left(), woke);
        }
    }

    /// The blocking call of a park returned: records it and leaves the parked state.
    /// Returns whether `notify_work` woke this processor.
    fn awake(&self, start: Option<Instant>) -> bool {
        let ps = self.ps();
        if let Some(start) = start {
            ps.hist.netpoll_block.record_duration(start.elapsed());
        }
        if !ps.park.end_park() {
            ps.counters.spurious_unparks.incr();
        }
        self.leave_parked()
    }

    /// Polls, without blocking, the pollers a watch wait reported, or this processor's
    /// own, each until it has no more events; the woken tasks land here. Returns how many
    /// events were dispatched.
    fn poll_ready(&self, ready: &[usize]) -> usize {
        let mut events = 0;
        for &index in ready {
            let poller = &self.shared().procs[index].poller;
            if !poller.has_registrations() {
                // Nothing can be ready; wake-ups are only consumed by parking.
                continue;
            }
            // Nothing if someone else is polling it: they dispatch what it has.
            self.dispatch(|| {
                poller.try_drain_now(|outcome| events += self.count_poll(index, outcome))
            });
        }
        events
    }

    /// Runs `poll`, which dispatches a batch of I/O events whose wakes land here, without
    /// waking other processors for each task it queues. If tasks are left queued, another
    /// processor is woken for them only if they still wait [`BATCH_HELP_DELAY`] later
    /// (`call_batch_help`, at the next task boundaries). A task of the batch whose poll runs
    /// long holds the others up until it ends, or until the monitor hands the processor,
    /// queue and all, to another machine after 10 ms.
    ///
    /// tokio wakes a worker as soon as a driver poll leaves two tasks queued. But a parked
    /// thread needs a futex wake, a context switch and a steal before it runs anything, and
    /// it takes a core from whatever else runs there: a batch this processor finishes in
    /// about that time gains nothing from it. Measured with HTTP keep-alive load at 2
    /// processors on 2 cores (the load generator on one), requests per second against
    /// waking at once, medians of 6 paired runs: 1.02 after 10 µs, 1.06 after 20 µs, 1.11
    /// after 30 µs, 1.11 after 50 µs.
    fn dispatch<R>(&self, poll: impl FnOnce() -> R) -> R {
        if self.shared().watch.is_none() {
            // A lone processor: there is nobody to wake.
            return poll();
        }
        self.dispatching.set(true);
        let polled = poll();
        self.dispatching.set(false);
        if self.batch_queued_at.get().is_none() && !self.local.is_empty() {
            self.batch_queued_at.set(Some(Instant::now()));
        }
        polled
    }

    /// Wakes another processor for tasks an I/O batch queued here if they waited
    /// [`BATCH_HELP_DELAY`]; forgets them once the queue is empty.
    #[inline]
    fn call_batch_help(&self) {
        let Some(queued_at) = self.batch_queued_at.get() else {
            return;
        };
        if self.local.is_empty() {
            self.batch_queued_at.set(None);
        } else if queued_at.elapsed() >= BATCH_HELP_DELAY {
            self.batch_queued_at.set(None);
            self.shared().notify_work();
        }
    }

    /// Counts a poll of processor `index`'s poller made here; returns its events.
    fn count_poll(&self, index: usize, outcome: WaitOutcome) -> usize {
        let counters = self.counters();
        counters.netpoll_polls.incr();
        counters.netpoll_events.add(outcome.io_events as u64);
        if index != self.index && outcome.io_events > 0 {
            counters.poll_steals.incr();
        }
        outcome.io_events
    }

    /// Leaves the idle protocol's parked state. Returns whether `notify_work` woke this
    /// processor (it then counts as spinning).
    ///
    /// When the park blocked in the poller this runs as the wait ends and *before* its events
    /// are dispatched. The events' wakers schedule their tasks here; had the processor still
    /// looked parked, each of them would have "unparked" it through its own poller (an
    /// eventfd write, and a wasted wait on the next park) and `notify_work` would have taken
    /// this processor, or another one, off the sleepers for work this one runs anyway.
    fn leave_parked(&self) -> bool {
        self.shared().idle.transition_from_parked(self.index)
    }

    /// Drops every task left in the local queue and `runnext` (shutdown).
    pub(crate) fn drain(&self) {
        while let Some(task) = self.local.pop() {
            drop(task);
        }
        drop(self.ps().runnext.take());
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
