//! [`UnixListener`]: accepting Unix-domain stream connections.
//!
//! Accept errors are handled as for TCP (see [`TcpListener`](crate::net::TcpListener)):
//! resource exhaustion (`EMFILE`, ...) backs off on a goro timer and retries,
//! `ECONNABORTED`/`EINTR` are retried at once, anything else is returned.

use super::UnixStream;
use crate::net::accept::{poll_accept, Backoff};
use crate::net::source::IoSource;
use crate::net::trace;
use crate::stats::WaitOp;
use crate::time::Sleep;
use std::future::Future;
use std::io;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::task::{Context, Poll};

/// A Unix-domain socket listening for stream connections.
///
/// ```
/// use goro::net::{UnixListener, UnixStream};
/// # goro::Runtime::new().unwrap().block_on(async {
/// let dir = std::env::temp_dir().join(format!("goro-doc-unix-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("sock");
/// # let _ = std::fs::remove_file(&path);
/// let listener = UnixListener::bind(&path)?;
/// let mut client = UnixStream::connect(&path).await?;
/// let (mut server, _) = listener.accept().await?;
/// client.write_all(b"hi").await?;
/// let mut buf = [0; 2];
/// server.read_exact(&mut buf).await?;
/// assert_eq!(&buf, b"hi");
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct UnixListener {
    io: IoSource<mio::net::UnixListener>,
    backoff: Backoff,
}

impl UnixListener {
    /// Binds to `path` and listens. Fails if `path` exists (remove a stale socket file
    /// first). Synchronous, as in tokio: binding a path does not wait.
    ///
    /// # Panics
    /// Outside a goro runtime.
    #[track_caller]
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixListener> {
        let poller = crate::net::current_poller();
        let listener = mio::net::UnixListener::bind(path)?;
        let io = IoSource::with_poller(listener, mio::Interest::READABLE, &poller)?;
        Ok(UnixListener::from_io(io))
    }

    fn from_io(io: IoSource<mio::net::UnixListener>) -> UnixListener {
        UnixListener {
            io,
            backoff: Backoff::default(),
        }
    }

    /// Wraps a listening std socket (switching it to nonblocking mode) and registers it with
    /// the current processor's poller.
    ///
    /// # Panics
    /// Outside a goro runtime.
    #[track_caller]
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        let poller = crate::net::current_poller();
        listener.set_nonblocking(true)?;
        let io = IoSource::with_poller(
            mio::net::UnixListener::from_std(listener),
            mio::Interest::READABLE,
            &poller,
        )?;
        Ok(UnixListener::from_io(io))
    }

    /// Waits for a connection and accepts it. Resource-exhaustion errors back off and
    /// retry instead of being returned.
    #[track_caller]
    pub fn accept(&self) -> impl Future<Output = io::Result<(UnixStream, SocketAddr)>> + '_ {
        let mut sleep: Option<Sleep> = None;
        trace::wait(WaitOp::UnixAccept, move |cx| {
            self.poll_accept_with(cx, &mut sleep)
        })
    }

    fn poll_accept_with(
        &self,
        cx: &mut Context<'_>,
        sleep: &mut Option<Sleep>,
    ) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        let (stream, peer) = match poll_accept(&self.io, &self.backoff, sleep, cx, |l| l.accept()) {
            Poll::Ready(Ok(conn)) => conn,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        };
        let poller =
            goro_sched::io::least_loaded_poller().unwrap_or_else(|| self.io.poller().clone());
        Poll::Ready(UnixStream::from_mio(stream, &poller).map(|s| (s, peer)))
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }
}
