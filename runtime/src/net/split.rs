//! What TCP and Unix streams share, written once as macros: the `futures_io` impls (for the
//! stream and for `&stream`), the inherent `async` read/write methods, and the owned halves
//! of `into_split`.
//!
//! A stream type `S` passed to these macros has a `pub(crate) io: IoSource<_>` field whose
//! source reads and writes through `&source`, and `shutdown(&self, Shutdown)`,
//! `peer_addr()`, `local_addr()` methods.
//!
//! Every awaitable method is `#[track_caller]` and every `poll_*` names its suspension point
//! (see `net::trace`): a task waiting in `stream.read(..)` shows that line and
//! `TcpStream::read` (or `UnixStream::read`) in task dumps and leak reports.
//!
//! Halves share the stream through an `Arc`. Reads wait for read readiness and writes for
//! write readiness, each with its own waker slot in the registration, so a reader task and a
//! writer task never steal each other's wake-ups.

use crate::net::source::IoSource;
use crate::net::trace;
use crate::stats::WaitOp;
use std::future::Future;
use std::io::{self, Read, Write};

/// `futures_io::AsyncRead` and `AsyncWrite` for each listed type (a stream and a reference
/// to it), forwarding to the stream's `io`; a `Pending` read waits on `$read`, a `Pending`
/// write on `$write` (`WaitOp` variants), at the poll's caller.
macro_rules! stream_io_traits {
    ($read:ident, $write:ident; $($ty:ty),*) => {$(
        impl futures_io::AsyncRead for $ty {
            #[track_caller]
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                crate::net::trace::tag(crate::stats::WaitOp::$read, self.io.poll_read(cx, buf))
            }

            #[track_caller]
            fn poll_read_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                crate::net::trace::tag(
                    crate::stats::WaitOp::$read,
                    self.io.poll_read_vectored(cx, bufs),
                )
            }
        }

        impl futures_io::AsyncWrite for $ty {
            #[track_caller]
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                crate::net::trace::tag(crate::stats::WaitOp::$write, self.io.poll_write(cx, buf))
            }

            #[track_caller]
            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                crate::net::trace::tag(
                    crate::stats::WaitOp::$write,
                    self.io.poll_write_vectored(cx, bufs),
                )
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            /// Shuts the write direction down (the peer reads end-of-stream).
            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(self.shutdown(std::net::Shutdown::Write))
            }
        }

    )*};
}

