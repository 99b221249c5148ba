//! Idle processors and spinning (`sched/src/idle.rs`), with the park protocol
//! (`sched/src/park.rs`) underneath.
//!
//! Each processor is a thread running the scheduling loop of `machine.rs` (`schedule`) with
//! `Processor::next_task`, `search`, `run_task`/`stop_spinning` and `park` of
//! `processor/`, and `Shared::schedule_remote`, `notify_work`, `unpark`,
//! `has_visible_work` and `begin_shutdown` of `shared.rs`, transcribed step by step. What
//! the model leaves out, and why that is sound here:
//!
//! * timers, I/O and poll stealing (`fire_timers`, `poll_io_now`, `steal_timers`,
//!   `steal_polls`): there are none in these scenarios; each is one more place a
//!   processor might find work, never one it must look at. (A park that blocked in the
//!   poller leaves the parked state, `leave_parked`, before its events are dispatched, so
//!   their wakes are those of a running processor: the local pushes modelled here. The
//!   pushes of an I/O batch skip `notify_work`, `Processor::dispatch`, and call it later
//!   or never: that cannot strand a task, because the pushing processor is running and
//!   pops its own queue before it can search or park; the later call only asks for help.)
//! * `runnext`: no scenario uses it (a task scheduled locally here goes to the local queue,
//!   as `schedule_yield` does), so it is always empty;
//! * batches: with at most two tasks in a queue, crossbeam's `steal_batch_and_pop` moves
//!   `ceil(len / 2) - 1 = 0` extra tasks to the thief's local queue, so a steal takes one
//!   task; for the same reason one round of the search loop stands for `STEAL_ROUNDS`;
//! * the injector and the local queues are index counters with the memory orderings
//!   crossbeam-deque uses (the task ids sit in relaxed atomic slots): `Injector::push` is a
//!   SeqCst read-modify-write of the tail; `Worker::push` writes the slot, fences (Release)
//!   and stores the back (Release); the owner's FIFO `pop` is a SeqCst `fetch_add` of the
//!   front; a steal loads the front/head (Acquire), fences (SeqCst), loads the back/tail and
//!   claims with a SeqCst CAS; `is_empty` is what crossbeam does too.
//!
//! Processors park as in a runtime of several processors: the first in the poller watch,
//! the others in their sleepers; both are the stand-in of [`super::poller`]. The first producer is the model's main
//! thread (one thread fewer to interleave), the others are threads of their own. The last task to run starts the
//! shutdown (`begin_shutdown`: flag, fence, unpark everyone), so that every processor
//! eventually leaves its loop; a processor parked for good with a task left in the
//! injector shows up as a loom deadlock (a lost wake-up).
//!
//! Checked: every task is run, exactly once; the processors all leave their loops; and
//! the counts are consistent at the end: every processor is counted unparked, and the
//! spinning count equals the number of processors that believe they are spinning (a
//! processor woken by `notify_one` is counted as spinning for it).

use super::check;
use super::park::{park_in_watch_or_sleeper, unpark_in_watch_or_sleeper};
use super::poller::Poller;
use crate::idle::Idle;
use crate::park::ParkState;
use loom::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering::*};
use loom::sync::Arc;
use loom::thread;

const NUM_PROCS: usize = 2;

/// The global injector, as counters (see the module docs).
struct Injector {
    head: AtomicUsize,
    tail: AtomicUsize,
}

impl Injector {
    /// Returns the task's number (tasks are numbered in push order).
    fn push(&self) -> usize {
        self.tail.fetch_add(1, SeqCst)
    }

