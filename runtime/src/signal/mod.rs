//! Signals, with tokio's names: [`ctrl_c`] and [`unix::signal`].
//!
//! A signal handler may do almost nothing, so goro's does the least: it writes one byte to a
//! socket pair (the *self-pipe*, installed by the `signal-hook` crate), whose read end is an
//! ordinary goro socket on a processor's poller. A task waiting for a signal waits for that
//! socket to become readable, like any read: no thread per signal, no polling. Each
//! [`unix::Signal`] has its own pipe, so several listeners of one signal each see it.
//!
//! Deliveries that arrive while nobody is receiving are kept (one byte each, up to the
//! pipe's buffer) and coalesced: one `recv` takes all that are pending, as with tokio.
//!
//! Once a signal has a listener, its default action (terminating the process, for
//! `SIGINT` and `SIGTERM`) does not come back when the listener is dropped: the process
//! ignores the signal instead. tokio behaves the same way.
//!
//! A task waiting here is waiting on the outside world: its suspension point is
//! `Signal::recv` at the `recv`/`ctrl_c` call, and the leak detector does not suspect it.

pub mod unix;

use crate::stats::WaitOp;
use goro_sched::task::traced;
use std::future::{poll_fn, Future};
use std::io;
use std::panic::Location;

/// Completes at the next `SIGINT` (Ctrl-C) the process receives after the future is first
/// polled. An error if the handler cannot be installed.
///
/// # Panics
/// When polled outside a goro runtime.
///
/// ```no_run
/// #[goro::main]
/// async fn main() {
///     goro::signal::ctrl_c().await.expect("install a SIGINT handler");
///     println!("shutting down");
/// }
/// ```
#[track_caller]
pub fn ctrl_c() -> impl Future<Output = io::Result<()>> {
    let at = Location::caller();
    async move {
        let mut signal = unix::signal(unix::SignalKind::interrupt())?;
        traced(WaitOp::Signal, at, poll_fn(|cx| signal.poll_recv(cx))).await;
        Ok(())
    }
}
