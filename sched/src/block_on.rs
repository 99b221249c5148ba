//! `block_on`: drive one future to completion on the calling thread.
//!
//! The calling thread does not become a machine and holds no processor: it polls the
//! future, and parks (`std::thread::park`) until the future's waker unparks it. Tasks the
//! future spawns go to the runtime's processors through the injector.

use crate::context;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering::*};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;

struct ThreadWaker {
    thread: Thread,
    woken: AtomicBool,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.woken.swap(true, Release) {
            self.thread.unpark();
        }
    }
}

/// Polls `future` on this thread until it completes. The caller has entered the runtime.
pub(crate) fn run<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let parker = Arc::new(ThreadWaker {
        thread: std::thread::current(),
        woken: AtomicBool::new(false),
    });
    let waker = Waker::from(parker.clone());
    let mut cx = Context::from_waker(&waker);
    context::set_budget(crate::coop::Budget::unconstrained());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        while !parker.woken.swap(false, Acquire) {
            std::thread::park();
        }
    }
}

/// Blocks the calling thread until `future` completes, outside any runtime: the
/// `blocking_*` methods of `goro::sync` (`Mutex::blocking_lock`, ...). It works on any
/// thread that does not drive a goro runtime: a plain thread, a `spawn_blocking` thread,
/// inside `block_in_place`. Tasks the future wakes run on their runtime's processors.
///
/// # Panics
/// With `what` named, on a thread that drives a runtime (a goro machine thread, so inside a
/// goro task, or inside `block_on`): blocking it would stop the tasks it runs, and could
/// wait forever on one of them (tokio panics the same way).
///
/// ```
/// let out = goro_sched::block_thread_on("example", async { 2 + 2 });
/// assert_eq!(out, 4);
/// ```
#[track_caller]
pub fn block_thread_on<F: Future>(what: &str, future: F) -> F::Output {
    let _enter = context::enter(what);
    // `run` makes the budget unconstrained; a thread inside `block_in_place` goes back to
    // its task's budget after.
    let budget = crate::coop::current();
    let out = run(future);
    context::set_budget(budget);
    out
}
