//! Machines (M): the OS threads that run processors, and the pool of spare ones.
//!
//! A machine acquires a processor and runs the scheduling loop on it: take the next task,
//! poll it, repeat; search other processors when out of work; park (`Processor::park`) when
//! the search finds nothing.
//!
//! There can be more machines than processors. When a machine is stuck in one poll (the
//! monitor sees it asleep in the kernel, or running past `handoff_after`) or enters blocking
//! work (`block_in_place`), its processor is handed to a *spare* machine, so the processor's
//! other tasks, timers and sockets go on. The stuck machine finishes its poll, notices it
//! lost the processor, and becomes a spare itself: it waits for a processor to be handed to
//! it.
//!
//! A handoff must not wait for a thread to be created (tens to hundreds of microseconds,
//! more on a loaded machine): the runtime starts with one spare, and a handoff that leaves
//! no spare for the next one starts a replacement after the processor is on its way (every
//! spare counts, woken or not, and every machine started and not yet waiting: each takes a
//! queued processor or waits as a spare). Machines are named `{thread_name}-machine-{id}`,
//! ids counting every machine of the process. Spares beyond one that were not needed during a window of [`SPARE_KEEP_ALIVE`] exit (see
//! `low_water.rs`: the spares are woken in turn, so none of them waits a whole keep-alive
//! while handoffs go on); the last one stays.

use crate::context;
use crate::low_water::LowWater;
use crate::ownership::{MachineId, RunResult};
use crate::processor::Processor;
use crate::shared::Shared;
use crate::thread_clock::MachineClock;
use parking_lot::{Condvar, Mutex};
use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a spare machine waits for a processor before it exits.
pub(crate) const SPARE_KEEP_ALIVE: Duration = Duration::from_secs(10);

/// Machine ids; 0 means "not a machine".
static NEXT_MACHINE_ID: AtomicUsize = AtomicUsize::new(1);

/// The machines of a runtime.
pub(crate) struct Machines {
    state: Mutex<PoolState>,
    handed: Condvar,
}

struct PoolState {
    /// Processors handed off and waiting for a machine.
    handoffs: VecDeque<usize>,
    /// Spare machines waiting for a processor.
    spare: usize,
    /// Spare machines notified of a handoff but not yet awake.
    notified: usize,
    /// Machines started as spares that have not yet reached `wait_for_processor`: each
    /// will take a queued processor or wait as a spare.
    starting: usize,
    threads: Vec<JoinHandle<()>>,
    shutdown: bool,
    /// Which spares were not needed lately.
    low_water: LowWater,
}

impl PoolState {
    fn new() -> PoolState {
        PoolState {
            handoffs: VecDeque::new(),
            spare: 0,
            notified: 0,
            starting: 0,
            threads: Vec::new(),
            shutdown: false,
            low_water: LowWater::new(SPARE_KEEP_ALIVE),
        }
    }

    /// Queues processor `index` for a spare, waking one with `wake` (which says whether it
    /// woke a waiting spare), and says whether a machine must be started (then counted as
    /// starting; see [`Machines::hand_off`]).
    fn queue_handoff(&mut self, index: usize, shutdown: bool, wake: impl FnOnce() -> bool) -> bool {
        self.handoffs.push_back(index);
        // No spare to wake means the waiting ones are past a timed-out wait, about to look
        // at the queue: one of them takes the processor, uncounted.
        if self.spare > self.notified && wake() {
            self.notified += 1;
            let available = self.spare - self.notified;
            self.low_water.claimed(available);
        }
        if shutdown || self.spare + self.starting > self.handoffs.len() {
            return false;
        }
        self.starting += 1;
        true
    }
}

impl Machines {
    pub(crate) fn new() -> Machines {
        Machines {
            state: Mutex::new(PoolState::new()),
            handed: Condvar::new(),
        }
    }

    /// Starts a machine on processor `index` (the runtime's initial machines), optionally
    /// pinned to `core`.
    pub(crate) fn start_initial(
        shared: &Arc<Shared>,
        index: usize,
        core: Option<core_affinity::CoreId>,
    ) -> io::Result<()> {
        Self::spawn_thread(shared, Some(index), core)
    }

