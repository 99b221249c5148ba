//! Suspension points: where a task last waited on one of goro's own futures.
//!
//! Every awaitable goro constructor (`sleep`, `TcpStream::read`, `JoinHandle`, ...) is
//! `#[track_caller]` and remembers its caller's [`Location`] and its [`WaitOp`]. When such a
//! leaf future returns `Pending` it calls [`note_suspension`], which writes a thread-local
//! slot; the harness clears the slot before each poll and, when the poll returns `Pending`,
//! copies it into the task's record. The last leaf to return `Pending` in a poll wins, which
//! is the one the task is waiting on. A poll that returns `Pending` without any goro leaf
//! (the task waits on a channel or lock of another library) records no suspension point,
//! and the leak detector treats the wait as in-process, unless the task's whole future is
//! wrapped in [`traced_fallback`]: a library that spawns tasks whose foreign waits it knows
//! the nature of (`goro::hyper`: they all end with the connection) names them that way,
//! while a goro leaf polled inside still names its own wait.
//!
//! A task that waits on several goro futures at once (the branches of a `select!`) is
//! named by the branch polled last, and the `select!` macros poll their branches in a random
//! order unless told otherwise (`biased;`): such a task can show one branch's wait at one
//! stats cycle and another's at the next, and when the branches differ in kind (a socket accept and a `JoinHandle`) the leak
//! detector can judge it differently from cycle to cycle (suspected by age on the
//! in-process wait, left alone on the socket). Ranking a poll's waits by kind would make
//! this stable, and was rejected: a branch that returned `Pending` and was then dropped
//! (another branch completed) leaves its note behind, and a higher-ranked stale note would
//! hide the real wait that follows in the same poll, e.g. the `Mutex::lock` of a handler
//! after a `select!` over a channel and a ticking `sleep`, so that lock wait would escape
//! the deadlock check. Telling the two apart needs the leaf futures to clear their note when
//! dropped, a cost on every one of them.
//!
//! The cost is one thread-local write per `Pending` leaf and one read per `Pending` poll.
//!
//! A poll that ends suspended on a lock (`WaitOp::is_lock`: `goro::sync`'s `Mutex`,
//! `RwLock`, `Semaphore`) calls the *lock-wait hook* once the task is idle, so that
//! `goro::sync` can look for a deadlock at the moment the task starts to wait, when its
//! waker count is final ([`set_lock_wait_hook`]).

use crate::context;
use goro_stats::WaitOp;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

/// What runs when a task's poll ends suspended on a lock; see [`set_lock_wait_hook`].
static LOCK_WAIT_HOOK: OnceLock<fn(super::Id)> = OnceLock::new();

/// Installs the function the scheduler calls, with the task's id, after a poll that
/// ended suspended on a lock (the last goro leaf to return `Pending` had a
/// [`WaitOp::is_lock`] op). It runs on the machine that polled the task, after the task
/// left RUNNING, outside the task's poll. The first hook installed stays; returns whether
/// it was this one.
pub fn set_lock_wait_hook(hook: fn(super::Id)) -> bool {
    LOCK_WAIT_HOOK.set(hook).is_ok()
}

/// A task's poll ended suspended on a lock (called by the harness).
pub(crate) fn started_lock_wait(id: super::Id) {
    if let Some(hook) = LOCK_WAIT_HOOK.get() {
        hook(id);
    }
}

/// Where and on what a task suspended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suspension {
    /// The goro future's kind.
    pub op: WaitOp,
    /// Where the future was created (its constructor's caller).
    pub at: &'static Location<'static>,
}

/// Records that a goro leaf future is returning `Pending` for the task being polled on this
/// thread. Outside a task poll it does nothing.
#[inline]
pub fn note_suspension(op: WaitOp, at: &'static Location<'static>) {
    context::set_suspension(Some(Suspension { op, at }));
}

/// Wraps a future so that when it returns `Pending` the task's suspension point becomes
/// (`op`, `at`).
///
/// ```
/// use goro_sched::task::traced;
/// use goro_stats::WaitOp;
///
/// let fut = traced(WaitOp::Yield, std::panic::Location::caller(), async { 1 });
/// # drop(fut);
/// ```
pub fn traced<F: Future>(op: WaitOp, at: &'static Location<'static>, future: F) -> Traced<F> {
    Traced { op, at, future }
}

/// Wraps a whole task's future so that when a poll returns `Pending` *without* any goro
/// leaf having noted a suspension point, the task's suspension point becomes (`op`, `at`);
/// a leaf's own point, when there is one, stays. For tasks that a library spawns on the
/// user's behalf and whose waits are known to be of one kind, though not on goro futures
/// (`goro::hyper` marks hyper's connection tasks this way).
///
/// ```
/// use goro_sched::task::traced_fallback;
/// use goro_stats::WaitOp;
///
/// let fut = traced_fallback(WaitOp::HyperConnection, std::panic::Location::caller(), async { 1 });
/// # drop(fut);
/// ```
pub fn traced_fallback<F: Future>(
    op: WaitOp,
    at: &'static Location<'static>,
    future: F,
) -> Traced<F, true> {
    Traced { op, at, future }
}

/// The future returned by [`traced`], and with `FALLBACK` by [`traced_fallback`] (which
/// notes its op only if nothing in the poll noted one).
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Traced<F, const FALLBACK: bool = false> {
    op: WaitOp,
    at: &'static Location<'static>,
    future: F,
}

impl<F: Future, const FALLBACK: bool> Future for Traced<F, FALLBACK> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of `self`, and
        // `Traced` has no `Drop` impl and is `Unpin` only if `F` is.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above; `this.future` stays where it is.
        let poll = unsafe { Pin::new_unchecked(&mut this.future) }.poll(cx);
        if poll.is_pending() {
            let suspension = Suspension {
                op: this.op,
                at: this.at,
            };
            if FALLBACK {
                context::set_suspension_if_none(suspension);
            } else {
                context::set_suspension(Some(suspension));
            }
        }
        poll
    }
}