/// `futures_io::{AsyncRead, AsyncWrite}` for `$stream` and `&$stream` (and tokio's, with
/// `tokio-io`), and the inherent `read`, `read_exact`, `write`, `write_all`, `flush`,
/// `readable`, `writable`, `try_read`, `try_write`, `split`. Reads wait on `WaitOp::$read`,
/// writes on `WaitOp::$write`.
macro_rules! stream_io {
    ($stream:ident, $read:ident, $write:ident) => {
        impl $stream {
            /// Reads into `buf`, waiting until data or end-of-stream arrives; returns the
            /// number of bytes read, 0 at end-of-stream (or if `buf` is empty).
            #[track_caller]
            pub fn read<'a>(
                &'a mut self,
                buf: &'a mut [u8],
            ) -> impl std::future::Future<Output = std::io::Result<usize>> + 'a {
                crate::net::split::read(&self.io, crate::stats::WaitOp::$read, buf)
            }

            /// Reads exactly `buf.len()` bytes; `UnexpectedEof` if the stream ends first.
            /// Returns `buf.len()`.
            #[track_caller]
            pub fn read_exact<'a>(
                &'a mut self,
                buf: &'a mut [u8],
            ) -> impl std::future::Future<Output = std::io::Result<usize>> + 'a {
                crate::io::AsyncReadExt::read_exact(self, buf)
            }

            /// Writes some of `buf`, waiting until the socket can take data; returns how
            /// much was written.
            #[track_caller]
            pub fn write<'a>(
                &'a mut self,
                buf: &'a [u8],
            ) -> impl std::future::Future<Output = std::io::Result<usize>> + 'a {
                crate::net::split::write(&self.io, crate::stats::WaitOp::$write, buf)
            }

            /// Writes all of `buf`.
            #[track_caller]
            pub fn write_all<'a>(
                &'a mut self,
                buf: &'a [u8],
            ) -> impl std::future::Future<Output = std::io::Result<()>> + 'a {
                crate::io::AsyncWriteExt::write_all(self, buf)
            }

            /// Does nothing: stream sockets have no user-space buffer. For symmetry with
            /// buffered writers. (It never waits, so it is never a suspension point.)
            pub async fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }

        impl $stream {
            /// Waits until the stream is readable: data, end-of-stream or an error is
            /// there (tokio's `readable`). It may wake when a read would still block, so
            /// read with [`try_read`](Self::try_read) and wait again on `WouldBlock`.
            ///
            /// Unlike tokio's, one task at a time may wait for each direction of a stream
            /// (a read waits for the same direction): a second waiter takes the first one's
            /// wake-up. And unlike goro's reads, it spends no cooperative budget (as
            /// tokio's), so a loop of `readable` and `try_read` on a stream that always has
            /// data should yield now and then. A waiting task shows the stream's read op.
            #[track_caller]
            pub fn readable(&self) -> impl std::future::Future<Output = std::io::Result<()>> + '_ {
                crate::net::trace::wait(crate::stats::WaitOp::$read, move |cx| {
                    self.io.poll_ready(cx, goro_netpoll::Direction::Read).map_ok(drop)
                })
            }

            /// Waits until the stream is writable (tokio's `writable`); one waiter at a
            /// time, no budget: see [`readable`](Self::readable).
            #[track_caller]
            pub fn writable(&self) -> impl std::future::Future<Output = std::io::Result<()>> + '_ {
                crate::net::trace::wait(crate::stats::WaitOp::$write, move |cx| {
                    self.io.poll_ready(cx, goro_netpoll::Direction::Write).map_ok(drop)
                })
            }

            /// Reads what has arrived without waiting (tokio's `try_read`): the number of
            /// bytes read, 0 at end-of-stream, `WouldBlock` if nothing is there (and then
            /// [`readable`](Self::readable) waits for new data).
            pub fn try_read(&self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.io.try_read(buf)
            }

            /// Writes what the socket takes without waiting (tokio's `try_write`):
            /// `WouldBlock` if it takes nothing now.
            pub fn try_write(&self, buf: &[u8]) -> std::io::Result<usize> {
                self.io.try_write(buf)
            }

            /// Splits the stream into a read half and a write half that borrow it (tokio's
            /// `split`, for `tokio::io::copy` between two streams, say). Both are
            /// `&Self`, which has the read and write traits (tokio's too, with `tokio-io`):
            /// reads and writes wait on separate waker slots, so one future can read while
            /// another writes. Read from one place only: two readers of one stream take
            /// each other's wake-ups, as they would on any stream. Use `into_split` to move
            /// the halves into two tasks.
            pub fn split(&mut self) -> (&$stream, &$stream) {
                (&*self, &*self)
            }
        }

        crate::net::split::stream_io_traits!($read, $write; $stream, &$stream);
        crate::net::split::tokio_read!($read, [io]; $stream);
        crate::net::split::tokio_read!($read, [io]; &$stream);
        crate::net::split::tokio_write!($write, [io], []; $stream);
        crate::net::split::tokio_write!($write, [io], []; &$stream);
    };
}