    /// Starts the spare machine that the first handoff will take.
    pub(crate) fn start_spare(shared: &Arc<Shared>) -> io::Result<()> {
        shared.machines.state.lock().starting += 1;
        Self::spawn_spare(shared)
    }

    /// Hands processor `index` to a spare machine; then, if the spares and the machines on
    /// their way are not enough for the processors queued and one more (the next handoff
    /// must not wait for a thread to be created), starts one.
    ///
    /// Every spare counts, notified or not, and so does every machine on its way: each of
    /// them takes a queued processor or waits as a spare. Under CPU starvation a preempted
    /// machine looks stuck, so handoffs come in bursts, while a notified spare or a new
    /// thread may wait many milliseconds to run, and the preempted machine, back first,
    /// takes its processor off the queue itself. Counting only the spares waiting and not
    /// notified, every handoff of such a spell started one more machine (a soak beside a
    /// parallel build: 30, then 97 machine threads for one processor).
    pub(crate) fn hand_off(shared: &Arc<Shared>, index: usize) {
        let mut state = shared.machines.state.lock();
        let wake = || shared.machines.handed.notify_one();
        if !state.queue_handoff(index, shared.is_shutdown(), wake) {
            return;
        }
        drop(state);
        if let Err(e) = Self::spawn_spare(shared) {
            // A queued processor stays queued; the next machine to go spare takes it. Say
            // why this processor's tasks may be late rather than failing silently.
            eprintln!("goro: cannot start a spare machine: {e}");
        }
    }

    /// Starts a machine already counted as `starting`; uncounts it if it cannot start.
    fn spawn_spare(shared: &Arc<Shared>) -> io::Result<()> {
        let started = Self::spawn_thread(shared, None, None);
        if started.is_err() {
            shared.machines.state.lock().starting -= 1;
        }
        started
    }

    fn spawn_thread(
        shared: &Arc<Shared>,
        first: Option<usize>,
        core: Option<core_affinity::CoreId>,
    ) -> io::Result<()> {
        let id = NEXT_MACHINE_ID.fetch_add(1, Relaxed);
        let machine = MachineId::new(id)
            .expect("machine ids start at 1 and a usize does not wrap in a process's life");
        // Numbered by id, so that a thread list shows how many machines came and went.
        let name = format!("{}-machine-{id}", shared.config.thread_name);
        let mut builder = std::thread::Builder::new().name(name);
        if let Some(size) = shared.config.thread_stack_size {
            builder = builder.stack_size(size);
        }
        let machine_shared = shared.clone();
        let thread = builder.spawn(move || {
            if let Some(core) = core {
                core_affinity::set_for_current(core);
            }
            run(machine_shared, machine, first);
        })?;
        let mut state = shared.machines.state.lock();
        state.threads.retain(|t| !t.is_finished());
        state.threads.push(thread);
        Ok(())
    }

    /// A spare machine waits for a handed-off processor; `None` on shutdown, or when it is
    /// a spare the runtime did not need lately (see `low_water.rs`). `arriving`: the
    /// machine was started as a spare and comes here for the first time.
    fn wait_for_processor(&self, arriving: bool) -> Option<usize> {
        let mut state = self.state.lock();
        if arriving {
            state.starting -= 1;
        }
        loop {
            if state.shutdown {
                return None;
            }
            if let Some(index) = state.handoffs.pop_front() {
                return Some(index);
            }
            let others = state.spare.saturating_sub(state.notified);
            // The last spare stays, so that a handoff never waits for a new thread.
            if state.low_water.should_retire(Instant::now(), others, 1) {
                return None;
            }
            state.spare += 1;
            let woken = !self
                .handed
                .wait_for(&mut state, SPARE_KEEP_ALIVE)
                .timed_out();
            state.spare -= 1;
            if woken {
                // (`notify_all` at shutdown wakes spares nobody counted.)
                state.notified = state.notified.saturating_sub(1);
            }
        }
    }

