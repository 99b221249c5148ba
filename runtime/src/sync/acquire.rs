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
//! back the permits tokio had set aside for it and removes its edge in one step too.

use super::edge::{Edge, WaitCell};
use super::track::{current_task, Held, Track, Want};
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
                track.unregister(&mut side, &edge);
            }
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
        let mut side = req.track.side();
        let Some(fut) = this.fut.as_mut().as_pin_mut() else {
            panic!("goro::sync: a lock acquire polled after it completed");
        };
        let polled = fut.poll(&mut Context::from_waker(&waiting.waker));
        match polled {
            Poll::Ready(result) => {
                this.fut.set(None);
                let edge = this.waiting.take().and_then(|w| w.edge);
                let done = match result {
                    Ok(permit) => {
                        permit.forget();
                        Ok(req
                            .track
                            .granted(&mut side, edge, req.want, req.at, req.known))
                    }
                    Err(closed) => {
                        if let Some(edge) = edge {
                            req.track.unregister(&mut side, &edge);
                        }
                        Err(closed)
                    }
                };
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
                    req.track.register(&mut side, waiting.edge.take(), &edge);
                    waiting.edge = Some(edge);
                }
                drop(side);
                note_suspension(req.op, req.at);
                Poll::Pending
            }
        }
    }
}
