//! The task state word (`sched/src/task/state.rs`), driven the way the runtime drives it.
//!
//! The harness below mirrors `task/raw.rs` (references, `Notified`, abort, shutdown),
//! `task/harness.rs` (poll, complete, cancel, the join waker and the output hand-over),
//! `task/waker.rs` (clone / wake / wake_by_ref / drop) and `task/join.rs`, function for
//! function, with these stand-ins:
//!
//! * the allocation is a [`Cell`] kept in memory by the model's `Arc`s; whether it is
//!   "allocated" is a loom cell, `alive`, that every access to the task reads (and asserts)
//!   and that `dealloc` writes. An access that is not ordered before the free is a data race
//!   loom reports; one ordered after it fails the assertion. So a use after free, a double
//!   free or a free while references remain are all caught;
//! * the future and the output live in a loom cell (`stage`), as does the join waker slot,
//!   so loom checks that the state word really gives exclusive access to them;
//! * the run queue (injector and local queues alike) is one `Mutex<VecDeque<Notified>>`
//!   that scheduler threads pop; the registry shard is a `Mutex<bool>` ("linked");
//! * the future talks to the outside world through a [`Chan`]: it stores a clone of its
//!   waker there (register, then check), and other threads set `go` and wake it, or keep,
//!   clone or drop the waker.
//!
//! Each test is one scenario with at most three threads besides the main one; at the end
//! the main thread plays the scheduler until the run queue is empty, checks liveness and
//! the orphan verdict, then runs the shutdown sweep and drops what is left, and checks that
//! the future, the output and the allocation each went exactly once.

use super::check;
use crate::state::{State, ToIdle, ToRunning, WakeAction, WakerDropped};
use loom::cell::UnsafeCell;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use loom::sync::{Arc, Mutex};
use loom::thread;
use std::collections::VecDeque;
use std::ptr::NonNull;

// ---------------------------------------------------------------------------------------
// Observations shared by the whole model (outside the task allocation).

/// Whether a check already failed: the model's destructors then do nothing, so that the
/// first failure is the one reported (a second panic while unwinding would abort).
fn unwinding() -> bool {
    std::thread::panicking()
}

#[derive(Default)]
struct Counters {
    /// Polls of the future in progress (must never exceed one).
    polling: AtomicUsize,
    polls: AtomicUsize,
    future_drops: AtomicUsize,
    output_drops: AtomicUsize,
    frees: AtomicUsize,
    /// `Shared::task_orphaned` calls.
    orphaned: AtomicUsize,
    /// Live `Notified`s (queued or about to be run); at most one at any time.
    notified: AtomicUsize,
    /// Live counted wakers, tracked by the model itself, to compare with the state word.
    wakers: AtomicUsize,
    /// Wakes of the join wakers, by join waker id.
    join_wakes: [AtomicUsize; 2],
}

impl Counters {
    fn assert_not_orphaned(&self) {
        assert_eq!(
            self.orphaned.load(Relaxed),
            0,
            "a waker was used after the task was reported orphaned (false positive)"
        );
    }
}

/// The runtime's shared state as far as one task is concerned (`Shared`).
struct Sched {
    queue: Mutex<VecDeque<Notified>>,
    /// The registry shard: whether the task is linked (and the registry holds a reference).
    registered: Mutex<bool>,
    c: Arc<Counters>,
}

impl Sched {
    fn schedule(&self, task: Notified) {
        self.queue.lock().unwrap().push_back(task);
    }

    fn pop(&self) -> Option<Notified> {
        self.queue.lock().unwrap().pop_front()
    }

    /// `Shared::task_orphaned`.
    fn task_orphaned(&self) {
        self.c.orphaned.fetch_add(1, Relaxed);
    }
}

/// What the future and its waker-holders share (a channel, a timer entry, ...).
#[derive(Default)]
struct Chan {
    /// The waker the future registered.
    slot: Mutex<Option<Waker>>,
    /// The event the future waits for.
    go: AtomicBool,
}

impl Chan {
    fn take(&self) -> Option<Waker> {
        self.slot.lock().unwrap().take()
    }

    /// The producer side: make the event happen, then wake whoever registered.
    fn fire(&self) {
        self.go.store(true, Relaxed);
        if let Some(w) = self.take() {
            w.wake();
        }
    }
}

