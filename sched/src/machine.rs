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
//! more on a loaded machine): the runtime starts with one spare, and a handoff that takes
//! the last waiting spare starts a replacement after the processor is on its way. Spares
//! beyond one that were not needed during a window of [`SPARE_KEEP_ALIVE`] exit (see
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
    threads: Vec<JoinHandle<()>>,
    shutdown: bool,
    /// Which spares were not needed lately.
    low_water: LowWater,
}

impl Machines {
    pub(crate) fn new() -> Machines {
        Machines {
            state: Mutex::new(PoolState {
                handoffs: VecDeque::new(),
                spare: 0,
                notified: 0,
                threads: Vec::new(),
                shutdown: false,
                low_water: LowWater::new(SPARE_KEEP_ALIVE),
            }),
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
        Self::spawn_thread(shared, None, None)
    }

    /// Hands processor `index` to a spare machine; then, if no spare is left waiting, starts
    /// one for the next handoff (or for this one, if none was waiting).
    pub(crate) fn hand_off(shared: &Arc<Shared>, index: usize) {
        let mut state = shared.machines.state.lock();
        state.handoffs.push_back(index);
        if state.spare > state.notified {
            state.notified += 1;
            let available = state.spare - state.notified;
            state.low_water.claimed(available);
            shared.machines.handed.notify_one();
        }
        let spares_left = state.spare > state.notified;
        drop(state);
        if spares_left || shared.is_shutdown() {
            return;
        }
        if let Err(e) = Self::spawn_thread(shared, None, None) {
            // A queued processor stays queued; the next machine to go spare takes it. Say
            // why this processor's tasks may be late rather than failing silently.
            eprintln!("goro: cannot start a spare machine: {e}");
        }
    }

    fn spawn_thread(
        shared: &Arc<Shared>,
        first: Option<usize>,
        core: Option<core_affinity::CoreId>,
    ) -> io::Result<()> {
        let mut builder = std::thread::Builder::new().name(shared.config.thread_name.clone());
        if let Some(size) = shared.config.thread_stack_size {
            builder = builder.stack_size(size);
        }
        let machine_shared = shared.clone();
        let thread = builder.spawn(move || {
            if let Some(core) = core {
                core_affinity::set_for_current(core);
            }
            run(machine_shared, first);
        })?;
        let mut state = shared.machines.state.lock();
        state.threads.retain(|t| !t.is_finished());
        state.threads.push(thread);
        Ok(())
    }

    /// A spare machine waits for a handed-off processor; `None` on shutdown, or when it is
    /// a spare the runtime did not need lately (see `low_water.rs`).
    fn wait_for_processor(&self) -> Option<usize> {
        let mut state = self.state.lock();
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
            self.handed.wait_for(&mut state, SPARE_KEEP_ALIVE);
            state.spare -= 1;
            state.notified = state.notified.saturating_sub(1);
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
fn run(shared: Arc<Shared>, mut next: Option<usize>) {
    let machine = MachineId::new(NEXT_MACHINE_ID.fetch_add(1, Relaxed))
        .expect("machine ids start at 1 and a usize does not wrap in a process's life");
    let clock = MachineClock::current();
    let _runtime = context::set_runtime(shared.clone(), context::ThreadRole::Machine);
    let _enter = context::try_enter();
    while let Some(index) = next.take().or_else(|| shared.machines.wait_for_processor()) {
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
