//! Asynchronous I/O traits: `futures_io`'s [`AsyncRead`] and [`AsyncWrite`], and the
//! extension traits [`AsyncReadExt`] and [`AsyncWriteExt`] that turn their `poll_*` methods
//! into `async` calls.
//!
//! goro's streams ([`TcpStream`](crate::net::TcpStream), its halves,
//! [`UnixStream`](crate::net::UnixStream)) implement the `futures_io` traits, so they plug
//! into the futures ecosystem (and, through a compat layer, into code written for tokio's
//! traits). Each `poll_read`/`poll_write` of a goro socket runs one readiness → operation →
//! clear cycle and spends one unit of the task's cooperative budget (see the
//! [`net`](crate::net) module docs); the futures here just loop over those polls, keeping
//! their progress in themselves, so they are as cancel-safe as the operation allows:
//! dropping a [`ReadExact`](util::ReadExact) loses the bytes already read into its buffer, nothing else.
//!
//! The futures are written by hand (no `futures-util` dependency): each is a small state
//! machine over a `&mut` borrow of the reader or writer, and `Unpin`.
//!
//! The extension methods are `#[track_caller]`: when a task waits in
//! `conn.read_exact(&mut buf).await` on a goro socket, its task dump and leak report show
//! that line and the socket's op (`TcpStream::read`, ...), not a line inside goro.
//!
//! ```
//! use goro::io::{AsyncReadExt, AsyncWriteExt};
//! use goro::net::{TcpListener, TcpStream};
//!
//! # goro::Runtime::new().unwrap().block_on(async {
//! let listener = TcpListener::bind("127.0.0.1:0").await?;
//! let mut client = TcpStream::connect(listener.local_addr()?).await?;
//! let (server, _) = listener.accept().await?;
//!
//! // Through `&TcpStream`: AsyncRead and AsyncWrite are implemented for shared references.
//! (&server).write_all(b"hello, world").await?;
//! (&server).close().await?; // shuts the write direction down
//!
//! let mut all = Vec::new();
//! AsyncReadExt::read_to_end(&mut client, &mut all).await?;
//! assert_eq!(all, b"hello, world");
//! # Ok::<(), std::io::Error>(())
//! # }).unwrap();
//! ```
//!
//! # Standard streams
//!
//! [`stdin`], [`stdout`] and [`stderr`] are the process's standard streams, read and
//! written on the blocking pool (tokio's `io::{stdin, stdout, stderr}`). Each handle owns a
//! duplicate of the stream's descriptor wrapped in a goro [`File`](crate::fs::File), so it
//! behaves as a file does: a read may read ahead, and a write returns once its bytes are
//! handed to a blocking thread; **`flush` waits for them** and reports a failed write.
//! Bytes written here do not pass through std's `Stdout` buffer, and a goro write may still
//! be on its way when the next `println!` runs: flush goro's handle before using `print!`,
//! and end std's output with a newline (or flush it) before writing through goro.
//! Reading goro's stdin and std's at once splits the input between them, and bytes a
//! `Stdin` read ahead are lost with it: keep one handle for the whole input. A read waiting
//! for input cannot be cancelled (it sits on a blocking thread), so a program that drops
//! its runtime while one waits exits only once a line or end-of-input arrives, as with
//! tokio. A task waiting on a read shows `Stdin::read` at its line, an outside wait the leak
//! detector does not suspect by age. A descriptor that cannot be duplicated (the process
//! is out of descriptors, or the stream was closed) does not panic: every operation of that
//! handle returns the `dup(2)` error (`EMFILE`, `EBADF`).

pub use crate::stdio::{stderr, stdin, stdout, Stderr, Stdin, Stdout};
pub use futures_io::{AsyncRead, AsyncSeek, AsyncWrite};
pub use std::io::{Error, ErrorKind, Result, SeekFrom};

use std::panic::Location;

/// `async` reads on any [`AsyncRead`].
pub trait AsyncReadExt: AsyncRead {
    /// Reads into `buf`; returns the number of bytes read, 0 at end-of-stream.
    #[track_caller]
    fn read<'a>(&'a mut self, buf: &'a mut [u8]) -> util::Read<'a, Self>
    where
        Self: Unpin,
    {
        util::Read {
            reader: self,
            buf,
            at: Location::caller(),
        }
    }