    /// (machine threads alive, spare machines waiting for a processor).
    pub(crate) fn thread_counts(&self) -> (usize, usize) {
        let mut state = self.state.lock();
        state.threads.retain(|t| !t.is_finished());
        (state.threads.len(), state.spare)
    }

    pub(crate) fn shutdown(&self) {
        self.state.lock().shutdown = true;
        self.handed.notify_all();
    }

    /// Joins every machine thread, including ones started while joining.
    pub(crate) fn join_all(&self) {
        loop {
            let threads = std::mem::take(&mut self.state.lock().threads);
            if threads.is_empty() {
                return;
            }
            for thread in threads {
                // A machine that panicked outside a task has nothing left to clean up.
                let _ = thread.join();
            }
        }
    }
}

/// A machine's life: run processors until shutdown or until no processor needs it.
fn run(shared: Arc<Shared>, machine: MachineId, mut next: Option<usize>) {
    let clock = MachineClock::current();
    let _runtime = context::set_runtime(shared.clone(), context::ThreadRole::Machine);
    let _enter = context::try_enter();
    let mut arriving = next.is_none();
    while let Some(index) = next.take().or_else(|| {
        shared
            .machines
            .wait_for_processor(std::mem::take(&mut arriving))
    }) {
        // SAFETY: the processor was handed to this machine: at start, or through `hand_off`
        // after its previous owner lost it.
        let p = unsafe { shared.processor(index) };
        p.acquire(machine, clock);
        let _processor = context::set_processor(p, machine);
        schedule(p);
        if shared.is_shutdown() {
            break;
        }
    }
}

/// Go's `schedule()`: find a runnable task and run it, until shutdown or until the
/// processor is taken away during a poll.
fn schedule(p: &Processor) {
    while !p.shared().is_shutdown() {
        p.fire_timers();
        let task = match p.next_task() {
            Some(task) => Some(task),
            None if p.poll_io_before_search() > 0 => continue,
            None => p.search(),
        };
        match task {
            Some(task) => {
                if p.run_task(task) == RunResult::HandedOff {
                    return;
                }
            }
            None => p.park(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PoolState;

    #[test]
    fn a_handoff_starts_a_machine_only_when_no_spare_is_left_for_the_next() {
        let mut pool = PoolState::new();
        // A handoff that takes the last waiting spare starts a replacement.
        pool.spare = 1;
        assert!(pool.queue_handoff(0, false, || true));
        assert_eq!((pool.notified, pool.starting), (1, 1));
        // The spare takes the processor, the replacement arrives and waits, and so does
        // the machine that lost the processor once its poll is over.
        assert_eq!(pool.handoffs.pop_front(), Some(0));
        pool.notified = 0;
        pool.starting = 0;
        pool.spare = 2;
        // The next handoff leaves a spare waiting: no new machine.
        assert!(!pool.queue_handoff(0, false, || true));
        // A machine on its way counts as a spare.
        let mut arriving = PoolState::new();
        arriving.starting = 2;
        assert!(!arriving.queue_handoff(0, false, || false));
        // At shutdown, never.
        let mut closing = PoolState::new();
        assert!(!closing.queue_handoff(0, true, || false));
        assert_eq!(closing.starting, 0);
    }

    #[test]
    fn a_spare_notified_but_not_yet_running_still_counts() {
        // CPU starvation: the spare woken for a handoff does not run for a while, and the
        // preempted machine that lost the processor, back first, takes it off the queue
        // itself. The notified spare will find nothing and wait again: it is still a
        // spare, and the next handoffs need no new machine.
        let mut pool = PoolState::new();
        pool.spare = 1;
        assert!(pool.queue_handoff(0, false, || true));
        assert_eq!(pool.handoffs.pop_front(), Some(0));
        // The replacement arrives and waits; the first spare still has not run.
        pool.starting = 0;
        pool.spare = 2;
        for _ in 0..10 {
            // The new spare is woken too, and starved too; the processor is taken back.
            let woke = pool.spare > pool.notified;
            assert!(
                !pool.queue_handoff(0, false, || woke),
                "{} spares",
                pool.spare
            );
            assert_eq!(pool.handoffs.pop_front(), Some(0));
        }
        assert_eq!(pool.starting, 0);
    }
}