/// `OwnedReadHalf`, `OwnedWriteHalf`, `ReuniteError` for `$stream`, whose addresses are
/// `$addr`, and `fn split_owned`.
macro_rules! owned_halves {
    ($stream:ident, $addr:ty, $read:ident, $write:ident) => {
        use crate::stats::WaitOp;
        use std::future::Future;
        use std::io;
        use std::net::Shutdown;
        use std::pin::Pin;
        use std::sync::Arc;
        use std::task::{Context, Poll};

        #[doc = concat!(
            "The read half of a [`", stringify!($stream), "`], from [`",
            stringify!($stream), "::into_split`]. Usable from another task than the write half."
        )]
        #[derive(Debug)]
        pub struct OwnedReadHalf {
            inner: Arc<$stream>,
        }

        #[doc = concat!(
            "The write half of a [`", stringify!($stream), "`], from [`",
            stringify!($stream), "::into_split`].\n\n",
            "Dropping it shuts the write direction of the stream down, so the peer reads \
             end-of-stream (as tokio's does), unless it was given to \
             [`OwnedWriteHalf::forget`] or [`OwnedReadHalf::reunite`]."
        )]
        #[derive(Debug)]
        pub struct OwnedWriteHalf {
            inner: Arc<$stream>,
            shutdown_on_drop: bool,
        }

        /// [`OwnedReadHalf::reunite`] was given halves of two different streams; here they
        /// are back.
        #[derive(Debug)]
        pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

        impl std::fmt::Display for ReuniteError {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("tried to reunite halves that are not from the same socket")
            }
        }

        impl std::error::Error for ReuniteError {}

        pub(crate) fn split_owned(stream: $stream) -> (OwnedReadHalf, OwnedWriteHalf) {
            let inner = Arc::new(stream);
            (
                OwnedReadHalf {
                    inner: inner.clone(),
                },
                OwnedWriteHalf {
                    inner,
                    shutdown_on_drop: true,
                },
            )
        }

        impl OwnedReadHalf {
            /// Reads into `buf`; 0 at end-of-stream. See the stream's `read`.
            #[track_caller]
            pub fn read<'a>(
                &'a mut self,
                buf: &'a mut [u8],
            ) -> impl Future<Output = io::Result<usize>> + 'a {
                crate::net::split::read(&self.inner.io, WaitOp::$read, buf)
            }

            /// Reads exactly `buf.len()` bytes; `UnexpectedEof` if the stream ends first.
            #[track_caller]
            pub fn read_exact<'a>(
                &'a mut self,
                buf: &'a mut [u8],
            ) -> impl Future<Output = io::Result<usize>> + 'a {
                crate::io::AsyncReadExt::read_exact(self, buf)
            }

            /// The remote address.
            pub fn peer_addr(&self) -> io::Result<$addr> {
                self.inner.peer_addr()
            }

            /// The local address.
            pub fn local_addr(&self) -> io::Result<$addr> {
                self.inner.local_addr()
            }

            /// Puts the halves back together; fails (handing them back) if they come from
            /// two different streams.
            pub fn reunite(self, mut other: OwnedWriteHalf) -> Result<$stream, ReuniteError> {
                if !Arc::ptr_eq(&self.inner, &other.inner) {
                    return Err(ReuniteError(self, other));
                }
                other.shutdown_on_drop = false;
                drop(other);
                Ok(Arc::try_unwrap(self.inner)
                    .expect(concat!(stringify!($stream), ": both halves were given back")))
            }
        }

        impl OwnedWriteHalf {
            /// Writes some of `buf`; see the stream's `write`.
            #[track_caller]
            pub fn write<'a>(
                &'a mut self,
                buf: &'a [u8],
            ) -> impl Future<Output = io::Result<usize>> + 'a {
                crate::net::split::write(&self.inner.io, WaitOp::$write, buf)
            }

            /// Writes all of `buf`.
            #[track_caller]
            pub fn write_all<'a>(
                &'a mut self,
                buf: &'a [u8],
            ) -> impl Future<Output = io::Result<()>> + 'a {
                crate::io::AsyncWriteExt::write_all(self, buf)
            }

            /// Does nothing (no user-space buffer).
            pub async fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }

            /// Drops the half without shutting the write direction down.
            pub fn forget(mut self) {
                self.shutdown_on_drop = false;
            }

            /// The remote address.
            pub fn peer_addr(&self) -> io::Result<$addr> {
                self.inner.peer_addr()
            }

            /// The local address.
            pub fn local_addr(&self) -> io::Result<$addr> {
                self.inner.local_addr()
            }
        }

        impl Drop for OwnedWriteHalf {
            fn drop(&mut self) {
                if self.shutdown_on_drop {
                    let _ = self.inner.shutdown(Shutdown::Write);
                }
            }
        }

        impl AsRef<$stream> for OwnedReadHalf {
            fn as_ref(&self) -> &$stream {
                &self.inner
            }
        }

        impl AsRef<$stream> for OwnedWriteHalf {
            fn as_ref(&self) -> &$stream {
                &self.inner
            }
        }

        impl futures_io::AsyncRead for OwnedReadHalf {
            #[track_caller]
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                crate::net::trace::tag(WaitOp::$read, self.inner.io.poll_read(cx, buf))
            }

            #[track_caller]
            fn poll_read_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &mut [io::IoSliceMut<'_>],
            ) -> Poll<io::Result<usize>> {
                crate::net::trace::tag(WaitOp::$read, self.inner.io.poll_read_vectored(cx, bufs))
            }
        }

        impl futures_io::AsyncWrite for OwnedWriteHalf {
            #[track_caller]
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                crate::net::trace::tag(WaitOp::$write, self.inner.io.poll_write(cx, buf))
            }

            #[track_caller]
            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                crate::net::trace::tag(
                    WaitOp::$write,
                    self.inner.io.poll_write_vectored(cx, bufs),
                )
            }

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            /// Shuts the write direction down (the peer reads end-of-stream).
            fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(self.inner.shutdown(Shutdown::Write))
            }
        }

        crate::net::split::tokio_read!($read, [inner.io]; OwnedReadHalf);
        crate::net::split::tokio_write!($write, [inner.io], [inner]; OwnedWriteHalf);
    };
}

