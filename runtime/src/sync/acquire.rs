//! Acquiring a lock or permits: the fast path, and the goro leaf future that waits.
//!
//! [`acquire`] first takes a unit of the cooperative budget and tries tokio's semaphore
//! without waiting ([`Track::try_hold`]). Only when that fails does it build the
//! [`Contended`] future, which drives tokio's `acquire_many` future and, on every
//! `Pending`:
//!
//! * hands tokio a fresh [`WaitCell`] waker around the task's waker, so a grant or close
//!   is visible to the deadlock walk before the task runs again;
//! * registers the wait-for [`Edge`] (replacing the previous poll's) under the lock's side
//!   mutex;
//! * names the task's suspension point (`Mutex::lock` at the caller's line, ...), which
//!   makes the scheduler call the deadlock walk once the task is idle.
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
pub(crate) fn acquire(req: Request<'_>) -> Acquire<'_> {
    Acquire {
        req,
        contended: None,
    }
}

/// The future of [`acquire`]: the fast path on its first poll, then [`Contended`].
pub(crate) struct Acquire<'a> {
    req: Request<'a>,
    contended: Option<Contended<'a>>,
}

impl Future for Acquire<'_> {
    type Output = Result<Held, AcquireError>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Some(contended) = &mut this.contended {
            return Pin::new(contended).poll(cx);
        }
        let req = this.req;
        let spent = ready!(coop::poll_proceed(cx));
        if let Some(held) = req.track.try_hold(req.sem, req.want, req.at, req.known) {
            spent.made_progress();
            return Poll::Ready(Ok(held));
        }
        drop(spent);
        let contended = this.contended.insert(Contended {
            req,
            fut: None,
            edge: None,
        });
        Pin::new(contended).poll(cx)
    }
}

type AcquireFuture<'a> =
    Pin<Box<dyn Future<Output = Result<SemaphorePermit<'a>, AcquireError>> + Send + 'a>>;

/// The waiting part of [`acquire`]; see the module docs.
struct Contended<'a> {
    req: Request<'a>,
    fut: Option<AcquireFuture<'a>>,
    edge: Option<Arc<Edge>>,
}

impl Future for Contended<'_> {
    type Output = Result<Held, AcquireError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let spent = ready!(coop::poll_proceed(cx));
        let req = this.req;
        let cell = WaitCell::new(cx.waker().clone());
        let waker = Waker::from(cell.clone());
        let mut side = req.track.side();
        let fut = this
            .fut
            .get_or_insert_with(|| Box::pin(req.sem.acquire_many(req.want.permits())));
        match fut.as_mut().poll(&mut Context::from_waker(&waker)) {
            Poll::Ready(Ok(permit)) => {
                permit.forget();
                this.fut = None;
                let held =
                    req.track
                        .granted(&mut side, this.edge.take(), req.want, req.at, req.known);
                spent.made_progress();
                Poll::Ready(Ok(held))
            }
            Poll::Ready(Err(closed)) => {
                this.fut = None;
                if let Some(edge) = this.edge.take() {
                    req.track.unregister(&mut side, &edge);
                }
                Poll::Ready(Err(closed))
            }
            Poll::Pending => {
                let edge = Arc::new(Edge {
                    task: current_task(),
                    track: req.track.clone(),
                    want: req.want,
                    cell,
                    op: req.op,
                    at: req.at,
                });
                req.track.register(&mut side, this.edge.take(), &edge);
                this.edge = Some(edge);
                drop(side);
                note_suspension(req.op, req.at);
                Poll::Pending
            }
        }
    }
}

impl Drop for Contended<'_> {
    fn drop(&mut self) {
        if self.fut.is_none() && self.edge.is_none() {
            return;
        }
        let track = self.req.track;
        let mut side = track.side();
        // tokio gives back any permits it had set aside for this waiter (and may grant them
        // to the next one) while the side mutex is held.
        self.fut = None;
        if let Some(edge) = self.edge.take() {
            track.unregister(&mut side, &edge);
        }
    }
}
