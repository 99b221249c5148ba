//! The goro leaf future every wait of `goro::sync` goes through (except the lock acquires
//! of `acquire.rs`, which do the same and more): it takes a unit of the cooperative budget
//! and, while its inner future is `Pending`, names the task's suspension point: the
//! operation ([`WaitOp`]) and where it was called.

use goro_sched::{coop, task::note_suspension};
use goro_stats::{Site, WaitOp};
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

pin_project_lite::pin_project! {
    /// A wait of `goro::sync` (the future of `recv`, `changed`, `Barrier::wait`, ...).
    #[must_use = "futures do nothing unless polled"]
    pub struct Leaf<F> {
        #[pin]
        inner: F,
        op: WaitOp,
        at: Site,
    }
}

impl<F> std::fmt::Debug for Leaf<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leaf")
            .field("op", &self.op)
            .field("at", &self.at)
            .finish()
    }
}

/// Wraps `inner` as the wait `op`, called at the caller's caller (use it from a
/// `#[track_caller]` fn).
#[inline]
#[track_caller]
pub(crate) fn leaf<F: Future>(op: WaitOp, inner: F) -> Leaf<F> {
    Leaf {
        inner,
        op,
        at: Location::caller(),
    }
}

impl<F> Leaf<F> {
    /// The wrapped future.
    pub(crate) fn inner(self: Pin<&mut Self>) -> Pin<&mut F> {
        self.project().inner
    }
}

/// Polls `poll` as the wait `op` at `at`: budget first, suspension point on `Pending`.
///
/// Always inlined, as [`Leaf::poll`] is: what goro adds to a wait is then a few loads and
/// stores inside the caller's poll. Left to itself the compiler makes each `Leaf::poll` a
/// call of its own, and that frame (registers saved and restored) was 85 of the 218
/// instructions per round trip that goro's waits cost over tokio's in the `sync` bench's
/// `ping_pong`.
#[inline(always)]
pub(crate) fn poll_wait<T>(
    cx: &mut Context<'_>,
    op: WaitOp,
    at: Site,
    poll: impl FnOnce(&mut Context<'_>) -> Poll<T>,
) -> Poll<T> {
    let spent = ready!(coop::poll_proceed(cx));
    match poll(cx) {
        Poll::Ready(value) => {
            spent.made_progress();
            Poll::Ready(value)
        }
        Poll::Pending => {
            note_suspension(op, at);
            Poll::Pending
        }
    }
}

impl<F: Future> Future for Leaf<F> {
    type Output = F::Output;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let inner = this.inner;
        poll_wait(cx, *this.op, this.at, |cx| inner.poll(cx))
    }
}
