//! Machines (M): the OS threads that run processors, and the pool of spare ones.
//!
//! A machine acquires a processor and runs the scheduling loop on it: take the next task,
//! poll it, repeat; search other processors when out of work; park (`Processor::park`) when
//! the search finds nothing.
//!
//! There can be more machines than processors. When a machine is stuck in one poll for too
//! long (the monitor sees it) or enters blocking work (`block_in_place`), its processor is
//! handed to a *spare* machine, started on demand, so the processor's other tasks, timers and
//! sockets go on. The stuck machine finishes its poll, notices it lost the processor, and
//! becomes a spare itself: it waits for a processor to be handed to it, and exits after
//! [`SPARE_KEEP_ALIVE`] without one.

use crate::context;
use crate::processor::Processor;
use crate::shared::Shared;
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

#[derive(Default)]
struct PoolState {
    /// Processors handed off and waiting for a machine.
    handoffs: VecDeque<usize>,
    /// Spare machines waiting for a processor.
    spare: usize,
    /// Spare machines notified of a handoff but not yet awake.
    notified: usize,
    threads: Vec<JoinHandle<()>>,
    shutdown: bool,
}

impl Machines {
    pub(crate) fn new() -> Machines {
        Machines {
            state: Mutex::new(PoolState::default()),
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

    /// Hands processor `index` to a spare machine, starting one if none is waiting.
    pub(crate) fn hand_off(shared: &Arc<Shared>, index: usize) {
        let mut state = shared.machines.state.lock();
        state.handoffs.push_back(index);
        if state.spare > state.notified {
            state.notified += 1;
            shared.machines.handed.notify_one();
            return;
        }
        drop(state);
        if let Err(e) = Self::spawn_thread(shared, None, None) {
            // The processor stays queued; the next machine to go spare takes it. Say why
            // this processor's tasks are late rather than failing silently.
            eprintln!("goro: cannot start a machine for a handed-off processor: {e}");
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

    /// A spare machine waits for a handed-off processor; `None` on shutdown or keep-alive.
    fn wait_for_processor(&self) -> Option<usize> {
        let mut state = self.state.lock();
        let deadline = Instant::now() + SPARE_KEEP_ALIVE;
        loop {
            if state.shutdown {
                return None;
            }
            if let Some(index) = state.handoffs.pop_front() {
                return Some(index);
            }
            state.spare += 1;
            let timed_out = self.handed.wait_until(&mut state, deadline).timed_out();
            state.spare -= 1;
            state.notified = state.notified.saturating_sub(1);
            if timed_out && state.handoffs.is_empty() {
                return None;
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
fn run(shared: Arc<Shared>, mut next: Option<usize>) {
    let machine = NEXT_MACHINE_ID.fetch_add(1, Relaxed);
    let _runtime = context::set_runtime(shared.clone(), context::ThreadRole::Machine);
    let _enter = context::try_enter();
    while let Some(index) = next.take().or_else(|| shared.machines.wait_for_processor()) {
        // SAFETY: the processor was handed to this machine: at start, or through `hand_off`
        // after its previous owner lost it.
        let p = unsafe { shared.processor(index) };
        p.acquire(machine);
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
                if !p.run_task(task) {
                    return;
                }
            }
            None => p.park(),
        }
    }
}
