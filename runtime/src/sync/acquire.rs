//! Acquiring a lock or permits: the fast path, and the goro leaf future that waits.
//!
//! [`acquire`] first takes a unit of the cooperative budget and tries tokio's semaphore
//! without waiting ([`Track::try_hold`]). Only when that fails does it poll tokio's
//! `acquire_many` future (held inline, not boxed) and, on the first `Pending`:
//!
//! * hands tokio a [`WaitCell`] waker around the task's waker, so a grant or close is
//!   visible to the deadlock walk before the task runs again;
//! * registers the wait-for [`Edge`] under the lock's side mutex;
//! * names the task's suspension point (`Mutex::lock` at the caller's line, ...), which
//!   makes the scheduler call the deadlock walk once the task is idle.
//!
//! The cell and the edge stay for the whole wait: a later `Pending` poll (the task was
//! polled for another reason, say a `select!` sibling) keeps them, unless the task's waker
//! changed, which takes a new cell and a new edge in place of the old. A cell is only ever
//! woken by the grant or the close that ends the wait, so a kept cell is never stale.
//!
//! The tokio future is polled with the side mutex held, so a grant it takes is recorded as
//! a holder in the same step, and dropping a waiting acquire (a timeout, a `select!`) gives
//! back the permits tokio had set aside for it and removes its edge in one step too. A
//! `Mutex` acquire polls and registers without the side mutex (`track.rs` tells why that
//! is sound); only its drop takes it.

use super::edge::{Edge, WaitCell};
use super::track::{current_task, Held, Side, Track, Want};
use goro_sched::{coop, task::note_suspension};
use goro_stats::{Site, WaitOp};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll, Waker};
use tokio::sync::{AcquireError, Semaphore, SemaphorePermit};

/// A wait: which lock, for what, in which op, called where, and whether the holder it
/// becomes is known (see `Track`).
#[derive(Clone, Copy)]
pub(crate) struct Request<'a> {
    pub(crate) track: &'a Arc<Track>,
    pub(crate) sem: &'a Semaphore,
    pub(crate) want: Want,
    pub(crate) op: WaitOp,
    pub(crate) at: Site,
    pub(crate) known: bool,
}

/// Acquires `req.want`, waiting as a goro leaf future if the lock is not free.
pub(crate) fn acquire(
    req: Request<'_>,
) -> Acquire<'_, impl Future<Output = Result<SemaphorePermit<'_>, AcquireError>> + Send + '_> {
    Acquire {
        req,
        // An async fn's future does nothing until polled: this stores two words.
        fut: Some(req.sem.acquire_many(req.want.permits())),
        waiting: None,
    }
}

/// A wait in progress: the waker tokio has and the edge the walk sees (see module docs).
struct Waiting {
    cell: Arc<WaitCell>,
    waker: Waker,
    edge: Option<Arc<Edge>>,
}

impl Waiting {
    /// The wait is over: returns its edge (to unregister, if any) and the cell, to give
    /// back once the edge is gone ([`WaitCell::give_back`]).
    fn end(self) -> (Option<Arc<Edge>>, Arc<WaitCell>) {
        (self.edge, self.cell)
    }
}

pin_project_lite::pin_project! {
    /// The future of [`acquire`]: the fast path on its first poll, then tokio's future.
    pub(crate) struct Acquire<'a, F> {
        req: Request<'a>,
        #[pin]
        fut: Option<F>,
        waiting: Option<Waiting>,
    }

    impl<'a, F> PinnedDrop for Acquire<'a, F> {
        fn drop(this: Pin<&mut Self>) {
            let mut this = this.project();
            let Some(waiting) = this.waiting.take() else {
                return;
            };
            let track = this.req.track;
            let mut side = track.side();
            // tokio gives back any permits it had set aside for this waiter (and may grant
            // them to the next one) while the side mutex is held.
            this.fut.set(None);
            if let Some(edge) = waiting.edge {
                track.unregister(Some(&mut side), &edge);
            }
        }
    }
}

/// Records the grant of `req` (and drops its edge): under the side mutex (`side`), or,
/// for a lock whose waits are registered without it (always an exclusive want), without.
fn granted(req: Request<'_>, side: Option<&mut Side>, edge: Option<Arc<Edge>>) -> Held {
    match side {
        Some(side) => req.track.granted(side, edge, req.want, req.at, req.known),
        None => {
            if let Some(edge) = edge {
                req.track.unregister(None, &edge);
            }
            let task = if req.known { current_task() } else { 0 };
            req.track.set_owner(task, req.at);
            Held::Exclusive
        }
    }
}

impl<'a, F> Future for Acquire<'a, F>
where
    F: Future<Output = Result<SemaphorePermit<'a>, AcquireError>>,
{
    type Output = Result<Held, AcquireError>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let req = *this.req;
        let spent = ready!(coop::poll_proceed(cx));
        if this.waiting.is_none() {
            if let Some(held) = req.track.try_hold(req.sem, req.want, req.at, req.known) {
                spent.made_progress();
                return Poll::Ready(Ok(held));
            }
        }
        let waiting = match this.waiting.take() {
            Some(w) if !w.cell.is_woken() && w.cell.will_wake(cx.waker()) => w,
            old => {
                let cell = WaitCell::new(cx.waker().clone());
                Waiting {
                    waker: Waker::from(cell.clone()),
                    cell,
                    edge: old.and_then(|w| w.edge),
                }
            }
        };
        let waiting = this.waiting.insert(waiting);
        let mut side = (!req.track.waits_unlocked()).then(|| req.track.side());
        let Some(fut) = this.fut.as_mut().as_pin_mut() else {
            panic!("goro::sync: a lock acquire polled after it completed");
        };
        let polled = fut.poll(&mut Context::from_waker(&waiting.waker));
        match polled {
            Poll::Ready(result) => {
                this.fut.set(None);
                let (edge, cell) = this.waiting.take().map(Waiting::end).unzip();
                let edge = edge.flatten();
                let done = match result {
                    Ok(permit) => {
                        permit.forget();
                        Ok(granted(req, side.as_deref_mut(), edge))
                    }
                    Err(closed) => {
                        if let Some(edge) = edge {
                            req.track.unregister(side.as_deref_mut(), &edge);
                        }
                        Err(closed)
                    }
                };
                drop(side);
                if let Some(cell) = cell {
                    WaitCell::give_back(cell);
                }
                spent.made_progress();
                Poll::Ready(done)
            }
            Poll::Pending => {
                let current = waiting
                    .edge
                    .as_ref()
                    .is_some_and(|e| Arc::ptr_eq(&e.cell, &waiting.cell));
                if !current {
                    let edge = Arc::new(Edge {
                        task: current_task(),
                        track: req.track.clone(),
                        want: req.want,
                        cell: waiting.cell.clone(),
                        op: req.op,
                        at: req.at,
                    });
                    req.track
                        .register(side.as_deref_mut(), waiting.edge.take(), &edge);
                    waiting.edge = Some(edge);
                }
                drop(side);
                note_suspension(req.op, req.at);
                Poll::Pending
            }
        }
    }
}
