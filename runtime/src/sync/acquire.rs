//! Acquiring a lock or permits: the fast path, and the goro leaf future that waits.
//!
//! [`acquire`] first takes a unit of the cooperative budget and tries tokio's semaphore
//! without waiting ([`Track::try_hold`]). Only when that fails does it poll tokio's
//! `acquire_many` future (held inline, not boxed) and, on the first `Pending`:
//!
//! * hands tokio the wait-for [`Edge`] as a waker around the task's waker, so a grant or
//!   close is visible to the deadlock walk before the task runs again;
//! * lists the edge, under the lock's side mutex;
//! * names the task's suspension point (`RwLock::write` at the caller's line, ...), which
//!   makes the scheduler call the deadlock walk once the task is idle.
//!
//! The edge stays for the whole wait: a later `Pending` poll (the task was polled for
//! another reason, say a `select!` sibling) keeps it, unless the task's waker changed,
//! which takes a new edge in place of the old. An edge is only ever woken by the grant or
//! the close that ends the wait, so the poll after its wake completes with the same edge;
//! should tokio still say `Pending`, the wait goes on through a new edge (a woken one
//! never counts as a wait).
//!
//! The tokio future is polled with the side mutex held, so a grant it takes is recorded as
//! a holder in the same step, and dropping a waiting acquire (a timeout, a `select!`) gives
//! back the permits tokio had set aside for it and removes its edge in one step too.
//!
//! A `Mutex` does not come here: it is not a tokio semaphore (`mutex/`).

use super::edge::{Edge, EdgeId};
use super::track::{Held, Track, Want};
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
        waking: None,
        listed: None,
    }
}

/// The edge tokio wakes, and that waker (locks other than a `Mutex`; see module docs).
struct Waking {
    edge: Arc<Edge>,
    waker: Waker,
}

impl Waking {
    /// A new edge of `req` that wakes the task of `cx`.
    fn new(req: Request<'_>, cx: &Context<'_>) -> Waking {
        let edge = Edge::new(
            Some(cx.waker().clone()),
            req.track,
            req.want,
            req.op,
            req.at,
        );
        Waking {
            waker: Waker::from(edge.clone()),
            edge,
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`acquire`]: the fast path on its first poll, then tokio's future.
    pub(crate) struct Acquire<'a, F> {
        req: Request<'a>,
        #[pin]
        fut: Option<F>,
        // The edge tokio wakes, from the first wait on (not for a `Mutex`).
        waking: Option<Waking>,
        // The edge listed for the walk, from the first `Pending` on.
        listed: Option<EdgeId>,
    }

    impl<'a, F> PinnedDrop for Acquire<'a, F> {
        fn drop(this: Pin<&mut Self>) {
            let mut this = this.project();
            if this.waking.is_none() && this.listed.is_none() {
                return;
            }
            let track = this.req.track;
            let mut side = track.side();
            // tokio gives back any permits it had set aside for this waiter (and may grant
            // them to the next one) while the side mutex is held.
            this.fut.set(None);
            if let Some(edge) = this.listed.take() {
                track.unregister(Some(&mut side), edge);
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
        if this.waking.is_none() && this.listed.is_none() {
            if let Some(held) = req.track.try_hold(req.sem, req.want, req.at, req.known) {
                spent.made_progress();
                return Poll::Ready(Ok(held));
            }
        }
        let mut side = req.track.side();
        let Some(mut fut) = this.fut.as_mut().as_pin_mut() else {
            panic!("goro::sync: a lock acquire polled after it completed");
        };
        let waking = match this.waking.take() {
            Some(w) if w.edge.will_wake(cx.waker()) => w,
            _ => Waking::new(req, cx),
        };
        let waking = this.waking.insert(waking);
        let mut polled = fut.as_mut().poll(&mut Context::from_waker(&waking.waker));
        if polled.is_pending() && waking.edge.is_woken() {
            *waking = Waking::new(req, cx);
            polled = fut.poll(&mut Context::from_waker(&waking.waker));
        }
        match polled {
            Poll::Ready(result) => {
                this.fut.set(None);
                drop(this.waking.take());
                let listed = this.listed.take();
                let done = match result {
                    Ok(permit) => {
                        permit.forget();
                        Ok(req
                            .track
                            .granted(&mut side, listed, req.want, req.at, req.known))
                    }
                    Err(closed) => {
                        if let Some(listed) = listed {
                            req.track.unregister(Some(&mut side), listed);
                        }
                        Err(closed)
                    }
                };
                drop(side);
                spent.made_progress();
                Poll::Ready(done)
            }
            Poll::Pending => {
                if *this.listed != Some(waking.edge.id()) {
                    let old = this.listed.take();
                    let id = req
                        .track
                        .register(Some(&mut side), old, waking.edge.clone());
                    *this.listed = Some(id);
                }
                drop(side);
                note_suspension(req.op, req.at);
                Poll::Pending
            }
        }
    }
}
