//! Which poller a new I/O source registers with.
//!
//! A socket registers with the poller of the processor that creates it and stays there: its
//! readiness is delivered by whoever polls that poller (its owner, an idle processor that
//! steals the poll, or the monitor), and the wake lands on the polling processor. A socket
//! created on a thread without a processor (`block_on`, a blocking thread) goes to a
//! processor picked round-robin.

use crate::context;
use goro_netpoll::Poller;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

/// The poller a source created on this thread should register with, or `None` outside a
/// goro runtime.
pub fn current_poller() -> Option<Arc<Poller>> {
    context::with_runtime(|shared| {
        let shared = shared?;
        let local = context::with_processor(|p| {
            p.filter(|p| std::ptr::eq(p.shared(), &**shared))
                .map(|p| p.index)
        });
        let index = local.unwrap_or_else(|| {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            NEXT.fetch_add(1, Relaxed) % shared.procs.len()
        });
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