// ---------------------------------------------------------------------------------------
// The future and its output.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    /// Registers its waker in the channel, then is Ready if `go` is set, else Pending.
    WaitForGo,
    /// First poll: wakes itself by reference (a yield) and returns Pending. Then WaitForGo.
    YieldThenWait,
    /// Clones its waker and drops the clone within the poll, then returns Pending: nothing
    /// can wake it again.
    PendingWithoutWaker,
}

struct Fut {
    behaviour: Behaviour,
    chan: Arc<Chan>,
    c: Arc<Counters>,
    polls: usize,
}

const OUTPUT: usize = 42;

impl Fut {
    fn poll(&mut self, cx: &WakerRef) -> Option<usize> {
        self.polls += 1;
        match self.behaviour {
            Behaviour::YieldThenWait if self.polls == 1 => {
                cx.wake_by_ref();
                None
            }
            Behaviour::WaitForGo | Behaviour::YieldThenWait => {
                let old = self.chan.slot.lock().unwrap().replace(cx.clone_waker());
                drop(old);
                self.chan.go.load(Relaxed).then_some(OUTPUT)
            }
            Behaviour::PendingWithoutWaker => {
                drop(cx.clone_waker());
                None
            }
        }
    }
}

impl Drop for Fut {
    fn drop(&mut self) {
        if unwinding() {
            return;
        }
        self.c.future_drops.fetch_add(1, Relaxed);
    }
}

/// The task's output, `Result<usize, JoinError>` (`None`: cancelled).
struct Out {
    value: Option<usize>,
    c: Arc<Counters>,
}

impl Drop for Out {
    fn drop(&mut self) {
        if unwinding() {
            return;
        }
        self.c.output_drops.fetch_add(1, Relaxed);
    }
}

enum Stage {
    Running(Fut),
    Finished(Out),
    Consumed,
}

/// A join waker (a `std::task::Waker` of the task awaiting the `JoinHandle`).
#[derive(Clone)]
struct JoinWaker {
    id: usize,
    c: Arc<Counters>,
}

impl JoinWaker {
    fn wake_by_ref(&self) {
        self.c.join_wakes[self.id].fetch_add(1, Relaxed);
    }

    fn will_wake(&self, other: &JoinWaker) -> bool {
        self.id == other.id
    }
}

// ---------------------------------------------------------------------------------------
// The task allocation (`harness::Cell` with its `Header`) and `RawTask`.

struct Cell {
    /// Whether the allocation is live (see the module docs).
    alive: UnsafeCell<bool>,
    state: State,
    sched: Arc<Sched>,
    stage: UnsafeCell<Stage>,
    join_waker: UnsafeCell<Option<JoinWaker>>,
}

// SAFETY: the cells inside are only accessed as the state word allows, which is what loom
// checks; everything else in the cell is `Send + Sync`.
unsafe impl Send for Cell {}
// SAFETY: as for `Send` above.
unsafe impl Sync for Cell {}

/// A pointer to the task; carries no reference by itself.
#[derive(Clone, Copy)]
struct RawTask(NonNull<Cell>);

// SAFETY: the model keeps the `Cell` in memory (an `Arc` per thread) for the whole execution;
// whether it is "allocated" is checked separately, through `alive`.
unsafe impl Send for RawTask {}
// SAFETY: as for `Send` above.
unsafe impl Sync for RawTask {}

impl RawTask {
    /// Every access to the allocation goes through here: it must be live.
    fn header(&self) -> &Cell {
        // SAFETY: see `Send`.
        let cell = unsafe { self.0.as_ref() };
        cell.alive
            // SAFETY: the task is alive until the last reference frees it, and this thread holds one; loom's cell reports any read that races the free's write.
            .with(|a| assert!(unsafe { *a }, "task used after it was freed"));
        cell
    }

    fn state(&self) -> &State {
        &self.header().state
    }

    fn drop_reference(self) {
        if self.state().ref_dec(1) {
            self.dealloc();
        }
    }

