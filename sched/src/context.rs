//! What the current thread is doing for the runtime, in two thread-locals.
//!
//! In `CONTEXT`:
//!
//! * `runtime`: the runtime whose `Handle::current()` this thread sees (machines, blocking
//!   threads, and threads inside `block_on`), and `role`: which of those the thread is.
//! * `entered`: the thread is driving the runtime (a machine, or inside `block_on`), so
//!   blocking on another runtime future here would deadlock: `block_on` refuses.
//! * `processor`: the processor this machine holds, so a wake on this thread can go to its
//!   `runnext` slot instead of the injector; `machine`: this machine's id, which the
//!   processor's ownership check compares against.
//! * `yielded`: a task that asked to run again as its poll ended (it yielded, or was woken
//!   while running); the machine queues it once it knows it still owns its processor.
//!
//! What the current task poll is doing lives in a second thread-local, `POLL`, read and
//! written by every goro leaf future's poll:
//!
//! * `task`: the id of the task being polled (`task::try_id`).
//! * `budget`: the cooperative budget of the current poll (see `coop`).
//! * `suspension`: the goro leaf future that last returned `Pending` in the current poll
//!   (see `task/suspend.rs`).
//!
//! `POLL` holds only plain values (nothing to drop), so it needs no destructor: an access is
//! one load or store off the thread pointer, without the check whether the thread-local is
//! registered or already destroyed that `CONTEXT` (which holds an `Arc` and a task) costs.

use crate::coop::Budget;
use crate::ownership::MachineId;
use crate::processor::Processor;
use crate::shared::Shared;
use crate::task::{Id, Notified, Suspension};
use std::cell::{Cell, RefCell};
use std::ptr::NonNull;
use std::sync::Arc;

struct Context {
    runtime: RefCell<Option<Arc<Shared>>>,
    role: Cell<ThreadRole>,
    entered: Cell<bool>,
    processor: Cell<Option<NonNull<Processor>>>,
    machine: Cell<Option<MachineId>>,
    yielded: Cell<Option<Notified>>,
}

/// The state of the task poll running on this thread (see the module essay).
struct PollState {
    task: Cell<Option<Id>>,
    budget: Cell<Budget>,
    suspension: Cell<Option<Suspension>>,
}

thread_local! {
    static CONTEXT: Context = const {
        Context {
            runtime: RefCell::new(None),
            role: Cell::new(ThreadRole::Entered),
            entered: Cell::new(false),
            processor: Cell::new(None),
            machine: Cell::new(None),
            yielded: Cell::new(None),
        }
    };
    static POLL: PollState = const {
        PollState {
            task: Cell::new(None),
            budget: Cell::new(Budget::unconstrained()),
            suspension: Cell::new(None),
        }
    };
}

/// The runtime of this thread, if any.
pub(crate) fn current_runtime() -> Option<Arc<Shared>> {
    CONTEXT
        .try_with(|cx| cx.runtime.borrow().clone())
        .ok()
        .flatten()
}

/// Calls `f` with this thread's runtime without cloning the `Arc`.
pub(crate) fn with_runtime<R>(f: impl FnOnce(Option<&Arc<Shared>>) -> R) -> R {
    let mut f = Some(f);
    CONTEXT
        .try_with(|cx| (f.take().unwrap())(cx.runtime.borrow().as_ref()))
        .unwrap_or_else(|_| (f.take().unwrap())(None))
}

/// What a thread is to the runtime it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ThreadRole {
    /// One of its machines (running tasks, or inside `block_in_place` in one).
    Machine,
    /// One of its blocking-pool threads.
    Blocking,
    /// Another thread, inside `block_on`.
    Entered,
}

/// Restores the previous runtime of the thread (and the thread's role in it) when dropped.
pub(crate) struct RuntimeGuard {
    prev: Option<Arc<Shared>>,
    prev_role: ThreadRole,
}

/// Makes `shared` this thread's runtime, with the thread in `role`, until the guard drops.
/// A machine or blocking thread (this is where they start serving the runtime) then runs
/// the configured thread-start hook.
pub(crate) fn set_runtime(shared: Arc<Shared>, role: ThreadRole) -> RuntimeGuard {
    let hook = match role {
        ThreadRole::Machine | ThreadRole::Blocking => shared.config.on_thread_start.clone(),
        ThreadRole::Entered => None,
    };
    let guard = CONTEXT.with(|cx| RuntimeGuard {
        prev: cx.runtime.replace(Some(shared)),
        prev_role: cx.role.replace(role),
    });
    if let Some(hook) = hook {
        (hook.0)();
    }
    guard
}

/// This thread's role in the runtime `shared`, or `None` if the thread is not in it.
pub(crate) fn role_in(shared: &Arc<Shared>) -> Option<ThreadRole> {
    CONTEXT
        .try_with(|cx| match &*cx.runtime.borrow() {
            Some(current) if Arc::ptr_eq(current, shared) => Some(cx.role.get()),
            _ => None,
        })
        .ok()
        .flatten()
}

impl Drop for RuntimeGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        let _ = CONTEXT.try_with(|cx| {
            *cx.runtime.borrow_mut() = prev;
            cx.role.set(self.prev_role);
        });
    }
}

/// Marks the thread as driving a runtime until dropped.
pub(crate) struct EnterGuard(());