    /// Reads exactly `buf.len()` bytes; `UnexpectedEof` if the stream ends first. Returns
    /// `buf.len()` (as tokio's does).
    #[track_caller]
    fn read_exact<'a>(&'a mut self, buf: &'a mut [u8]) -> util::ReadExact<'a, Self>
    where
        Self: Unpin,
    {
        util::ReadExact {
            reader: self,
            buf,
            filled: 0,
            at: Location::caller(),
        }
    }

    /// Reads until end-of-stream, appending to `buf`; returns the number of bytes appended.
    /// On an error, the bytes read before it stay in `buf`.
    #[track_caller]
    fn read_to_end<'a>(&'a mut self, buf: &'a mut Vec<u8>) -> util::ReadToEnd<'a, Self>
    where
        Self: Unpin,
    {
        let start = buf.len();
        util::ReadToEnd {
            reader: self,
            buf,
            start,
            at: Location::caller(),
        }
    }
}

impl<R: AsyncRead + ?Sized> AsyncReadExt for R {}

/// `async` writes on any [`AsyncWrite`].
pub trait AsyncWriteExt: AsyncWrite {
    /// Writes some of `buf`; returns how much.
    #[track_caller]
    fn write<'a>(&'a mut self, buf: &'a [u8]) -> util::Write<'a, Self>
    where
        Self: Unpin,
    {
        util::Write {
            writer: self,
            buf,
            at: Location::caller(),
        }
    }

    /// Writes all of `buf`; `WriteZero` if the writer stops taking data.
    #[track_caller]
    fn write_all<'a>(&'a mut self, buf: &'a [u8]) -> util::WriteAll<'a, Self>
    where
        Self: Unpin,
    {
        util::WriteAll {
            writer: self,
            buf,
            at: Location::caller(),
        }
    }

    /// Flushes buffered data.
    fn flush(&mut self) -> util::Flush<'_, Self>
    where
        Self: Unpin,
    {
        util::Flush { writer: self }
    }

    /// Flushes and closes the writer; for a goro stream, shuts its write direction down so
    /// the peer reads end-of-stream (`futures_io`'s `poll_close`).
    fn close(&mut self) -> util::Close<'_, Self>
    where
        Self: Unpin,
    {
        util::Close { writer: self }
    }

    /// The same as [`AsyncWriteExt::close`], under tokio's name. (On `TcpStream` and
    /// `UnixStream` the inherent, synchronous `shutdown(how)` takes precedence.)
    fn shutdown(&mut self) -> util::Close<'_, Self>
    where
        Self: Unpin,
    {
        util::Close { writer: self }
    }
}

impl<W: AsyncWrite + ?Sized> AsyncWriteExt for W {}

/// `async` seeks on any [`AsyncSeek`] (a [`goro::fs::File`](crate::fs::File)).
pub trait AsyncSeekExt: AsyncSeek {
    /// Moves the position to `pos`; returns the new position from the start.
    fn seek(&mut self, pos: SeekFrom) -> util::Seek<'_, Self>
    where
        Self: Unpin,
    {
        util::Seek { seeker: self, pos }
    }
}

impl<S: AsyncSeek + ?Sized> AsyncSeekExt for S {}

/// The futures returned by [`AsyncReadExt`] and [`AsyncWriteExt`]: each holds a `&mut`
/// borrow of its reader or writer (and its progress), and is `Unpin`.
pub mod util {
    use super::{AsyncRead, AsyncWrite};
    use crate::net::trace::retagged;
    use std::future::Future;
    use std::io;
    use std::panic::Location;
    use std::pin::Pin;
    use std::task::{ready, Context, Poll};

