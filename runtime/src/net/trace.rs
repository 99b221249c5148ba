//! Suspension points of socket operations: which [`WaitOp`] a task is waiting on, and where
//! in the user's code that operation was called.
//!
//! There are three kinds of goro socket futures, and each names its suspension point in its
//! own way:
//!
//! * the `async` methods (`TcpStream::read`, `TcpListener::accept`, `UdpSocket::recv_from`,
//!   ...) are `#[track_caller]` fns that wrap their future in
//!   [`goro_sched::task::traced`] with the caller's location;
//! * the hand-written `poll_*` methods (`AsyncRead::poll_read` of a stream,
//!   `UdpSocket::poll_recv`, ...) are `#[track_caller]` and call [`pending`] when they
//!   return `Pending`;
//! * the futures of the [`io`](crate::io) extension traits (`AsyncReadExt::read_exact`, ...)
//!   work over any reader, so they cannot know the op. They remember their caller and poll
//!   through [`retagged`]: it forgets the last socket op, polls, and if the poll returned
//!   `Pending` after a goro socket said which op it waits on, names that op at the
//!   future's caller. Over a reader that is not a goro socket they record nothing, like any
//!   foreign future.
//!
//! The cost is a thread-local write per `Pending` (and one per poll of an extension-trait
//! future), nothing on the way to `Ready`.

use goro_sched::task::{note_suspension, traced, Traced};
use goro_stats::WaitOp;
use std::cell::Cell;
use std::future::{poll_fn, PollFn};
use std::panic::Location;
use std::task::{Context, Poll};

thread_local! {
    /// The op of the last goro socket poll that returned `Pending` on this thread, as
    /// `WaitOp::code` (0: none since the last `clear_op`).
    static LAST_OP: Cell<u8> = const { Cell::new(0) };
}

/// A future that polls `poll` until it is ready and, while it is `Pending`, names the
/// suspension point `op` at the location of the caller's caller (use it from a
/// `#[track_caller]` fn).
#[inline]
#[track_caller]
pub(crate) fn wait<T, F>(op: WaitOp, poll: F) -> Traced<PollFn<F>>
where
    F: FnMut(&mut Context<'_>) -> Poll<T>,
{
    traced(op, Location::caller(), poll_fn(poll))
}

/// The task being polled on this thread waits on `op`, called at `at`.
#[inline]
pub(crate) fn pending(op: WaitOp, at: &'static Location<'static>) {
    note_suspension(op, at);
    LAST_OP.with(|last| last.set(op.code()));
}

/// Passes `poll` through; if it is `Pending`, names the suspension point: `op` at the
/// location of the caller's caller (use it from a `#[track_caller]` poll method).
#[inline]
#[track_caller]
pub(crate) fn tag<T>(op: WaitOp, poll: Poll<T>) -> Poll<T> {
    if poll.is_pending() {
        pending(op, Location::caller());
    }
    poll
}

/// Forgets the last socket op.
#[inline]
fn clear_op() {
    LAST_OP.with(|last| last.set(0));
}

/// The op a goro socket said it waits on since the last [`clear_op`], if any.
#[inline]
fn take_op() -> Option<WaitOp> {
    WaitOp::from_code(LAST_OP.with(|last| last.replace(0)))
}

/// How an extension-trait future polls its reader or writer: runs `poll`, and if it is
/// `Pending` on a goro socket, the task waits on that socket's op at `at`.
#[inline]
pub(crate) fn retagged<T>(
    at: &'static Location<'static>,
    poll: impl FnOnce() -> Poll<T>,
) -> Poll<T> {
    clear_op();
    let poll = poll();
    if poll.is_pending() {
        if let Some(op) = take_op() {
            note_suspension(op, at);
        }
    }
    poll
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retagged_names_the_op_a_socket_left_and_only_once() {
        clear_op();
        let at = Location::caller();
        assert!(tag(WaitOp::TcpRead, Poll::<()>::Pending).is_pending());
        assert_eq!(take_op(), Some(WaitOp::TcpRead));
        assert_eq!(take_op(), None);
        assert!(tag(WaitOp::UdpSend, Poll::Ready(3)).is_ready());
        assert_eq!(take_op(), None);
        let pending = || tag(WaitOp::UnixWrite, Poll::<()>::Pending);
        assert!(retagged(at, pending).is_pending());
        assert_eq!(take_op(), None, "retagged consumed it");
        // A stale op from an earlier poll is not pinned on a reader that is not a socket.
        let _ = tag(WaitOp::TcpWrite, Poll::<()>::Pending);
        assert!(retagged(at, || Poll::<()>::Pending).is_pending());
        assert_eq!(take_op(), None);
    }
}
