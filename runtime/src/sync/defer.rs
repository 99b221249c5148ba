//! Wakes that happen under a lock's side mutex are deferred until this thread holds no
//! side mutex any more.
//!
//! A release gives permits back to tokio under the side mutex (`track.rs` tells why), and
//! tokio wakes the waiter it granted them to right there. Waking a goro task may wake a
//! parked processor; done under the side mutex, that stretches the critical section that
//! every other waiter and releaser of the lock waits on. So [`Edge`](super::edge)
//! sets its `woken` flag at once (the deadlock walk reads it under the side mutex) and,
//! while a [`Deferring`] is alive on this thread, queues itself as a waker ([`push`]);
//! the last `Deferring` to go (after its mutex guard) wakes the queue, and the edge wakes
//! its task then. A wake is delayed by the rest of a critical section, never lost: every
//! `Deferring` is dropped.

use std::cell::RefCell;
use std::task::Waker;

/// This thread's side mutexes held and wakes queued.
struct Deferred {
    depth: usize,
    wakers: Vec<Waker>,
}

thread_local! {
    static DEFERRED: RefCell<Deferred> = const {
        RefCell::new(Deferred {
            depth: 0,
            wakers: Vec::new(),
        })
    };
}

/// While alive, wakes through [`wake`] on this thread are queued.
pub(crate) struct Deferring(());

/// Starts deferring (a side mutex is about to be held).
#[inline]
pub(crate) fn enter() -> Deferring {
    // `try_with` fails only during thread teardown; then wakes are not deferred.
    let _ = DEFERRED.try_with(|d| d.borrow_mut().depth += 1);
    Deferring(())
}

impl Drop for Deferring {
    fn drop(&mut self) {
        let queued = DEFERRED.try_with(|d| {
            let mut d = d.borrow_mut();
            d.depth -= 1;
            (d.depth == 0 && !d.wakers.is_empty()).then(|| std::mem::take(&mut d.wakers))
        });
        if let Ok(Some(mut wakers)) = queued {
            for waker in wakers.drain(..) {
                waker.wake();
            }
            // Keep the allocation for the next critical section.
            let _ = DEFERRED.try_with(|d| {
                let mut d = d.borrow_mut();
                if d.wakers.capacity() == 0 {
                    d.wakers = wakers;
                }
            });
        }
    }
}

/// Whether wakes on this thread are deferred now.
#[inline]
pub(crate) fn deferring() -> bool {
    DEFERRED.try_with(|d| d.borrow().depth > 0).unwrap_or(false)
}

/// Queues `waker` for the end of the critical section ([`deferring`] said so); wakes it now
/// if this thread cannot queue any more (it is exiting).
pub(crate) fn push(waker: Waker) {
    let mut waker = Some(waker);
    let _ = DEFERRED.try_with(|d| d.borrow_mut().wakers.extend(waker.take()));
    if let Some(waker) = waker {
        waker.wake();
    }
}