    fn dealloc(self) {
        let cell = self.header();
        assert_eq!(cell.state.load().refs(), 0, "freed with references left");
        // SAFETY: the last reference frees the task, so no other thread touches its cells now (loom's cells check it).
        cell.alive.with_mut(|a| unsafe {
            assert!(*a, "task freed twice");
            *a = false;
        });
        // Freeing drops whatever the cell holds, which the runtime's slot (a union) learns
        // from the state word alone: the future iff not complete, the output iff complete
        // with join interest and not taken. Check that this agrees with what is there.
        let state = cell.state.load();
        let output_there =
            state.is_complete() && state.is_join_interested() && !state.is_output_taken();
        cell.stage.with_mut(|s| {
            // SAFETY: the last reference frees the task, so no other thread touches its cells now (loom's cells check it).
            let stage = std::mem::replace(unsafe { &mut *s }, Stage::Consumed);
            assert!(
                !matches!(stage, Stage::Running(_)),
                "freed while the future is still there"
            );
            assert!(state.is_complete(), "freed before it completed");
            assert_eq!(
                matches!(stage, Stage::Finished(_)),
                output_there,
                "the state word says the output is there iff it is"
            );
        });
        // SAFETY: the last reference frees the task, so no other thread touches its cells now (loom's cells check it).
        cell.join_waker.with_mut(|w| drop(unsafe { (*w).take() }));
        cell.sched.c.frees.fetch_add(1, Relaxed);
    }

    /// `RawTask::remote_abort` (`JoinHandle::abort`).
    fn remote_abort(self) {
        if self.state().transition_to_notified_and_cancel() == WakeAction::Submit {
            self.header().sched.schedule(Notified::new(self));
        }
    }

    /// `RawTask::shutdown` / `harness::shutdown`: the registry hands over its reference.
    fn shutdown(self) {
        if self.state().transition_to_shutdown() {
            cancel(self);
        } else {
            self.drop_reference();
        }
    }
}

/// A scheduled task; owns the scheduler's reference.
struct Notified(RawTask);

impl Notified {
    fn new(raw: RawTask) -> Notified {
        let prev = raw.header().sched.c.notified.fetch_add(1, Relaxed);
        assert_eq!(prev, 0, "two Notified for one task at once");
        Notified(raw)
    }

    fn run(self) {
        let raw = self.0;
        std::mem::forget(self);
        raw.header().sched.c.notified.fetch_sub(1, Relaxed);
        poll(raw);
    }
}

impl Drop for Notified {
    fn drop(&mut self) {
        if unwinding() {
            return;
        }
        self.0.header().sched.c.notified.fetch_sub(1, Relaxed);
        self.0.drop_reference();
    }
}

// ---------------------------------------------------------------------------------------
// `harness.rs`

/// Vtable `poll`: consumes the `Notified` reference.
fn poll(raw: RawTask) {
    match raw.state().transition_to_running() {
        ToRunning::Skip => raw.drop_reference(),
        ToRunning::Cancel => cancel(raw),
        ToRunning::Poll => poll_running(raw),
    }
}

fn poll_running(raw: RawTask) {
    let c = raw.header().sched.c.clone();
    assert_eq!(c.polling.fetch_add(1, Relaxed), 0, "two polls at once");
    c.polls.fetch_add(1, Relaxed);
    let cx = WakerRef(raw);
    // SAFETY: the caller holds RUNNING, which grants this thread alone the future (loom's cell checks it).
    let res = raw.header().stage.with_mut(|s| match unsafe { &mut *s } {
        Stage::Running(fut) => fut.poll(&cx),
        _ => panic!("polled after completion"),
    });
    c.polling.fetch_sub(1, Relaxed);
    match res {
        Some(value) => {
            drop_future(raw);
            complete(raw, Some(value));
        }
        None => match raw.state().transition_to_idle() {
            ToIdle::Idle => {}
            ToIdle::Orphaned => {
                raw.header().sched.task_orphaned();
                raw.drop_reference();
            }
            ToIdle::Notified => raw.header().sched.schedule(Notified::new(raw)),
            ToIdle::Cancel => cancel(raw),
        },
    }
}

/// Drops the future. Caller holds RUNNING.
fn drop_future(raw: RawTask) {
    raw.header().stage.with_mut(|s| {
        // SAFETY: the caller holds RUNNING, which grants this thread alone the future (loom's cell checks it).
        let stage = std::mem::replace(unsafe { &mut *s }, Stage::Consumed);
        assert!(
            matches!(stage, Stage::Running(_)),
            "future dropped when it is not there"
        );
    });
}