/// tokio's `AsyncRead` for `$ty`, reading through `self.$path` (an `IoSource`)
/// and waiting on `WaitOp::$read` at the poll's caller (feature `tokio-io`).
macro_rules! tokio_read {
    ($read:ident, [$($path:ident).+]; $ty:ty) => {
        #[cfg(feature = "tokio-io")]
        impl tokio::io::AsyncRead for $ty {
            #[track_caller]
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                crate::net::trace::tag(
                    crate::stats::WaitOp::$read,
                    crate::net::split::poll_read_buf(&self.$($path).+, cx, buf),
                )
            }
        }
    };
}

/// tokio's `AsyncWrite` for `$ty`, writing through `self.$path` and shutting down
/// through `self.shutdown` or `self.$shutdown.shutdown` (feature `tokio-io`).
macro_rules! tokio_write {
    ($write:ident, [$($path:ident).+], [$($shutdown:ident)?]; $ty:ty) => {
        #[cfg(feature = "tokio-io")]
        impl tokio::io::AsyncWrite for $ty {
            #[track_caller]
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                crate::net::trace::tag(
                    crate::stats::WaitOp::$write,
                    self.$($path).+.poll_write(cx, buf),
                )
            }

            #[track_caller]
            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                crate::net::trace::tag(
                    crate::stats::WaitOp::$write,
                    self.$($path).+.poll_write_vectored(cx, bufs),
                )
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            /// Shuts the write direction down (the peer reads end-of-stream).
            fn poll_shutdown(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(self$(.$shutdown)?.shutdown(std::net::Shutdown::Write))
            }
        }
    };
}

pub(crate) use owned_halves;
pub(crate) use stream_io;
pub(crate) use stream_io_traits;
pub(crate) use tokio_read;
pub(crate) use tokio_write;

/// tokio's `poll_read`: a read into the unfilled part of `buf`, which need not be zeroed
/// first (see `IoSource::poll_read_uninit`).
#[cfg(feature = "tokio-io")]
pub(crate) fn poll_read_buf<S>(
    io: &IoSource<S>,
    cx: &mut std::task::Context<'_>,
    buf: &mut tokio::io::ReadBuf<'_>,
) -> std::task::Poll<io::Result<()>>
where
    S: mio::event::Source + std::os::fd::AsRawFd,
{
    // SAFETY: `poll_read_uninit` only writes to the unfilled part (never de-initialises it).
    let unfilled = unsafe { buf.unfilled_mut() };
    let n = std::task::ready!(io.poll_read_uninit(cx, unfilled))?;
    // SAFETY: the read initialised the first `n` bytes of the unfilled part.
    unsafe { buf.assume_init(n) };
    buf.advance(n);
    std::task::Poll::Ready(Ok(()))
}

/// A stream read of `io` into `buf` that waits on `op` at the caller's caller.
#[track_caller]
pub(crate) fn read<'a, S>(
    io: &'a IoSource<S>,
    op: WaitOp,
    buf: &'a mut [u8],
) -> impl Future<Output = io::Result<usize>> + 'a
where
    S: mio::event::Source,
    for<'s> &'s S: Read + Write,
{
    trace::wait(op, move |cx| io.poll_read(cx, buf))
}

/// A stream write of `buf` to `io` that waits on `op` at the caller's caller.
#[track_caller]
pub(crate) fn write<'a, S>(
    io: &'a IoSource<S>,
    op: WaitOp,
    buf: &'a [u8],
) -> impl Future<Output = io::Result<usize>> + 'a
where
    S: mio::event::Source,
    for<'s> &'s S: Read + Write,
{
    trace::wait(op, move |cx| io.poll_write(cx, buf))
}
