//! [`TcpStream`]: a connected TCP socket.
//!
//! Reads wait for read readiness, writes for write readiness (see the [`net`](crate::net)
//! module docs). A nonblocking connect is started by mio and completes when the socket
//! becomes writable; the socket's pending error (`SO_ERROR`) then says whether it worked.

use super::split::{split_owned, OwnedReadHalf, OwnedWriteHalf};
use crate::net::addr::{each_addr, ToSocketAddrs};
use crate::net::source::IoSource;
use crate::net::trace;
use crate::stats::WaitOp;
use goro_netpoll::{Direction, Poller};
use goro_sched::coop;
use goro_sched::task::traced;
use std::future::{poll_fn, Future};
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::panic::Location;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

/// A TCP connection.
///
/// Read and write it with the inherent `async` methods, or through
/// [`futures_io::AsyncRead`]/[`futures_io::AsyncWrite`] (implemented for `TcpStream` and
/// `&TcpStream`, so one task may read while another writes through a shared reference) and
/// the extension traits in [`goro::io`](crate::io). [`TcpStream::into_split`] gives owned
/// halves for two tasks. Dropping the stream closes it.
///
/// ```
/// use goro::net::{TcpListener, TcpStream};
/// # goro::Runtime::new().unwrap().block_on(async {
/// let listener = TcpListener::bind("127.0.0.1:0").await?;
/// let mut client = TcpStream::connect(listener.local_addr()?).await?;
/// let (mut server, peer) = listener.accept().await?;
/// assert_eq!(peer, client.local_addr()?);
///
/// client.write_all(b"ping").await?;
/// let mut buf = [0; 4];
/// server.read_exact(&mut buf).await?;
/// assert_eq!(&buf, b"ping");
///
/// drop(client);
/// assert_eq!(server.read(&mut buf).await?, 0); // end of stream
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct TcpStream {
    pub(crate) io: IoSource<mio::net::TcpStream>,
}

const INTEREST: mio::Interest = mio::Interest::READABLE.add(mio::Interest::WRITABLE);

impl TcpStream {
    /// Connects to `addr`, trying each resolved address in turn; the last error if none
    /// accepts (a refused connection is an error, `ConnectionRefused`).
    ///
    /// # Panics
    /// When polled outside a goro runtime.
    ///
    /// ```
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// // Nothing listens on a port we just gave back.
    /// let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    /// let err = goro::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    #[track_caller]
    pub fn connect<A: ToSocketAddrs>(addr: A) -> impl Future<Output = io::Result<TcpStream>> {
        let connect = async move {
            let poller = crate::net::current_poller();
            each_addr(addr, |a| connect_addr(a, &poller)).await
        };
        traced(WaitOp::TcpConnect, Location::caller(), connect)
    }

    /// Wraps an accepted mio stream, registered with `poller`.
    pub(crate) fn from_mio(stream: mio::net::TcpStream, poller: &Arc<Poller>) -> io::Result<Self> {
        Ok(TcpStream {
            io: IoSource::with_poller(stream, INTEREST, poller)?,
        })
    }

    /// Wraps a connected std stream (switching it to nonblocking mode) and registers it with
    /// the current processor's poller.
    ///
    /// # Panics
    /// Outside a goro runtime.
    ///
    /// ```
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let std_stream = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// let stream = goro::net::TcpStream::from_std(std_stream)?;
    /// assert_eq!(stream.peer_addr()?, listener.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    #[track_caller]
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        let poller = crate::net::current_poller();
        stream.set_nonblocking(true)?;
        TcpStream::from_mio(mio::net::TcpStream::from_std(stream), &poller)
    }

    /// Waits until the connect started by mio completed (write readiness), and reports its
    /// outcome. One budget unit.
    fn poll_connected(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let spent = ready!(coop::poll_proceed(cx));
        loop {
            let ev = match ready!(self.io.poll_ready(cx, Direction::Write)) {
                Ok(ev) => ev,
                Err(e) => {
                    spent.made_progress();
                    return Poll::Ready(Err(e));
                }
            };
            let sock = self.io.get_ref();
            let res = match sock.take_error() {
                Ok(Some(e)) | Err(e) => Err(e),
                Ok(None) => match sock.peer_addr() {
                    Ok(_) => Ok(()),
                    // Not connected yet (mio's advice: wait for the next writable event),
                    // unless the event already reported a failure without an error code.
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                        let r = ev.ready();
                        if r.is_error() || r.is_write_closed() {
                            Err(io::Error::new(
                                io::ErrorKind::ConnectionRefused,
                                "connection failed",
                            ))
                        } else {
                            self.io.clear_readiness(ev);
                            continue;
                        }
                    }
                    Err(e) => Err(e),
                },
            };
            spent.made_progress();
            return Poll::Ready(res);
        }
    }

    /// Receives data without removing it from the queue; waits until some arrives.
    /// Returns 0 at end-of-stream.
    #[track_caller]
    pub fn peek<'a>(&'a self, buf: &'a mut [u8]) -> impl Future<Output = io::Result<usize>> + 'a {
        trace::wait(WaitOp::TcpRead, move |cx| {
            self.io.poll_op(cx, Direction::Read, |s| s.peek(&mut *buf))
        })
    }

    /// Shuts down the read, write, or both directions. After `Shutdown::Write` the peer
    /// reads end-of-stream.
    ///
    /// ```
    /// use goro::net::{TcpListener, TcpStream};
    /// use std::net::Shutdown;
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// let mut client = TcpStream::connect(listener.local_addr()?).await?;
    /// let (mut server, _) = listener.accept().await?;
    /// server.write_all(b"bye").await?;
    /// server.shutdown(Shutdown::Write)?;
    /// let mut buf = [0; 8];
    /// assert_eq!(client.read(&mut buf).await?, 3);
    /// assert_eq!(client.read(&mut buf).await?, 0);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm when `true`).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
    }

    /// Sets `IP_TTL`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// `IP_TTL`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Takes the socket's pending error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// Splits the stream into a read half and a write half that two tasks can use at once.
    /// [`OwnedReadHalf::reunite`] puts them back together.
    ///
    /// ```
    /// use goro::net::{TcpListener, TcpStream};
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// let client = TcpStream::connect(listener.local_addr()?).await?;
    /// let (mut server, _) = listener.accept().await?;
    /// let (mut rd, mut wr) = client.into_split();
    /// let writer = goro::spawn(async move { wr.write_all(b"hi").await });
    /// let mut buf = [0; 2];
    /// server.read_exact(&mut buf).await?;
    /// server.write_all(&buf).await?;
    /// rd.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"hi");
    /// writer.await.unwrap()?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        split_owned(self)
    }
}

crate::net::split::stream_io!(TcpStream, TcpRead, TcpWrite);

async fn connect_addr(addr: SocketAddr, poller: &Arc<Poller>) -> io::Result<TcpStream> {
    let sock = mio::net::TcpStream::connect(addr)?;
    let stream = TcpStream::from_mio(sock, poller)?;
    poll_fn(|cx| stream.poll_connected(cx)).await?;
    Ok(stream)
}