fn cancel(raw: RawTask) {
    drop_future(raw);
    complete(raw, None);
}

/// Stores the output, publishes COMPLETE, wakes the joiner, releases the caller's reference
/// and the registry's.
fn complete(raw: RawTask, value: Option<usize>) {
    let cell = raw.header();
    let out = Out {
        value,
        c: cell.sched.c.clone(),
    };
    cell.stage
        // SAFETY: the caller still holds RUNNING, so the stage is this thread's alone until COMPLETE is published below.
        .with_mut(|s| unsafe { *s = Stage::Finished(out) });
    let prev = cell.state.transition_to_complete();
    if !prev.is_join_interested() {
        // SAFETY: COMPLETE without join interest: the JoinHandle is gone and will never read the output, so dropping it here is exclusive.
        cell.stage.with_mut(|s| unsafe { *s = Stage::Consumed });
    } else if prev.has_join_waker() {
        cell.join_waker.with(|w| {
            // SAFETY: JOIN_WAKER is set and COMPLETE was just published: the JoinHandle no longer writes the slot, only reads are left.
            if let Some(w) = unsafe { &*w } {
                w.wake_by_ref();
            }
        });
    }
    let registered = std::mem::replace(&mut *cell.sched.registered.lock().unwrap(), false);
    if cell.state.ref_dec(1 + registered as u64) {
        raw.dealloc();
    }
}

// ---------------------------------------------------------------------------------------
// `waker.rs`

/// The uncounted waker lent to `poll`.
struct WakerRef(RawTask);

impl WakerRef {
    fn clone_waker(&self) -> Waker {
        Waker::clone_raw(self.0)
    }

    fn wake_by_ref(&self) {
        wake_by_ref(self.0);
    }
}

/// A counted waker: one reference and one place in the waker count.
struct Waker(RawTask);

impl Waker {
    fn clone_raw(raw: RawTask) -> Waker {
        let c = raw.header().sched.c.clone();
        c.assert_not_orphaned();
        raw.state().clone_waker();
        c.wakers.fetch_add(1, Relaxed);
        Waker(raw)
    }

    fn wake(self) {
        let raw = self.0;
        std::mem::forget(self);
        let c = raw.header().sched.c.clone();
        c.assert_not_orphaned();
        c.wakers.fetch_sub(1, Relaxed);
        match raw.state().transition_to_notified_by_val() {
            WakeAction::Nothing => {}
            WakeAction::Dealloc => raw.dealloc(),
            WakeAction::Submit => raw.header().sched.schedule(Notified::new(raw)),
        }
    }

    fn wake_by_ref(&self) {
        wake_by_ref(self.0);
    }
}

impl Clone for Waker {
    fn clone(&self) -> Waker {
        Waker::clone_raw(self.0)
    }
}

fn wake_by_ref(raw: RawTask) {
    raw.header().sched.c.assert_not_orphaned();
    if raw.state().transition_to_notified_by_ref() == WakeAction::Submit {
        raw.header().sched.schedule(Notified::new(raw));
    }
}

