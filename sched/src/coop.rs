//! Cooperative budget: a busy task cannot starve its processor.
//!
//! Rust futures are not preempted. A task reading from a socket that always has data would
//! loop forever inside one poll. So each task poll starts with a budget of
//! [`INITIAL_BUDGET`] (128, as in tokio) units; every goro leaf future (socket operation,
//! timer, `JoinHandle`, `yield_now`) spends one unit when it makes progress. When the budget
//! is gone the leaf future returns `Pending` after waking the task, which sends the task to
//! the back of the run queue.
//!
//! Outside a task poll (`block_on`, plain threads), and inside [`unconstrained`], the budget
//! is unconstrained.

use std::task::{Context, Poll};

/// Units per task poll.
pub const INITIAL_BUDGET: u8 = 128;

/// The remaining budget of the current poll: units left (at most [`INITIAL_BUDGET`]), or
/// unconstrained. One byte, so that taking a unit is one load, two compares and one store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget(u8);

impl Budget {
    /// No limit (outside a task poll). Above any count of units.
    const UNCONSTRAINED: u8 = u8::MAX;

    pub(crate) const fn initial() -> Budget {
        Budget(INITIAL_BUDGET)
    }

    pub(crate) const fn unconstrained() -> Budget {
        Budget(Self::UNCONSTRAINED)
    }

    /// Units left, or `None` when unconstrained.
    pub fn remaining(self) -> Option<u8> {
        (self.0 != Self::UNCONSTRAINED).then_some(self.0)
    }

    /// The budget with one unit taken, if it has units to take.
    #[inline]
    pub(crate) fn less_one(self) -> Option<Budget> {
        match self.0 {
            0 | Self::UNCONSTRAINED => None,
            n => Some(Budget(n - 1)),
        }
    }
}

/// A unit taken from the budget. Unless [`Spent::made_progress`] is called, dropping it
/// gives the unit back (the operation returned `Pending` and did no work).
#[must_use]
pub struct Spent {
    /// The budget to put back on drop; unconstrained: nothing to put back.
    restore: Budget,
}

impl Spent {
    /// The operation did work: keep the unit spent.
    #[inline]
    pub fn made_progress(mut self) {
        self.restore = Budget::unconstrained();
    }
}

impl Drop for Spent {
    #[inline]
    fn drop(&mut self) {
        if self.restore != Budget::unconstrained() {
            crate::context::set_budget(self.restore);
        }
    }
}

/// Takes one unit, or, if the budget is exhausted, wakes the task and returns `Pending`.
///
/// Every goro leaf future calls this at the start of its `poll`.
#[inline]
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<Spent> {
    let budget = crate::context::take_budget_unit();
    if budget.0 == 0 {
        crate::processor::count_budget_yield();
        cx.waker().wake_by_ref();
        return Poll::Pending;
    }
    // Unconstrained, `restore` is unconstrained too: nothing to put back.
    Poll::Ready(Spent { restore: budget })
}

/// The current budget (for tests and statistics).
pub fn current() -> Budget {
    crate::context::budget()
}

/// Runs `future` outside the cooperative budget: goro's futures polled inside it never
/// yield to make the task give its processor up (tokio's `task::unconstrained`). A task
/// that loops on an always-ready socket inside it holds its processor until the monitor
/// hands the processor away (after `handoff_after`), so use it only around work known to
/// be short.
///
/// ```
/// # let rt = goro_sched::Scheduler::new(goro_sched::Config::with_processors(1)).unwrap();
/// # rt.handle().block_on(rt.handle().spawn(async {
/// use goro_sched::coop::{current, unconstrained};
/// let inside = unconstrained(async { current().remaining() }).await;
/// assert_eq!(inside, None);
/// # }, None)).unwrap();
/// ```
pub fn unconstrained<F: std::future::Future>(future: F) -> Unconstrained<F> {
    Unconstrained { future }
}

/// The future of [`unconstrained`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Unconstrained<F> {
    future: F,
}

impl<F: std::future::Future> std::future::Future for Unconstrained<F> {
    type Output = F::Output;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of `self`, and
        // `Unconstrained` has no `Drop` impl and is `Unpin` only if `F` is.
        let future = unsafe { self.map_unchecked_mut(|this| &mut this.future) };
        let outer = crate::context::budget();
        crate::context::set_budget(Budget::unconstrained());
        // Put the task's own budget back even if the inner poll panics.
        struct Restore(Budget);
        impl Drop for Restore {
            fn drop(&mut self) {
                crate::context::set_budget(self.0);
            }
        }
        let _restore = Restore(outer);
        future.poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::with_current_task;
    use crate::task::Id;
    use crate::wake_counter::WakeCounter;
    use std::task::Waker;

    #[test]
    fn outside_a_task_the_budget_is_unconstrained() {
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        for _ in 0..1000 {
            let Poll::Ready(spent) = poll_proceed(&mut cx) else {
                panic!("an unconstrained budget ran out");
            };
            spent.made_progress();
        }
        assert_eq!(current().remaining(), None);
    }

    #[test]
    fn a_unit_is_kept_on_progress_and_given_back_otherwise() {
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        with_current_task(Id::next(), || {
            assert_eq!(current().remaining(), Some(INITIAL_BUDGET));
            let Poll::Ready(spent) = poll_proceed(&mut cx) else {
                panic!("a fresh budget ran out");
            };
            assert_eq!(current().remaining(), Some(INITIAL_BUDGET - 1));
            drop(spent);
            assert_eq!(current().remaining(), Some(INITIAL_BUDGET));
            let Poll::Ready(spent) = poll_proceed(&mut cx) else {
                panic!("a fresh budget ran out");
            };
            spent.made_progress();
            assert_eq!(current().remaining(), Some(INITIAL_BUDGET - 1));
        });
        assert_eq!(current().remaining(), None, "the poll's budget outlived it");
    }

    #[test]
    fn unconstrained_gives_the_task_its_budget_back_even_on_panic() {
        use std::future::Future;
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        with_current_task(Id::next(), || {
            let Poll::Ready(spent) = poll_proceed(&mut cx) else {
                panic!("a fresh budget ran out");
            };
            spent.made_progress();
            let outer = Some(INITIAL_BUDGET - 1);
            let mut inside = Box::pin(unconstrained(std::future::poll_fn(|_| {
                Poll::Ready(current().remaining())
            })));
            assert_eq!(inside.as_mut().poll(&mut cx), Poll::Ready(None));
            assert_eq!(current().remaining(), outer);
            let mut panics = Box::pin(unconstrained(std::future::poll_fn(|_| -> Poll<()> {
                panic!("inside")
            })));
            let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let _ = panics.as_mut().poll(&mut cx);
            }));
            assert!(caught.is_err());
            assert_eq!(current().remaining(), outer);
        });
    }

    #[test]
    fn a_spent_budget_wakes_the_task_and_refuses() {
        let counter = WakeCounter::new();
        let waker = counter.waker();
        let mut cx = Context::from_waker(&waker);
        with_current_task(Id::next(), || {
            for _ in 0..INITIAL_BUDGET {
                let Poll::Ready(spent) = poll_proceed(&mut cx) else {
                    panic!("the budget ran out early");
                };
                spent.made_progress();
            }
            assert_eq!(current().remaining(), Some(0));
            assert!(poll_proceed(&mut cx).is_pending());
            assert_eq!(counter.wakes(), 1, "the refused task was not woken");
            assert_eq!(current().remaining(), Some(0));
        });
    }
}