/// Enters the "driving a runtime" state, or panics with `what` explained if the thread
/// already drives one.
#[track_caller]
pub(crate) fn enter(what: &str) -> EnterGuard {
    match try_enter() {
        Some(guard) => guard,
        None => panic!(
            "{what}: cannot block this thread on a goro future because the thread is already \
             driving a runtime (it is a goro worker, or inside `block_on`). Blocking here \
             would stop the tasks this thread runs. Use `.await` instead, or move the blocking \
             call to `spawn_blocking`."
        ),
    }
}

/// Enters the "driving a runtime" state if the thread is not in it already.
pub(crate) fn try_enter() -> Option<EnterGuard> {
    CONTEXT.with(|cx| {
        if cx.entered.replace(true) {
            None
        } else {
            Some(EnterGuard(()))
        }
    })
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let _ = CONTEXT.try_with(|cx| cx.entered.set(false));
    }
}

/// Publishes the processor this machine holds until the guard drops.
pub(crate) struct ProcessorGuard(());

pub(crate) fn set_processor(p: &Processor, machine: MachineId) -> ProcessorGuard {
    CONTEXT.with(|cx| {
        cx.processor.set(Some(NonNull::from(p)));
        cx.machine.set(Some(machine));
    });
    ProcessorGuard(())
}

/// Forgets the processor early (`block_in_place` gave it away).
pub(crate) fn clear_processor() {
    let _ = CONTEXT.try_with(|cx| cx.processor.set(None));
}

/// This thread's machine id (`None` on threads that are not machines).
#[inline]
pub(crate) fn machine_id() -> Option<MachineId> {
    CONTEXT.try_with(|cx| cx.machine.get()).ok().flatten()
}

/// Leaves the "driving a runtime" state until the guard drops (for `block_in_place`).
pub(crate) struct ExitGuard(bool);

pub(crate) fn exit() -> ExitGuard {
    ExitGuard(CONTEXT.with(|cx| cx.entered.replace(false)))
}

impl Drop for ExitGuard {
    fn drop(&mut self) {
        let entered = self.0;
        let _ = CONTEXT.try_with(|cx| cx.entered.set(entered));
    }
}

impl Drop for ProcessorGuard {
    fn drop(&mut self) {
        let _ = CONTEXT.try_with(|cx| cx.processor.set(None));
    }
}

/// Calls `f` with the processor this thread holds (or held, until its current poll ends:
/// check ownership before touching its owned half), if any.
#[inline]
pub(crate) fn with_processor<R>(f: impl FnOnce(Option<&Processor>) -> R) -> R {
    let p = CONTEXT.try_with(|cx| cx.processor.get()).ok().flatten();
    // SAFETY: the pointer is set by `set_processor` from a processor stored in a `Shared`
    // this thread keeps alive (machines hold an `Arc<Shared>`), and cleared before the
    // machine lets go of that `Arc`.
    f(p.map(|p| unsafe { p.as_ref() }))
}

/// Runs `f` as the poll of task `id`: sets `task::try_id()`, a fresh budget and an empty
/// suspension slot.
#[inline]
pub(crate) fn with_current_task<R>(id: Id, f: impl FnOnce() -> R) -> R {
    struct Reset(Option<Id>, Budget);
    impl Drop for Reset {
        fn drop(&mut self) {
            POLL.with(|poll| {
                poll.task.set(self.0);
                poll.budget.set(self.1);
            });
        }
    }
    let _reset = POLL.with(|poll| {
        poll.suspension.set(None);
        Reset(
            poll.task.replace(Some(id)),
            poll.budget.replace(Budget::initial()),
        )
    });
    f()
}

/// The id of the task being polled on this thread.
#[inline]
pub(crate) fn current_task() -> Option<Id> {
    POLL.with(|poll| poll.task.get())
}

#[inline]
pub(crate) fn set_suspension(suspension: Option<Suspension>) {
    POLL.with(|poll| poll.suspension.set(suspension));
}

/// Notes `suspension` unless a suspension was noted earlier in this poll.
#[inline]
pub(crate) fn set_suspension_if_none(suspension: Suspension) {
    POLL.with(|poll| {
        if poll.suspension.get().is_none() {
            poll.suspension.set(Some(suspension));
        }
    });
}

/// The suspension point noted during the poll that just ended, if any.
#[inline]
pub(crate) fn take_suspension() -> Option<Suspension> {
    POLL.with(|poll| poll.suspension.take())
}

#[inline]
pub(crate) fn budget() -> Budget {
    POLL.with(|poll| poll.budget.get())
}

/// Takes one unit of the budget of the task being polled, in one thread-local access:
/// returns the budget as it was (left as is when unconstrained or exhausted).
#[inline]
pub(crate) fn take_budget_unit() -> Budget {
    POLL.with(|poll| {
        let budget = poll.budget.get();
        if let Some(less) = budget.less_one() {
            poll.budget.set(less);
        }
        budget
    })
}

#[inline]
pub(crate) fn set_budget(budget: Budget) {
    POLL.with(|poll| poll.budget.set(budget));
}

/// Hands a task that must run again to the machine whose poll is ending on this thread.
/// Returns the task back if the slot is taken (the caller queues it another way).
pub(crate) fn defer_yielded(task: Notified) -> Option<Notified> {
    let mut task = Some(task);
    let _ = CONTEXT.try_with(|cx| {
        let slot = cx.yielded.take();
        if slot.is_none() {
            cx.yielded.set(task.take());
        } else {
            cx.yielded.set(slot);
        }
    });
    task
}

/// Takes the task handed over by [`defer_yielded`], if any.
pub(crate) fn take_yielded() -> Option<Notified> {
    CONTEXT.try_with(|cx| cx.yielded.take()).ok().flatten()
}
