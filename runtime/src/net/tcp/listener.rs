//! [`TcpListener`]: accepting TCP connections, and surviving file-descriptor exhaustion.
//!
//! `accept` waits for read readiness on the listening socket, then calls `accept(2)` until
//! it returns a connection or `WouldBlock` (which clears the readiness; see the
//! [`net`](crate::net) module docs). The accepted stream registers with the poller of the
//! processor that accepted it.
//!
//! Accept errors: resource exhaustion (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`) neither
//! spins the processor nor ends the listener: `accept` counts it, backs off on a goro timer
//! (1 ms doubling to 100 ms) and retries. `ECONNABORTED` and `EINTR` are retried at once;
//! other errors are returned. The details are in the `net::accept` source.

use super::TcpStream;
use crate::net::accept::{poll_accept, Backoff};
use crate::net::addr::{each_addr, ToSocketAddrs};
use crate::net::source::IoSource;
use crate::net::trace;
use crate::stats::WaitOp;
use crate::time::Sleep;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::task::{Context, Poll};

/// A TCP socket listening for connections.
///
/// ```
/// use goro::net::{TcpListener, TcpStream};
/// # goro::Runtime::new().unwrap().block_on(async {
/// let listener = TcpListener::bind("127.0.0.1:0").await?;
/// let addr = listener.local_addr()?;
/// let server = goro::spawn(async move {
///     loop {
///         let (mut conn, _) = listener.accept().await?;
///         goro::spawn(async move {
///             let mut buf = [0; 1024];
///             loop {
///                 match conn.read(&mut buf).await {
///                     Ok(0) | Err(_) => break,
///                     Ok(n) => if conn.write_all(&buf[..n]).await.is_err() { break },
///                 }
///             }
///         });
///     }
///     #[allow(unreachable_code)]
///     Ok::<(), std::io::Error>(())
/// });
/// let mut client = TcpStream::connect(addr).await?;
/// client.write_all(b"echo").await?;
/// let mut buf = [0; 4];
/// client.read_exact(&mut buf).await?;
/// assert_eq!(&buf, b"echo");
/// server.abort();
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct TcpListener {
    io: IoSource<mio::net::TcpListener>,
    backoff: Backoff,
    /// The back-off timer of [`TcpListener::poll_accept`] callers (an `accept()` future
    /// keeps its own).
    poll_sleep: Mutex<Option<Sleep>>,
}

impl TcpListener {
    /// Binds to `addr` (trying each resolved address in turn) and listens, with
    /// `SO_REUSEADDR` set. Port 0 picks a free port: see [`TcpListener::local_addr`].
    ///
    /// # Panics
    /// When polled outside a goro runtime.
    ///
    /// ```
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let listener = goro::net::TcpListener::bind("127.0.0.1:0").await?;
    /// assert_ne!(listener.local_addr()?.port(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        let poller = crate::net::current_poller();
        each_addr(addr, |a| {
            let res = mio::net::TcpListener::bind(a)
                .and_then(|l| IoSource::with_poller(l, mio::Interest::READABLE, &poller))
                .map(TcpListener::from_io);
            std::future::ready(res)
        })
        .await
    }

    fn from_io(io: IoSource<mio::net::TcpListener>) -> TcpListener {
        TcpListener {
            io,
            backoff: Backoff::default(),
            poll_sleep: Mutex::new(None),
        }
    }

    /// Wraps a listening std socket (switching it to nonblocking mode) and registers it with
    /// the current processor's poller.
    ///
    /// # Panics
    /// Outside a goro runtime.
    ///
    /// ```
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let listener = goro::net::TcpListener::from_std(std_listener)?;
    /// let _client = goro::net::TcpStream::connect(listener.local_addr()?).await?;
    /// let (_conn, _peer) = listener.accept().await?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    #[track_caller]
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        let poller = crate::net::current_poller();
        listener.set_nonblocking(true)?;
        let io = IoSource::with_poller(
            mio::net::TcpListener::from_std(listener),
            mio::Interest::READABLE,
            &poller,
        )?;
        Ok(TcpListener::from_io(io))
    }

    /// Waits for a connection and accepts it, returning the stream and the peer's address.
    ///
    /// Resource-exhaustion errors (`EMFILE`, ...) are not returned: `accept` backs off and
    /// retries (see the module docs). Cancel-safe: dropping the future loses no connection.
    ///
    /// ```
    /// use goro::net::{TcpListener, TcpStream};
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// let client = TcpStream::connect(listener.local_addr()?).await?;
    /// let (conn, peer) = listener.accept().await?;
    /// assert_eq!(peer, client.local_addr()?);
    /// assert_eq!(conn.local_addr()?, listener.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    #[track_caller]
    pub fn accept(&self) -> impl Future<Output = io::Result<(TcpStream, SocketAddr)>> + '_ {
        let mut sleep = None;
        trace::wait(WaitOp::TcpAccept, move |cx| {
            self.poll_accept_with(cx, &mut sleep)
        })
    }

    /// Polls for a connection. With several tasks calling it at once, only the last one's
    /// waker is kept (use [`TcpListener::accept`] for that).
    #[track_caller]
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let mut sleep = self.poll_sleep.lock().unwrap_or_else(|e| e.into_inner());
        trace::tag(WaitOp::TcpAccept, self.poll_accept_with(cx, &mut sleep))
    }

    fn poll_accept_with(
        &self,
        cx: &mut Context<'_>,
        sleep: &mut Option<Sleep>,
    ) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let (stream, peer) = match poll_accept(&self.io, &self.backoff, sleep, cx, |l| l.accept()) {
            Poll::Ready(Ok(conn)) => conn,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        };
        // The least loaded processor's poller (see `goro_sched::io`), or the listener's when
        // polled off-runtime.
        let poller =
            goro_sched::io::least_loaded_poller().unwrap_or_else(|| self.io.poller().clone());
        Poll::Ready(TcpStream::from_mio(stream, &poller).map(|s| (s, peer)))
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Sets `IP_TTL` for accepted sockets.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// `IP_TTL`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }
}
