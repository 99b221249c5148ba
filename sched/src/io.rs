//! Which poller a new I/O source registers with.
//!
//! A socket registers with the poller of the processor that creates it and stays there: its
//! readiness is delivered by whoever polls that poller (its owner, an idle processor that
//! steals the poll, or the monitor), and the wake lands on the polling processor. A socket
//! created on a thread without a processor (`block_on`, a blocking thread) goes to a
//! processor picked round-robin.
//!
//! Accepted connections are the exception: one task usually accepts them all, so putting
//! them on the acceptor's processor would leave every other processor to get connection work
//! only by stealing tasks and polls, parking and waking each time. They go to the processor
//! whose poller has the fewest registrations instead ([`least_loaded_poller`]); the task
//! serving a connection moves, on its first wake, to the processor that polls it, and stays.
//! Measured with the echo suite at 2 processors (64 connections): goro/tokio 1.19-1.45 with
//! accepted sockets on the acceptor's poller, 1.00-1.03 with this policy.

use crate::context;
use goro_netpoll::Poller;
use std::sync::Arc;

/// The poller a source created on this thread should register with, or `None` outside a
/// goro runtime.
pub fn current_poller() -> Option<Arc<Poller>> {
    context::with_runtime(|shared| {
        let shared = shared?;
        let index = shared
            .local_index()
            .unwrap_or_else(|| shared.next_remote_index());
        Some(shared.procs[index].poller.clone())
    })
}

/// The poller with the fewest registrations (the current processor's on a tie), for a
/// newly accepted connection; `None` outside a goro runtime.
pub fn least_loaded_poller() -> Option<Arc<Poller>> {
    context::with_runtime(|shared| {
        let shared = shared?;
        let local = shared.local_index();
        let load = |i: usize| (shared.procs[i].poller.registrations(), Some(i) != local);
        let index = (0..shared.procs.len()).min_by_key(|&i| load(i))?;
        Some(shared.procs[index].poller.clone())
    })
}

/// Counts an accept error (EMFILE and friends) on the current processor.
pub fn count_accept_error() {
    context::with_processor(|p| {
        if let Some(p) = p {
            p.counters().accept_errors.incr();
        }
    });
}
