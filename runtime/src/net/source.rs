//! [`IoSource`]: a mio socket and its registration on a processor's poller; the
//! readiness → operation → clear loop every goro socket operation runs (see the `net` module
//! docs), with the cooperative budget.

use goro_netpoll::{Direction, Poller, Ready, ReadyEvent, Registration};
use goro_sched::coop;
use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::sync::Arc;
use std::task::{ready, Context, Poll};

/// Whether `ready` has a bit that must survive a short read or write: it reports a state
/// (hang-up, error, runtime shutdown) that the next call has to see, and epoll will not
/// repeat it.
fn is_sticky(ready: Ready) -> bool {
    ready.is_read_closed() || ready.is_write_closed() || ready.is_error() || ready.is_shutdown()
}

/// A mio source registered with one poller. Deregisters on drop, before the source (and so
/// its file descriptor) is dropped.
pub(crate) struct IoSource<S: mio::event::Source> {
    reg: Registration,
    source: S,
}

impl<S: mio::event::Source> IoSource<S> {
    /// Registers `source` with `poller`.
    pub(crate) fn with_poller(
        mut source: S,
        interest: mio::Interest,
        poller: &Arc<Poller>,
    ) -> io::Result<IoSource<S>> {
        let reg = Registration::new(poller, &mut source, interest)?;
        Ok(IoSource { reg, source })
    }

    pub(crate) fn get_ref(&self) -> &S {
        &self.source
    }

    pub(crate) fn poller(&self) -> &Arc<Poller> {
        self.reg.poller()
    }

    /// Waits for readiness in `dir`. Spends no budget: the callers that complete an operation
    /// spend it; `readable`/`writable`, which complete none, spend none (as tokio's).
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
    ) -> Poll<io::Result<ReadyEvent>> {
        self.reg.poll_ready(cx, dir)
    }

    pub(crate) fn clear_readiness(&self, ev: ReadyEvent) {
        self.reg.clear_readiness(ev);
    }

    /// Runs `op` when `dir` is ready, retrying after `WouldBlock` (which clears the readiness)
    /// and `Interrupted`; one budget unit per completed operation.
    pub(crate) fn poll_op<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        mut op: impl FnMut(&S) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let spent = ready!(coop::poll_proceed(cx));
        let res = ready!(self.reg.poll_io(cx, dir, || loop {
            match op(&self.source) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                res => return res,
            }
        }));
        spent.made_progress();
        Poll::Ready(res)
    }

    /// Stream read or write: like [`IoSource::poll_op`], but a transfer shorter than `len`
    /// also clears the readiness it acted on (the kernel buffer is drained or full: the next
    /// call would only return `WouldBlock`), unless that readiness carries a sticky bit.
    fn poll_transfer(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        len: usize,
        mut op: impl FnMut(&S) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        let spent = ready!(coop::poll_proceed(cx));
        loop {
            let ev = match ready!(self.reg.poll_ready(cx, dir)) {
                Ok(ev) => ev,
                Err(e) => {
                    spent.made_progress();
                    return Poll::Ready(Err(e));
                }
            };
            match op(&self.source) {
                Ok(n) => {
                    if n > 0 && n < len && !is_sticky(ev.ready()) {
                        self.reg.clear_readiness(ev);
                    }
                    spent.made_progress();
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.reg.clear_readiness(ev),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    spent.made_progress();
                    return Poll::Ready(Err(e));
                }
            }
        }
    }
}

/// Stream sockets: `&S` reads and writes.
impl<S> IoSource<S>
where
    S: mio::event::Source,
    for<'a> &'a S: Read + Write,
{
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let len = buf.len();
        self.poll_transfer(cx, Direction::Read, len, |mut s| s.read(buf))
    }

    pub(crate) fn poll_read_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        let len = bufs.iter().map(|b| b.len()).sum();
        self.poll_transfer(cx, Direction::Read, len, |mut s| s.read_vectored(bufs))
    }

    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_transfer(cx, Direction::Write, buf.len(), |mut s| s.write(buf))
    }

    /// A read if the socket is known readable, else `WouldBlock` at once (a `WouldBlock`
    /// from the socket clears the readiness, so the next wait waits for new data).
    pub(crate) fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.reg
            .try_io(Direction::Read, || (&self.source).read(buf))
    }

    /// A write if the socket is known writable, else `WouldBlock` at once.
    pub(crate) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.reg
            .try_io(Direction::Write, || (&self.source).write(buf))
    }

    pub(crate) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let len = bufs.iter().map(|b| b.len()).sum();
        self.poll_transfer(cx, Direction::Write, len, |mut s| s.write_vectored(bufs))
    }
}

/// Stream sockets with a file descriptor: reads into memory that may be uninitialised (for
/// the tokio and hyper integrations).
#[cfg(all(unix, any(feature = "tokio-io", feature = "hyper")))]
impl<S> IoSource<S>
where
    S: mio::event::Source + std::os::fd::AsRawFd,
{
    /// A stream read into `buf`, which may be uninitialised (tokio's `ReadBuf` and hyper's
    /// `ReadBufCursor` hand out such memory): `recv(2)` writes the bytes it returns, so
    /// nothing has to be zeroed first. Returns the number of bytes now initialised at the
    /// start of `buf`. The sources read here are sockets (TCP and Unix streams): `recv`
    /// skips the file-position locking `read(2)` does (as std's and mio's socket reads do).
    pub(crate) fn poll_read_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [std::mem::MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        let len = buf.len();
        self.poll_transfer(cx, Direction::Read, len, |s| {
            // SAFETY: `buf` is valid for writes of `len` bytes for the whole call; `recv(2)`
            // only writes to it (at most `len` bytes) and never reads it, so its bytes need
            // not be initialised.
            let n = unsafe { libc::recv(s.as_raw_fd(), buf.as_mut_ptr().cast(), len, 0) };
            if n < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(n as usize)
            }
        })
    }
}

impl<S: mio::event::Source> Drop for IoSource<S> {
    fn drop(&mut self) {
        // Before `source` (declared after `reg`) closes its descriptor: leave epoll and wake
        // anyone still waiting (a split half, a `&TcpStream` user) with an error.
        let _ = self.reg.deregister(&mut self.source);
    }
}

impl<S: mio::event::Source + fmt::Debug> fmt::Debug for IoSource<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.source.fmt(f)
    }
}
