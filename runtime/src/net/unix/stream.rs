//! [`UnixStream`]: a connected Unix-domain stream socket.

use super::split::{split_owned, OwnedReadHalf, OwnedWriteHalf};
use crate::net::source::IoSource;
use crate::stats::WaitOp;
use goro_netpoll::{Direction, Poller};
use goro_sched::coop;
use goro_sched::task::traced;
use std::future::{poll_fn, Future};
use std::io;
use std::net::Shutdown;
use std::os::unix::net::SocketAddr;
use std::panic::Location;
use std::path::Path;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

const INTEREST: mio::Interest = mio::Interest::READABLE.add(mio::Interest::WRITABLE);

/// A Unix-domain stream connection.
///
/// Like [`TcpStream`](crate::net::TcpStream): inherent `async` reads and writes,
/// `futures_io::AsyncRead`/`AsyncWrite` for `UnixStream` and `&UnixStream`, and
/// [`UnixStream::into_split`].
///
/// ```
/// use goro::net::UnixStream;
/// # goro::Runtime::new().unwrap().block_on(async {
/// let (mut a, mut b) = UnixStream::pair()?;
/// a.write_all(b"hi").await?;
/// let mut buf = [0; 2];
/// b.read_exact(&mut buf).await?;
/// assert_eq!(&buf, b"hi");
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct UnixStream {
    pub(crate) io: IoSource<mio::net::UnixStream>,
}

impl UnixStream {
    /// Connects to the socket bound at `path`. While it waits, the task's suspension point
    /// is this call, as `UnixStream::write` (a connect waits for the socket to become
    /// writable).
    ///
    /// # Panics
    /// When polled outside a goro runtime.
    #[track_caller]
    pub fn connect<P: AsRef<Path>>(path: P) -> impl Future<Output = io::Result<UnixStream>> {
        let connect = async move {
            let poller = crate::net::current_poller();
            let sock = mio::net::UnixStream::connect(path)?;
            let stream = UnixStream::from_mio(sock, &poller)?;
            poll_fn(|cx| stream.poll_connected(cx)).await?;
            Ok(stream)
        };
        traced(WaitOp::UnixWrite, Location::caller(), connect)
    }

    /// A pair of connected streams.
    ///
    /// # Panics
    /// Outside a goro runtime.
    #[track_caller]
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let poller = crate::net::current_poller();
        let (a, b) = mio::net::UnixStream::pair()?;
        Ok((
            UnixStream::from_mio(a, &poller)?,
            UnixStream::from_mio(b, &poller)?,
        ))
    }

    pub(crate) fn from_mio(stream: mio::net::UnixStream, poller: &Arc<Poller>) -> io::Result<Self> {
        Ok(UnixStream {
            io: IoSource::with_poller(stream, INTEREST, poller)?,
        })
    }

    /// Wraps a connected std stream (switching it to nonblocking mode) and registers it with
    /// the current processor's poller.
    ///
    /// # Panics
    /// Outside a goro runtime.
    #[track_caller]
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        let poller = crate::net::current_poller();
        stream.set_nonblocking(true)?;
        UnixStream::from_mio(mio::net::UnixStream::from_std(stream), &poller)
    }

    /// Waits for the connect to complete (write readiness) and reports its outcome.
    fn poll_connected(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let spent = ready!(coop::poll_proceed(cx));
        let res = match ready!(self.io.poll_ready(cx, Direction::Write)) {
            Ok(_) => match self.io.get_ref().take_error() {
                Ok(Some(e)) | Err(e) => Err(e),
                Ok(None) => Ok(()),
            },
            Err(e) => Err(e),
        };
        spent.made_progress();
        Poll::Ready(res)
    }

    /// Shuts down the read, write, or both directions.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Takes the socket's pending error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// Splits the stream into a read half and a write half that two tasks can use at once.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        split_owned(self)
    }
}

crate::net::split::stream_io!(UnixStream, UnixRead, UnixWrite);
