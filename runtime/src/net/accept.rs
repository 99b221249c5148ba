//! The accept loop shared by [`TcpListener`](super::TcpListener) and
//! [`UnixListener`](super::UnixListener), and what it does with accept errors.
//!
//! * **Resource exhaustion** — `EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`: the pending
//!   connection stays in the kernel's backlog and the listener stays readable, so retrying
//!   at once would spin the processor, and returning the error would make most accept loops
//!   give up. Instead the accept counts the error (the processor's `accept_errors` counter),
//!   sleeps on a goro timer — 1 ms, doubling while errors continue, at most 100 ms; the
//!   delay is shared by the listener's accepts and resets after a successful accept — and
//!   tries again. These errors are never returned: the listener keeps serving once
//!   descriptors free up. (Polled outside a runtime, where there is no timer, it returns
//!   them.)
//! * **`ECONNABORTED`** (the peer reset the connection while it waited in the backlog) and
//!   **`EINTR`** are retried at once, as Go does: they say nothing about the listener.
//!   tokio returns `ECONNABORTED` to the caller instead.
//! * Any other error is returned; the listener remains usable.

use super::source::IoSource;
use crate::time::Sleep;
use goro_netpoll::Direction;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::task::{ready, Context, Poll};
use std::time::Duration;

/// First back-off delay after a resource-exhaustion accept error, in milliseconds.
const BACKOFF_MIN_MS: u32 = 1;
/// Longest back-off delay, in milliseconds.
const BACKOFF_MAX_MS: u32 = 100;

/// A listener's back-off delay: the next one in ms, 0 when the last accept worked.
#[derive(Debug, Default)]
pub(crate) struct Backoff(AtomicU32);

impl Backoff {
    fn reset(&self) {
        if self.0.load(Relaxed) != 0 {
            self.0.store(0, Relaxed);
        }
    }

    /// The delay to sleep after an exhaustion error; doubles the next one.
    fn next(&self) -> Duration {
        let ms = self.0.load(Relaxed).max(BACKOFF_MIN_MS);
        self.0.store((ms * 2).min(BACKOFF_MAX_MS), Relaxed);
        Duration::from_millis(u64::from(ms))
    }
}

/// Polls `io` (a listener) for a connection with `accept`, backing off on `sleep` (the
/// caller's timer slot) after resource-exhaustion errors.
pub(crate) fn poll_accept<S, T>(
    io: &IoSource<S>,
    backoff: &Backoff,
    sleep: &mut Option<Sleep>,
    cx: &mut Context<'_>,
    mut accept: impl FnMut(&S) -> io::Result<T>,
) -> Poll<io::Result<T>>
where
    S: mio::event::Source,
{
    loop {
        if let Some(s) = sleep {
            ready!(Pin::new(s).poll(cx));
            *sleep = None;
        }
        let res = ready!(io.poll_op(cx, Direction::Read, |l| loop {
            match accept(l) {
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
                res => return res,
            }
        }));
        match res {
            Ok(conn) => {
                backoff.reset();
                return Poll::Ready(Ok(conn));
            }
            Err(e) if is_resource_exhaustion(&e) => {
                goro_sched::io::count_accept_error();
                if crate::Handle::try_current().is_none() {
                    return Poll::Ready(Err(e));
                }
                *sleep = Some(crate::time::sleep(backoff.next()));
            }
            Err(e) => return Poll::Ready(Err(e)),
        }
    }
}

/// Whether an accept error says the process or system ran out of descriptors or memory.
pub(crate) fn is_resource_exhaustion(e: &io::Error) -> bool {
    if e.kind() == io::ErrorKind::OutOfMemory {
        return true;
    }
    #[cfg(unix)]
    {
        matches!(
            e.raw_os_error(),
            Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
        )
    }
    #[cfg(windows)]
    {
        // WSAEMFILE, WSAENOBUFS.
        matches!(e.raw_os_error(), Some(10024 | 10055))
    }
    #[cfg(not(any(unix, windows)))]
    {
        false
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn exhaustion_errors_are_recognised() {
        for errno in [libc::EMFILE, libc::ENFILE, libc::ENOBUFS, libc::ENOMEM] {
            assert!(is_resource_exhaustion(&io::Error::from_raw_os_error(errno)));
        }
        for errno in [libc::ECONNABORTED, libc::EINVAL, libc::EBADF] {
            assert!(!is_resource_exhaustion(&io::Error::from_raw_os_error(
                errno
            )));
        }
    }

    #[test]
    fn backoff_doubles_to_the_cap_and_resets() {
        let b = Backoff::default();
        let ms: Vec<u128> = (0..10).map(|_| b.next().as_millis()).collect();
        assert_eq!(ms, [1, 2, 4, 8, 16, 32, 64, 100, 100, 100]);
        b.reset();
        assert_eq!(b.next(), Duration::from_millis(1));
    }
}
