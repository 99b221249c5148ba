//! Machines (M): the OS threads that run processors.
//!
//! A machine acquires a processor and runs the scheduling loop on it: take the next task,
//! poll it, repeat; search other processors when out of work; park in the processor's poller
//! when the search finds nothing. The processor is a value the machine holds; it is
//! published in the thread's context so that wakes on this thread reach its `runnext`.

use crate::context;
use crate::processor::Processor;

/// Runs `p` until the runtime shuts down, then drops what is left in its queues.
pub(crate) fn run(p: Processor) {
    let _runtime = context::set_runtime(p.shared.clone());
    let _enter = context::try_enter();
    {
        let _processor = context::set_processor(&p);
        schedule(&p);
    }
    p.drain();
}

/// Go's `schedule()`: find a runnable task and run it, forever.
fn schedule(p: &Processor) {
    while !p.shared.is_shutdown() {
        p.fire_timers();
        if let Some(task) = p.next_task() {
            p.run_task(task);
        } else if let Some(task) = p.search() {
            p.run_task(task);
        } else {
            p.park();
        }
    }
}
