//! Cooperative budget: a busy task cannot starve its processor.
//!
//! Rust futures are not preempted. A task reading from a socket that always has data would
//! loop forever inside one poll. So each task poll starts with a budget of
//! [`INITIAL_BUDGET`] (128, as in tokio) units; every goro leaf future (socket operation,
//! timer, `JoinHandle`, `yield_now`) spends one unit when it makes progress. When the budget
//! is gone the leaf future returns `Pending` after waking the task, which sends the task to
//! the back of the run queue.
//!
//! Outside a task poll (`block_on`, plain threads) the budget is unconstrained.

use std::task::{Context, Poll};

/// Units per task poll.
pub const INITIAL_BUDGET: u8 = 128;

/// The remaining budget of the current poll; `None` is unconstrained.
#[derive(Clone, Copy, Debug)]
pub struct Budget(Option<u8>);

impl Budget {
    pub(crate) const fn initial() -> Budget {
        Budget(Some(INITIAL_BUDGET))
    }

    pub(crate) const fn unconstrained() -> Budget {
        Budget(None)
    }

    /// Units left, or `None` when unconstrained.
    pub fn remaining(self) -> Option<u8> {
        self.0
    }

    /// The budget with one unit taken, if it has units to take.
    #[inline]
    pub(crate) fn less_one(self) -> Option<Budget> {
        match self.0 {
            Some(n @ 1..) => Some(Budget(Some(n - 1))),
            _ => None,
        }
    }
}

/// A unit taken from the budget. Unless [`Spent::made_progress`] is called, dropping it
/// gives the unit back (the operation returned `Pending` and did no work).
#[must_use]
pub struct Spent {
    restore: Option<Budget>,
}

impl Spent {
    /// The operation did work: keep the unit spent.
    pub fn made_progress(mut self) {
        self.restore = None;
    }
}

impl Drop for Spent {
    fn drop(&mut self) {
        if let Some(budget) = self.restore {
            crate::context::set_budget(budget);
        }
    }
}

/// Takes one unit, or, if the budget is exhausted, wakes the task and returns `Pending`.
///
/// Every goro leaf future calls this at the start of its `poll`.
#[inline]
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<Spent> {
    let budget = crate::context::take_budget_unit();
    match budget.0 {
        None => Poll::Ready(Spent { restore: None }),
        Some(0) => {
            crate::processor::count_budget_yield();
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        Some(_) => Poll::Ready(Spent {
            restore: Some(budget),
        }),
    }
}

/// The current budget (for tests and statistics).
pub fn current() -> Budget {
    crate::context::budget()
}