impl Drop for Waker {
    fn drop(&mut self) {
        if unwinding() {
            return;
        }
        let raw = self.0;
        let c = raw.header().sched.c.clone();
        c.assert_not_orphaned();
        c.wakers.fetch_sub(1, Relaxed);
        match raw.state().drop_waker() {
            WakerDropped::Done => {}
            WakerDropped::Dealloc => raw.dealloc(),
            WakerDropped::Orphaned => {
                raw.header().sched.task_orphaned();
                raw.drop_reference();
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// `join.rs` and the JoinHandle half of `harness.rs`

struct JoinHandle(RawTask);

// SAFETY: as `RawTask`.
unsafe impl Send for JoinHandle {}

impl JoinHandle {
    /// `JoinHandle::poll` (`try_read_output`): the output, or `None` with `waker` registered.
    fn poll(&mut self, waker: &JoinWaker) -> Option<Out> {
        if !self.can_read_output(waker) {
            return None;
        }
        assert!(
            self.0.state().take_output().is_ok(),
            "JoinHandle read the output twice"
        );
        let stage = self
            .0
            .header()
            .stage
            // SAFETY: COMPLETE was observed with join interest: the output belongs to the JoinHandle, and the task never touches the stage again.
            .with_mut(|s| std::mem::replace(unsafe { &mut *s }, Stage::Consumed));
        let Stage::Finished(out) = stage else {
            panic!("JoinHandle found no output in a complete task");
        };
        Some(out)
    }

    fn can_read_output(&self, waker: &JoinWaker) -> bool {
        let cell = self.0.header();
        let snapshot = cell.state.load();
        if snapshot.is_complete() {
            return true;
        }
        if snapshot.has_join_waker() {
            let same = cell
                .join_waker
                // SAFETY: JOIN_WAKER is set: until the JoinHandle unsets it the slot is only read, by the JoinHandle and the completing task.
                .with(|w| unsafe { &*w }.as_ref().is_some_and(|w| w.will_wake(waker)));
            if same {
                return false;
            }
            if cell.state.unset_join_waker().is_err() {
                return true;
            }
        }
        self.set_join_waker(waker.clone()).is_err()
    }

    fn set_join_waker(&self, waker: JoinWaker) -> Result<(), ()> {
        let cell = self.0.header();
        // SAFETY: JOIN_WAKER is not set: the JoinHandle alone may write the slot.
        cell.join_waker.with_mut(|w| unsafe { *w = Some(waker) });
        let res = cell.state.set_join_waker();
        if res.is_err() {
            // SAFETY: `set_join_waker` failed, so JOIN_WAKER was never set: the slot is still the JoinHandle's alone.
            cell.join_waker.with_mut(|w| unsafe { *w = None });
        }
        res
    }

    fn abort(&self) {
        self.0.remote_abort();
    }
}

impl Drop for JoinHandle {
    /// `drop_join_handle`.
    fn drop(&mut self) {
        if unwinding() {
            return;
        }
        let cell = self.0.header();
        match cell.state.unset_join_interest() {
            Err(_complete) => {
                if cell.state.take_output().is_ok() {
                    // SAFETY: `unset_join_interest` found COMPLETE and `take_output` won: the
                    // output is the JoinHandle's, and the task never touches the slot again.
                    cell.stage.with_mut(|s| unsafe { *s = Stage::Consumed });
                }
            }
            // SAFETY: join interest is gone and JOIN_WAKER was set: the completed task will not read the slot again, so the JoinHandle owns it.
            Ok(prev) if prev.has_join_waker() => cell.join_waker.with_mut(|w| unsafe { *w = None }),
            Ok(_) => {}
        }
        self.0.drop_reference();
    }
}

// ---------------------------------------------------------------------------------------
// A model run: one spawned task and the threads around it.

#[derive(Clone)]
struct World {
    cell: Arc<Cell>,
    sched: Arc<Sched>,
    chan: Arc<Chan>,
    c: Arc<Counters>,
}

impl World {
    /// `Shared::spawn`: a new task, in the registry and in the run queue, and its
    /// `JoinHandle`.
    fn spawn(behaviour: Behaviour) -> (World, JoinHandle) {
        let c = Arc::new(Counters::default());
        let chan = Arc::new(Chan::default());
        let sched = Arc::new(Sched {
            queue: Mutex::new(VecDeque::new()),
            registered: Mutex::new(true),
            c: c.clone(),
        });
        let fut = Fut {
            behaviour,
            chan: chan.clone(),
            c: c.clone(),
            polls: 0,
        };
        let cell = Arc::new(Cell {
            alive: UnsafeCell::new(true),
            state: State::new(),
            sched: sched.clone(),
            stage: UnsafeCell::new(Stage::Running(fut)),
            join_waker: UnsafeCell::new(None),
        });
        let world = World {
            cell,
            sched,
            chan,
            c,
        };
        let raw = world.raw();
        world.sched.schedule(Notified::new(raw));
        (world, JoinHandle(raw))
    }

    fn raw(&self) -> RawTask {
        RawTask(NonNull::from(&*self.cell))
    }

    /// A machine: runs the task if it finds it in the run queue.
    fn run_once(&self) {
        if let Some(task) = self.sched.pop() {
            task.run();
        }
    }

    /// The machines keep going until the run queue is empty (the main thread, at the end).
    fn run_until_idle(&self) {
        while let Some(task) = self.sched.pop() {
            task.run();
        }
    }

    /// The state word, unless the task was freed already (then it had completed).
    fn snapshot(&self) -> Option<crate::state::Snapshot> {
        (self.c.frees.load(Relaxed) == 0).then(|| self.raw().state().load())
    }

    fn is_complete(&self) -> bool {
        match self.snapshot() {
            Some(s) => s.is_complete(),
            None => true,
        }
    }

    /// Checked once every other thread is done and the run queue is empty, before the
    /// shutdown sweep: the orphan verdict is exact.
    fn check_orphan_verdict(&self) {
        let wakers = self.c.wakers.load(Relaxed);
        let orphaned = self.c.orphaned.load(Relaxed);
        assert!(orphaned <= 1, "orphan reported {orphaned} times");
        let Some(s) = self.snapshot() else {
            assert_eq!(wakers, 0, "task freed while wakers exist");
            return;
        };
        assert_eq!(s.wakers() as usize, wakers, "waker count out of step");
        if s.is_idle() {
            assert_eq!(
                orphaned,
                (wakers == 0) as usize,
                "wrong orphan verdict: {s:?}"
            );
        } else if wakers > 0 {
            assert_eq!(orphaned, 0, "orphan reported though a waker exists");
        }
    }

    /// `Shared::finish_shutdown`, then drop what the outside world still holds; every
    /// resource must be gone exactly once afterwards.
    fn finish(self, jh: Option<JoinHandle>) {
        // `close_and_drain`: unlink under the lock, hand the reference to `shutdown`.
        let linked = std::mem::replace(&mut *self.sched.registered.lock().unwrap(), false);
        if linked {
            self.raw().shutdown();
        }
        // `drain_injector` (and the processors' queues).
        while let Some(task) = self.sched.pop() {
            drop(task);
        }
        drop(self.chan.take());
        drop(jh);
        assert_eq!(self.c.polling.load(Relaxed), 0);
        assert_eq!(self.c.future_drops.load(Relaxed), 1, "future drops");
        assert_eq!(self.c.output_drops.load(Relaxed), 1, "output drops");
        assert_eq!(self.c.frees.load(Relaxed), 1, "frees");
        assert_eq!(self.c.notified.load(Relaxed), 0, "Notified leaked");
        assert_eq!(self.c.wakers.load(Relaxed), 0, "wakers leaked");
    }

    fn spawn_thread<T: Send + 'static>(
        &self,
        f: impl FnOnce(World) -> T + Send + 'static,
    ) -> thread::JoinHandle<T> {
        let world = self.clone();
        thread::spawn(move || f(world))
    }
}

// ---------------------------------------------------------------------------------------
// Scenarios

/// A machine polls the task (it registers its waker and returns Pending) while another
/// thread fires the event and wakes it by value, and a third awaits the `JoinHandle`. The
/// wake is never lost: the task completes with its output, which the `JoinHandle` gets; if
/// the `JoinHandle` registered a waker, it was woken.
#[test]
fn wake_by_val_races_poll_and_join() {
    check(2, || {
        let (world, mut jh) = World::spawn(Behaviour::WaitForGo);
        let machine = world.spawn_thread(|w| w.run_once());
        let waker = world.spawn_thread(|w| w.chan.fire());
        let joiner = world.spawn_thread(move |w| {
            let out = jh.poll(&JoinWaker {
                id: 0,
                c: w.c.clone(),
            });
            (jh, out.is_some())
        });
        machine.join().unwrap();
        waker.join().unwrap();
        let (mut jh, got_output) = joiner.join().unwrap();

        world.run_until_idle();
        assert!(world.is_complete(), "wake lost: the task never completed");
        assert!(world.c.polls.load(Relaxed) >= 1);
        world.check_orphan_verdict();
        if !got_output {
            assert!(
                world.c.join_wakes[0].load(Relaxed) >= 1,
                "the JoinHandle registered a waker but was not woken"
            );
            let out = jh.poll(&JoinWaker {
                id: 0,
                c: world.c.clone(),
            });
            assert_eq!(out.expect("output").value, Some(OUTPUT));
        }
        world.finish(Some(jh));
    });
}

/// The waker is cloned, one clone woken by reference and both dropped, on two threads
/// other than the machine's; the `JoinHandle` is dropped at once (its output is then
/// dropped by the completing thread). Exercises the Done / Dealloc / Orphaned branches of
/// `drop_waker` and `wake_by_ref` against a running or idle task.
#[test]
fn clone_wake_by_ref_and_drop_on_other_threads() {
    check(2, || {
        let (world, jh) = World::spawn(Behaviour::WaitForGo);
        drop(jh);
        let machine = world.spawn_thread(|w| w.run_once());
        let t1 = world.spawn_thread(|w| {
            let waker = w.chan.take()?;
            let clone = waker.clone();
            drop(waker);
            Some(clone)
        });
        let clone = t1.join().unwrap();
        let t2 = world.spawn_thread(move |w| {
            if let Some(clone) = clone {
                w.chan.go.store(true, Relaxed);
                clone.wake_by_ref();
                drop(clone);
            }
        });
        machine.join().unwrap();
        t2.join().unwrap();

        world.run_until_idle();
        world.check_orphan_verdict();
        world.finish(None);
    });
}

/// The waker the future registered is dropped without a wake (a sender gone away) while
/// the task is being polled or after: the task is reported orphaned exactly once, whether
/// by the drop or by the end of the poll, and the waker is never used after that.
#[test]
fn dropping_the_last_waker_orphans_the_task() {
    check(3, || {
        let (world, jh) = World::spawn(Behaviour::WaitForGo);
        let machine = world.spawn_thread(|w| w.run_once());
        let dropper = world.spawn_thread(|w| drop(w.chan.take()));
        machine.join().unwrap();
        dropper.join().unwrap();

        world.run_until_idle();
        // The waker may have been dropped before the first poll registered it: drop
        // whatever is registered now, and the task must be orphaned either way.
        drop(world.chan.take());
        world.check_orphan_verdict();
        assert_eq!(world.c.orphaned.load(Relaxed), 1, "an orphan was missed");
        world.finish(Some(jh));
    });
}

/// A thread holds a clone of the waker for the whole run while the future drops its own
/// clones: the task must never be reported orphaned while that clone exists (zero false
/// positives); dropping it afterwards orphans the task.
#[test]
fn a_waker_alive_elsewhere_means_never_orphaned() {
    check(3, || {
        let (world, jh) = World::spawn(Behaviour::WaitForGo);
        let machine = world.spawn_thread(|w| {
            w.run_once();
            // A second poll: the future replaces (and drops) the waker it registered.
            w.run_once();
        });
        let holder = world.spawn_thread(|w| {
            let w1 = w.chan.take()?;
            let kept = w1.clone();
            w1.wake();
            Some(kept)
        });
        machine.join().unwrap();
        let kept = holder.join().unwrap();

        world.run_until_idle();
        drop(world.chan.take());
        world.check_orphan_verdict();
        if let Some(kept) = kept {
            assert_eq!(world.c.orphaned.load(Relaxed), 0);
            drop(kept);
            assert_eq!(world.c.orphaned.load(Relaxed), 1, "an orphan was missed");
        }
        world.finish(Some(jh));
    });
}

/// A future that clones and drops its waker inside the poll and returns Pending: the end of
/// the poll reports it orphaned (there is no waker left), once, even with a concurrent
/// abort; the abort then drops the future.
#[test]
fn pending_without_waker_is_orphaned_at_end_of_poll() {
    check(3, || {
        let (world, jh) = World::spawn(Behaviour::PendingWithoutWaker);
        let machine = world.spawn_thread(|w| w.run_once());
        machine.join().unwrap();
        world.run_until_idle();
        world.check_orphan_verdict();
        assert_eq!(world.c.orphaned.load(Relaxed), 1);

        let aborter = world.spawn_thread(move |_| {
            jh.abort();
            jh
        });
        let machine = world.spawn_thread(|w| w.run_once());
        let jh = aborter.join().unwrap();
        machine.join().unwrap();
        world.run_until_idle();
        assert_eq!(
            world.c.future_drops.load(Relaxed),
            1,
            "abort did not drop the future"
        );
        assert_eq!(world.c.orphaned.load(Relaxed), 1);
        world.finish(Some(jh));
    });
}

/// `abort` races a poll and a wake: the future is dropped by the machines (before any
/// shutdown) and the `JoinHandle` resolves as cancelled unless the task completed first.
#[test]
fn abort_races_poll_and_wake() {
    check(2, || {
        let (world, jh) = World::spawn(Behaviour::WaitForGo);
        let machine = world.spawn_thread(|w| w.run_once());
        let waker = world.spawn_thread(|w| {
            if let Some(waker) = w.chan.take() {
                waker.wake();
            }
        });
        let aborter = world.spawn_thread(move |_| {
            jh.abort();
            jh
        });
        machine.join().unwrap();
        waker.join().unwrap();
        let mut jh = aborter.join().unwrap();

        world.run_until_idle();
        assert!(world.is_complete(), "aborted task not completed");
        assert_eq!(
            world.c.future_drops.load(Relaxed),
            1,
            "abort did not drop the future"
        );
        let out = jh.poll(&JoinWaker {
            id: 0,
            c: world.c.clone(),
        });
        assert_eq!(
            out.expect("output").value,
            None,
            "an aborted task never ran to Ready"
        );
        world.check_orphan_verdict();
        world.finish(Some(jh));
    });
}

/// The shutdown sweep claims the task while a machine may be polling it (or about to) and
/// another thread fires the event and wakes it: the future is dropped exactly once, never
/// polled after completion, and wakes during shutdown are harmless.
#[test]
fn shutdown_races_poll_and_wake() {
    check(2, || {
        let (world, jh) = World::spawn(Behaviour::WaitForGo);
        let machine = world.spawn_thread(|w| w.run_once());
        let waker = world.spawn_thread(|w| w.chan.fire());
        let shutdown = world.spawn_thread(|w| {
            let linked = std::mem::replace(&mut *w.sched.registered.lock().unwrap(), false);
            if linked {
                w.raw().shutdown();
            }
        });
        machine.join().unwrap();
        waker.join().unwrap();
        shutdown.join().unwrap();
        assert!(world.is_complete());
        world.finish(Some(jh));
    });
}

/// The `JoinHandle` registers a waker, then replaces it with another one (unset + set),
/// then is dropped, while a machine completes the task and the event fires: the join waker
/// slot and the output are only ever accessed exclusively, the output is dropped once.
#[test]
fn join_waker_replace_and_drop_race_completion() {
    check(2, || {
        let (world, mut jh) = World::spawn(Behaviour::WaitForGo);
        world.chan.go.store(true, Relaxed);
        let machine = world.spawn_thread(|w| w.run_once());
        let joiner = world.spawn_thread(move |w| {
            let mut got = jh
                .poll(&JoinWaker {
                    id: 0,
                    c: w.c.clone(),
                })
                .is_some();
            if !got {
                got = jh
                    .poll(&JoinWaker {
                        id: 1,
                        c: w.c.clone(),
                    })
                    .is_some();
            }
            drop(jh);
            got
        });
        machine.join().unwrap();
        let got = joiner.join().unwrap();
        assert!(world.is_complete());
        let wakes: usize = world.c.join_wakes.iter().map(|n| n.load(Relaxed)).sum();
        assert!(wakes <= 1, "the join waker was woken {wakes} times");
        if got {
            assert_eq!(world.c.output_drops.load(Relaxed), 1);
        }
        world.finish(None);
    });
}

/// The future wakes itself by reference during its first poll (a yield: the task is
/// rescheduled by `transition_to_idle`) while another thread wakes it by value: a second
/// `Notified` never appears and the task completes.
#[test]
fn yield_races_external_wake() {
    check(3, || {
        let (world, jh) = World::spawn(Behaviour::YieldThenWait);
        let machine = world.spawn_thread(|w| {
            w.run_once();
            w.run_once();
        });
        let waker = world.spawn_thread(|w| w.chan.fire());
        machine.join().unwrap();
        waker.join().unwrap();
        world.run_until_idle();
        assert!(world.is_complete(), "wake lost: the task never completed");
        world.check_orphan_verdict();
        world.finish(Some(jh));
    });
}