    /// The future of [`AsyncReadExt::read`](super::AsyncReadExt::read).
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Read<'a, R: ?Sized> {
        pub(super) reader: &'a mut R,
        pub(super) buf: &'a mut [u8],
        /// Where the future was made: the suspension point (see `net::trace`).
        pub(super) at: &'static Location<'static>,
    }

    impl<R: AsyncRead + Unpin + ?Sized> Future for Read<'_, R> {
        type Output = io::Result<usize>;

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
            let this = self.get_mut();
            retagged(this.at, || {
                Pin::new(&mut *this.reader).poll_read(cx, this.buf)
            })
        }
    }

    /// The future of [`AsyncReadExt::read_exact`](super::AsyncReadExt::read_exact).
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct ReadExact<'a, R: ?Sized> {
        pub(super) reader: &'a mut R,
        pub(super) buf: &'a mut [u8],
        pub(super) filled: usize,
        pub(super) at: &'static Location<'static>,
    }

    impl<R: AsyncRead + Unpin + ?Sized> Future for ReadExact<'_, R> {
        type Output = io::Result<usize>;

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
            let at = self.at;
            retagged(at, || self.get_mut().poll_fill(cx))
        }
    }

    impl<R: AsyncRead + Unpin + ?Sized> ReadExact<'_, R> {
        fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
            let this = self;
            while this.filled < this.buf.len() {
                let n = ready!(
                    Pin::new(&mut *this.reader).poll_read(cx, &mut this.buf[this.filled..])
                )?;
                if n == 0 {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "early end of stream",
                    )));
                }
                this.filled += n;
            }
            Poll::Ready(Ok(this.buf.len()))
        }
    }

    /// The future of [`AsyncReadExt::read_to_end`](super::AsyncReadExt::read_to_end).
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct ReadToEnd<'a, R: ?Sized> {
        pub(super) reader: &'a mut R,
        pub(super) buf: &'a mut Vec<u8>,
        /// `buf.len()` when the future was made.
        pub(super) start: usize,
        pub(super) at: &'static Location<'static>,
    }

    /// Zeroed space offered to one read of `read_to_end`, at most (bounds the zeroing cost of
    /// a read that returns little).
    const READ_TO_END_CHUNK: usize = 64 * 1024;

    impl<R: AsyncRead + Unpin + ?Sized> Future for ReadToEnd<'_, R> {
        type Output = io::Result<usize>;

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
            let at = self.at;
            retagged(at, || self.get_mut().poll_fill(cx))
        }
    }

    impl<R: AsyncRead + Unpin + ?Sized> ReadToEnd<'_, R> {
        fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
            let this = self;
            loop {
                let len = this.buf.len();
                if this.buf.capacity() - len < 32 {
                    this.buf.reserve(32.max(len - this.start));
                }
                let room = (this.buf.capacity() - len).min(READ_TO_END_CHUNK);
                // Safe code must initialise what it reads into: zero `room` bytes, and cut the
                // vector back to the bytes actually read on every way out.
                this.buf.resize(len + room, 0);
                let res = Pin::new(&mut *this.reader).poll_read(cx, &mut this.buf[len..]);
                match res {
                    Poll::Ready(Ok(0)) => {
                        this.buf.truncate(len);
                        return Poll::Ready(Ok(len - this.start));
                    }
                    Poll::Ready(Ok(n)) => this.buf.truncate(len + n.min(room)),
                    Poll::Ready(Err(e)) => {
                        this.buf.truncate(len);
                        return Poll::Ready(Err(e));
                    }
                    Poll::Pending => {
                        this.buf.truncate(len);
                        return Poll::Pending;
                    }
                }
            }
        }
    }

    /// The future of [`AsyncWriteExt::write`](super::AsyncWriteExt::write).
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Write<'a, W: ?Sized> {
        pub(super) writer: &'a mut W,
        pub(super) buf: &'a [u8],
        pub(super) at: &'static Location<'static>,
    }

    impl<W: AsyncWrite + Unpin + ?Sized> Future for Write<'_, W> {
        type Output = io::Result<usize>;

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
            let this = self.get_mut();
            retagged(this.at, || {
                Pin::new(&mut *this.writer).poll_write(cx, this.buf)
            })
        }
    }

    /// The future of [`AsyncWriteExt::write_all`](super::AsyncWriteExt::write_all).
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct WriteAll<'a, W: ?Sized> {
        pub(super) writer: &'a mut W,
        pub(super) buf: &'a [u8],
        pub(super) at: &'static Location<'static>,
    }

    impl<W: AsyncWrite + Unpin + ?Sized> Future for WriteAll<'_, W> {
        type Output = io::Result<()>;

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            let at = self.at;
            retagged(at, || self.get_mut().poll_drain(cx))
        }
    }

    impl<W: AsyncWrite + Unpin + ?Sized> WriteAll<'_, W> {
        fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            let this = self;
            while !this.buf.is_empty() {
                let n = ready!(Pin::new(&mut *this.writer).poll_write(cx, this.buf))?;
                if n == 0 {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                this.buf = &this.buf[n.min(this.buf.len())..];
            }
            Poll::Ready(Ok(()))
        }
    }

    /// The future of [`AsyncWriteExt::flush`](super::AsyncWriteExt::flush).
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Flush<'a, W: ?Sized> {
        pub(super) writer: &'a mut W,
    }

    impl<W: AsyncWrite + Unpin + ?Sized> Future for Flush<'_, W> {
        type Output = io::Result<()>;

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut *self.get_mut().writer).poll_flush(cx)
        }
    }

    /// The future of [`AsyncSeekExt::seek`](super::AsyncSeekExt::seek).
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Seek<'a, S: ?Sized> {
        pub(super) seeker: &'a mut S,
        pub(super) pos: io::SeekFrom,
    }

    impl<S: super::AsyncSeek + Unpin + ?Sized> Future for Seek<'_, S> {
        type Output = io::Result<u64>;

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
            let this = self.get_mut();
            Pin::new(&mut *this.seeker).poll_seek(cx, this.pos)
        }
    }

    /// The future of [`AsyncWriteExt::close`](super::AsyncWriteExt::close) and [`AsyncWriteExt::shutdown`](super::AsyncWriteExt::shutdown).
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Close<'a, W: ?Sized> {
        pub(super) writer: &'a mut W,
    }

    impl<W: AsyncWrite + Unpin + ?Sized> Future for Close<'_, W> {
        type Output = io::Result<()>;

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut *self.get_mut().writer).poll_close(cx)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::io;
    use std::pin::Pin;
    use std::task::{Context, Poll, Wake, Waker};

    /// Hands out its data a few bytes per poll, returning `Pending` every other poll.
    struct Trickle {
        data: Vec<u8>,
        pos: usize,
        pend: bool,
        written: Vec<u8>,
    }

    impl AsyncRead for Trickle {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            self.pend = !self.pend;
            if self.pend {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let n = buf.len().min(3).min(self.data.len() - self.pos);
            buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            Poll::Ready(Ok(n))
        }
    }

    impl AsyncWrite for Trickle {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.pend = !self.pend;
            if self.pend {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let n = buf.len().min(3);
            self.written.extend_from_slice(&buf[..n]);
            Poll::Ready(Ok(n))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn trickle(data: &[u8]) -> Trickle {
        Trickle {
            data: data.to_vec(),
            pos: 0,
            pend: false,
            written: Vec::new(),
        }
    }

    fn block_on<F: Future + Unpin>(mut f: F) -> F::Output {
        struct Noop;
        impl Wake for Noop {
            fn wake(self: std::sync::Arc<Self>) {}
        }
        let waker = Waker::from(std::sync::Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        loop {
            if let Poll::Ready(v) = Pin::new(&mut f).poll(&mut cx) {
                return v;
            }
        }
    }

    #[test]
    fn read_exact_across_pending_and_short_reads() {
        let mut r = trickle(b"hello world");
        let mut buf = [0; 8];
        assert_eq!(block_on(r.read_exact(&mut buf)).unwrap(), 8);
        assert_eq!(&buf, b"hello wo");
        let err = block_on(r.read_exact(&mut buf)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn read_to_end_appends_everything() {
        let data: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        let mut r = trickle(&data);
        let mut out = b"x".to_vec();
        assert_eq!(block_on(r.read_to_end(&mut out)).unwrap(), 1000);
        assert_eq!(out[0], b'x');
        assert_eq!(&out[1..], &data[..]);
    }

    #[test]
    fn write_all_across_pending_and_short_writes() {
        let mut w = trickle(b"");
        block_on(w.write_all(b"hello world")).unwrap();
        assert_eq!(w.written, b"hello world");
        assert_eq!(block_on(w.write(b"abcdef")).unwrap(), 3);
        block_on(w.flush()).unwrap();
        block_on(w.close()).unwrap();
    }
}
