//! [`GoroIo`]: hyper's `rt::Read` and `rt::Write` for goro's streams.

use crate::net::trace;
use crate::stats::WaitOp;
use std::io;
use std::mem::MaybeUninit;
use std::panic::Location;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// A goro stream as hyper I/O: `rt::Read` for [`TcpStream`](crate::net::TcpStream),
/// [`UnixStream`](crate::net::UnixStream) and their read halves, `rt::Write` for anything
/// with `futures_io::AsyncWrite` (the streams and their write halves).
///
/// A task waiting on it waits on the stream's op (`TcpStream::read`, ...) at the line that
/// called `GoroIo::new`.
///
/// ```
/// # goro::Runtime::new().unwrap().block_on(async {
/// use goro::hyper::GoroIo;
/// let listener = goro::net::TcpListener::bind("127.0.0.1:0").await?;
/// let stream = goro::net::TcpStream::connect(listener.local_addr()?).await?;
/// let io = GoroIo::new(stream);
/// assert_eq!(io.get_ref().peer_addr()?, listener.local_addr()?);
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct GoroIo<T> {
    inner: T,
    at: &'static Location<'static>,
}

impl<T> GoroIo<T> {
    /// Wraps `stream`; its waits name the caller's line.
    #[track_caller]
    pub fn new(stream: T) -> GoroIo<T> {
        GoroIo::at(stream, Location::caller())
    }

    pub(crate) fn at(inner: T, at: &'static Location<'static>) -> GoroIo<T> {
        GoroIo { inner, at }
    }

    /// The stream.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The stream, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Unwraps the stream.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

/// A goro stream (or read half) that [`GoroIo`] can read from. Sealed: implemented by
/// goro's stream types only.
pub trait GoroRead: sealed::Sealed {
    /// The op a read waits on.
    #[doc(hidden)]
    const READ_OP: WaitOp;

    /// Reads into `buf`, which may be uninitialised; returns how many bytes were read (and
    /// so initialised at the start of `buf`).
    #[doc(hidden)]
    fn poll_read_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>>;
}

mod sealed {
    pub trait Sealed {}
}

/// `GoroRead` for `$ty`, whose `IoSource` is `$source` of `$s: &$ty`.
macro_rules! goro_read {
    ($ty:ty, $op:ident, |$s:ident| $source:expr) => {
        impl sealed::Sealed for $ty {}

        impl GoroRead for $ty {
            const READ_OP: WaitOp = WaitOp::$op;

            fn poll_read_uninit(
                &self,
                cx: &mut Context<'_>,
                buf: &mut [MaybeUninit<u8>],
            ) -> Poll<io::Result<usize>> {
                let $s = self;
                let source = $source;
                source.poll_read_uninit(cx, buf)
            }
        }
    };
}

use crate::net::{tcp, unix, TcpStream, UnixStream};
goro_read!(TcpStream, TcpRead, |s| &s.io);
goro_read!(tcp::OwnedReadHalf, TcpRead, |s| {
    &AsRef::<TcpStream>::as_ref(s).io
});
goro_read!(UnixStream, UnixRead, |s| &s.io);
goro_read!(unix::OwnedReadHalf, UnixRead, |s| {
    &AsRef::<UnixStream>::as_ref(s).io
});

impl<T: GoroRead + Unpin> hyper::rt::Read for GoroIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        // SAFETY: `poll_read_uninit` only writes to the slice (never de-initialises it).
        let unfilled = unsafe { buf.as_mut() };
        let poll = self.inner.poll_read_uninit(cx, unfilled);
        if poll.is_pending() {
            trace::pending(T::READ_OP, self.at);
        }
        let n = ready!(poll)?;
        // SAFETY: the read initialised the first `n` bytes of the slice.
        unsafe { buf.advance(n) };
        Poll::Ready(Ok(()))
    }
}

impl<T: futures_io::AsyncWrite + Unpin> hyper::rt::Write for GoroIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        trace::retagged(this.at, || Pin::new(&mut this.inner).poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        trace::retagged(this.at, || {
            Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
        })
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }
}

impl hyper_util::client::legacy::connect::Connection for GoroIo<crate::net::TcpStream> {
    fn connected(&self) -> hyper_util::client::legacy::connect::Connected {
        hyper_util::client::legacy::connect::Connected::new()
    }
}