    fn steal(&self) -> Option<usize> {
        loop {
            let head = self.head.load(Acquire);
            fence(SeqCst);
            let tail = self.tail.load(Relaxed);
            if head == tail {
                return None;
            }
            if self
                .head
                .compare_exchange(head, head + 1, SeqCst, Acquire)
                .is_ok()
            {
                return Some(head);
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.head.load(SeqCst) == self.tail.load(SeqCst)
    }
}

/// A processor's local queue: crossbeam-deque's FIFO `Worker` and its `Stealer`.
struct LocalQueue {
    front: AtomicUsize,
    back: AtomicUsize,
    slots: [AtomicUsize; 2],
}

impl LocalQueue {
    fn new() -> LocalQueue {
        LocalQueue {
            front: AtomicUsize::new(0),
            back: AtomicUsize::new(0),
            slots: [AtomicUsize::new(0), AtomicUsize::new(0)],
        }
    }

    /// `Worker::push` (owner only).
    fn push(&self, task: usize) {
        let b = self.back.load(Relaxed);
        self.slots[b % 2].store(task, Relaxed);
        fence(Release);
        self.back.store(b + 1, Release);
    }

    /// `Worker::pop`, FIFO flavour (owner only).
    fn pop(&self) -> Option<usize> {
        let b = self.back.load(Relaxed);
        let f = self.front.load(Relaxed);
        if b <= f {
            return None;
        }
        let f = self.front.fetch_add(1, SeqCst);
        if b < f + 1 {
            self.front.store(f, Relaxed);
            return None;
        }
        Some(self.slots[f % 2].load(Relaxed))
    }

    /// `Stealer::steal_batch_and_pop` of one task (see the module docs).
    fn steal(&self) -> Option<usize> {
        loop {
            let f = self.front.load(Acquire);
            fence(SeqCst);
            let b = self.back.load(Acquire);
            if b <= f {
                return None;
            }
            let task = self.slots[f % 2].load(Relaxed);
            if self
                .front
                .compare_exchange(f, f + 1, SeqCst, Relaxed)
                .is_ok()
            {
                return Some(task);
            }
        }
    }

    /// `Stealer::is_empty`.
    fn is_empty(&self) -> bool {
        let f = self.front.load(Acquire);
        fence(SeqCst);
        let b = self.back.load(Acquire);
        b <= f
    }
}

/// `ProcShared`, the parts that matter here.
struct ProcShared {
    local: LocalQueue,
    park: ParkState,
    sleeper: Poller,
}

/// `Shared`, the parts that matter here.
struct Shared {
    procs: Vec<ProcShared>,
    /// The `PollerWatch`: one parked processor at a time blocks in it, the others in their
    /// sleepers.
    watch: Poller,
    injector: Injector,
    idle: Idle,
    shutdown: AtomicBool,
    /// Runs per task.
    runs: Vec<AtomicUsize>,
    /// Tasks run so far.
    ran: AtomicUsize,
    /// Tasks the scenario will push; the one that makes `ran` reach it starts the shutdown.
    tasks: usize,
    /// What the tasks do when polled.
    behaviour: Behaviour,
}

/// What the tasks do when polled; tasks are numbered in the order they are created,
/// those pushed by producers first.
#[derive(Clone, Copy, Default)]
struct Behaviour {
    /// This task never returns from its poll: the processor running it is stuck for good,
    /// still counted unparked and not spinning.
    stuck: Option<usize>,
    /// This task, when polled, schedules a new task on its processor's local queue (as
    /// `schedule_yield` does: push, then `notify_work`). The new task gets the next number.
    spawns: Option<usize>,
}

impl Shared {
    fn new(tasks: usize, behaviour: Behaviour) -> Shared {
        Shared {
            procs: (0..NUM_PROCS)
                .map(|_| ProcShared {
                    local: LocalQueue::new(),
                    park: ParkState::new(),
                    sleeper: Poller::new(),
                })
                .collect(),
            watch: Poller::new(),
            injector: Injector {
                head: AtomicUsize::new(0),
                tail: AtomicUsize::new(0),
            },
            idle: Idle::new(NUM_PROCS, NUM_PROCS),
            shutdown: AtomicBool::new(false),
            runs: (0..tasks).map(|_| AtomicUsize::new(0)).collect(),
            ran: AtomicUsize::new(0),
            tasks,
            behaviour,
        }
    }

    /// `Shared::schedule_remote` (a wake or spawn from outside any processor).
    fn schedule_remote(&self) {
        self.injector.push();
        fence(SeqCst);
        if self.is_shutdown() {
            // `drain_injector` (the shutdown only starts once every task ran, so this
            // finds nothing; a task dropped here would fail the final check).
            while self.injector.steal().is_some() {}
            return;
        }
        self.notify_work();
    }

    /// `Shared::notify_work`.
    fn notify_work(&self) {
        if let Some(index) = self.idle.notify_one() {
            self.unpark(index);
        }
    }

    /// `Shared::unpark`.
    fn unpark(&self, index: usize) {
        let p = &self.procs[index];
        unpark_in_watch_or_sleeper(&self.watch, &p.park, &p.sleeper);
    }

    /// `Shared::has_visible_work` (`runnext` is always empty here).
    fn has_visible_work(&self) -> bool {
        !self.injector.is_empty() || self.procs.iter().any(|p| !p.local.is_empty())
    }

    fn is_shutdown(&self) -> bool {
        self.shutdown.load(Acquire)
    }

    /// `Shared::begin_shutdown`.
    fn begin_shutdown(&self) {
        self.shutdown.store(true, SeqCst);
        fence(SeqCst);
        for index in 0..self.procs.len() {
            self.unpark(index);
        }
    }
}

/// The owned half of a processor (`Processor`).
struct Processor {
    index: usize,
    shared: Arc<Shared>,
    spinning: bool,
}

/// How a processor's loop ended.
enum Exit {
    /// Shutdown; whether the processor believed it was spinning.
    Shutdown { spinning: bool },
    /// Stuck for good in a task's poll (still counted unparked, not spinning).
    Stuck,
}

impl Processor {
    /// `machine::schedule`.
    fn schedule(mut self) -> Exit {
        while !self.shared.is_shutdown() {
            let task = match self.next_task() {
                Some(task) => Some(task),
                None => self.search(),
            };
            match task {
                Some(task) => {
                    if !self.run_task(task) {
                        return Exit::Stuck;
                    }
                }
                None => self.park(),
            }
        }
        Exit::Shutdown {
            spinning: self.spinning,
        }
    }

    fn local(&self) -> &LocalQueue {
        &self.shared.procs[self.index].local
    }

    /// `Processor::next_task` (`runnext` is always empty here): local queue, injector.
    fn next_task(&self) -> Option<usize> {
        self.local().pop().or_else(|| self.shared.injector.steal())
    }

    /// `Processor::search`, one round (see the module docs).
    fn search(&mut self) -> Option<usize> {
        if !self.spinning {
            if !self.shared.idle.try_begin_spinning() {
                return None;
            }
            self.spinning = true;
        }
        for victim in (0..NUM_PROCS).filter(|&v| v != self.index) {
            if let Some(task) = self.shared.procs[victim].local.steal() {
                return Some(task);
            }
        }
        self.shared.injector.steal()
    }

    /// `Processor::run_task`. Returns `false` if the task never returns from its poll.
    fn run_task(&mut self, task: usize) -> bool {
        if self.spinning {
            self.stop_spinning();
        }
        let shared = &*self.shared;
        assert_eq!(
            shared.runs[task].fetch_add(1, Relaxed),
            0,
            "task {task} ran twice"
        );
        if shared.behaviour.spawns == Some(task) {
            // `schedule_yield`: to the local queue, then look for a processor to take it.
            let producer_tasks = shared.tasks - 1;
            self.local().push(producer_tasks);
            shared.notify_work();
        }
        if shared.ran.fetch_add(1, AcqRel) + 1 == shared.tasks {
            // The last task ends the model run: stop every processor.
            shared.begin_shutdown();
        }
        shared.behaviour.stuck != Some(task)
    }

    /// `Processor::stop_spinning`.
    fn stop_spinning(&mut self) {
        self.spinning = false;
        if self.shared.idle.end_spinning() {
            self.shared.notify_work();
        }
    }

    /// `Processor::park` (no timers: no timeout).
    fn park(&mut self) {
        let was_spinning = std::mem::replace(&mut self.spinning, false);
        let shared = &*self.shared;
        if shared.idle.transition_to_parked(self.index, was_spinning) && shared.has_visible_work() {
            shared.notify_work();
        }
        let ps = &shared.procs[self.index];
        if !shared.is_shutdown() {
            park_in_watch_or_sleeper(&shared.watch, &ps.park, &ps.sleeper);
        }
        self.spinning = shared.idle.transition_from_parked(self.index);
    }
}

/// Runs `NUM_PROCS` processors and `producers` (how many tasks each pushes to the
/// injector, one after the other, each push followed by `notify_work`), then checks the
/// outcome.
fn run_model(producers: &[usize], behaviour: Behaviour) {
    let tasks = producers.iter().sum::<usize>() + behaviour.spawns.is_some() as usize;
    let shared = Arc::new(Shared::new(tasks, behaviour));
    let procs: Vec<_> = (0..NUM_PROCS)
        .map(|index| {
            let p = Processor {
                index,
                shared: shared.clone(),
                spinning: false,
            };
            thread::spawn(move || p.schedule())
        })
        .collect();
    // The first producer is the main thread itself (one thread fewer to interleave).
    let (&first, others) = producers.split_first().expect("a producer");
    let others: Vec<_> = others
        .iter()
        .map(|&n| {
            let shared = shared.clone();
            thread::spawn(move || {
                for _ in 0..n {
                    shared.schedule_remote();
                }
            })
        })
        .collect();
    for _ in 0..first {
        shared.schedule_remote();
    }
    for p in others {
        p.join().unwrap();
    }
    let mut spinning = 0;
    for p in procs {
        match p.join().unwrap() {
            Exit::Shutdown { spinning: s } => spinning += s as usize,
            Exit::Stuck => {}
        }
    }
    for (task, runs) in shared.runs.iter().enumerate() {
        assert_eq!(runs.load(Relaxed), 1, "task {task} was not run");
    }
    assert_eq!(
        shared.idle.counts(),
        (NUM_PROCS, spinning),
        "(unparked, spinning) out of step with the processors"
    );
}

/// Two processors run out of work and go to sleep while a thread outside the runtime
/// schedules a task: it is always run, whether a spinner finds it, the last spinner's
/// re-check sees it, or `notify_one` wakes a parked processor.
#[test]
fn remote_task_while_processors_go_idle() {
    check(3, || run_model(&[1], Behaviour::default()));
}

/// As above with a burst of two tasks from one producer: the processor woken for the first
/// is counted as spinning, so the second push wakes nobody; the woken processor, on
/// finding its task, is the last spinner and wakes another for the rest.
#[test]
fn burst_of_two_remote_tasks() {
    check(3, || run_model(&[2], Behaviour::default()));
}

/// Two producers each schedule one task at the same time.
#[test]
fn two_producers() {
    check(2, || run_model(&[1, 1], Behaviour::default()));
}

/// Two tasks from one producer, the first of which never returns from its poll: the other
/// task must still be run by the other processor, also when the busy processor was the
/// spinner (so the other one was refused spinning and parks as a non-spinning processor)
/// and both pushes saw every processor counted as unparked, so woke nobody.
#[test]
fn remote_task_while_other_processor_is_busy() {
    check(3, || {
        let behaviour = Behaviour {
            stuck: Some(0),
            spawns: None,
        };
        run_model(&[2], behaviour)
    });
}

/// A task from outside, when polled, schedules another task on its processor's local
/// queue (push, `notify_work`) and then never returns: the other processor must steal and
/// run the new task. The local push is a Release store, not SeqCst: the fence in
/// `notify_one` is what pairs with the parking processor's fence.
#[test]
fn local_work_of_a_stuck_processor() {
    check(3, || {
        let behaviour = Behaviour {
            stuck: Some(0),
            spawns: Some(0),
        };
        run_model(&[1], behaviour)
    });
}
