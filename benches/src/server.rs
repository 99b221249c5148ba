//! A TCP server on the runtime under test, written once for goro and tokio.
//!
//! A [`Handler`] serves one connection through the small [`Conn`] trait (read some bytes,
//! write all of a buffer), implemented for `goro::net::TcpStream` and
//! `tokio::net::TcpStream`, so the echo bench and the `http-hello` tool run the same code on
//! both runtimes. [`Server::start`] binds a listener on the runtime chosen by
//! [`ServerKind`], accepts in a loop (setting `TCP_NODELAY` on every connection) and spawns
//! one task per connection. Dropping the [`Server`] shuts its runtime down, which drops the
//! accept loop and every connection task.
//!
//! The runtime flavours are those the bar compares: goro with `procs` processors,
//! tokio's `current_thread` runtime (driven by a dedicated thread that does nothing but
//! `block_on` the accept loop) and tokio's `multi_thread` runtime with `procs` workers. Both
//! tokio flavours are built with `enable_all()`. goro also comes with its stats off, for the
//! stats overhead bench.

use crate::{BenchRuntime, Goro, GoroNoStats};
use core_affinity::CoreId;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::thread;
use std::time::Duration;

/// Which runtime (and how many workers) a [`Server`] runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ServerKind {
    /// goro with this many processors (stats on, goro's default).
    Goro(usize),
    /// goro with this many processors and `stats(false)` (the stats overhead bench).
    GoroNoStats(usize),
    /// tokio's `current_thread` runtime on a dedicated thread.
    TokioCurrentThread,
    /// tokio's `multi_thread` runtime with this many workers.
    TokioMultiThread(usize),
}

/// The runtime family being measured, for criterion function ids and table columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// goro with its stats on (the default).
    Goro,
    /// goro with `stats(false)`, only compared with goro itself (the stats overhead bench).
    GoroNoStats,
    /// tokio (`current_thread` at one worker, `multi_thread` otherwise).
    Tokio,
}

impl Side {
    /// `"goro"`, `"goro-nostats"` or `"tokio"`: the [`BenchRuntime::NAME`] of the side.
    pub fn name(self) -> &'static str {
        match self {
            Side::Goro => <Goro>::NAME,
            Side::GoroNoStats => GoroNoStats::NAME,
            Side::Tokio => tokio::runtime::Runtime::NAME,
        }
    }
}

impl ServerKind {
    /// The runtime compared at `procs` workers: goro with `procs` processors, or tokio's
    /// `current_thread` runtime for 1 and its `multi_thread` runtime for more.
    pub fn for_side(side: Side, procs: usize) -> ServerKind {
        match (side, procs) {
            (Side::Goro, n) => ServerKind::Goro(n),
            (Side::GoroNoStats, n) => ServerKind::GoroNoStats(n),
            (Side::Tokio, 1) => ServerKind::TokioCurrentThread,
            (Side::Tokio, n) => ServerKind::TokioMultiThread(n),
        }
    }

    /// Worker threads that run tasks.
    pub fn procs(self) -> usize {
        match self {
            ServerKind::Goro(n) | ServerKind::GoroNoStats(n) | ServerKind::TokioMultiThread(n) => n,
            ServerKind::TokioCurrentThread => 1,
        }
    }
}

impl fmt::Display for ServerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerKind::Goro(n) => write!(f, "goro procs={n}"),
            ServerKind::GoroNoStats(n) => write!(f, "goro procs={n} stats=off"),
            ServerKind::TokioCurrentThread => f.write_str("tokio current_thread"),
            ServerKind::TokioMultiThread(n) => write!(f, "tokio multi_thread({n})"),
        }
    }
}

/// A connected stream, as a [`Handler`] sees it.
pub trait Conn: Send + 'static {
    /// Reads some bytes into `buf`; 0 at end of stream.
    fn read<'a>(
        &'a mut self,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a;

    /// Writes all of `buf`.
    fn write_all<'a>(
        &'a mut self,
        buf: &'a [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a;
}

impl Conn for goro::net::TcpStream {
    fn read<'a>(
        &'a mut self,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a {
        goro::net::TcpStream::read(self, buf)
    }

    fn write_all<'a>(
        &'a mut self,
        buf: &'a [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a {
        goro::net::TcpStream::write_all(self, buf)
    }
}

impl Conn for tokio::net::TcpStream {
    fn read<'a>(
        &'a mut self,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a {
        tokio::io::AsyncReadExt::read(self, buf)
    }

    fn write_all<'a>(
        &'a mut self,
        buf: &'a [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a {
        tokio::io::AsyncWriteExt::write_all(self, buf)
    }
}

/// Serves one connection; cloned into every connection task.
pub trait Handler: Clone + Send + Sync + 'static {
    /// Serves `conn` until the peer closes it (or an error).
    fn serve<C: Conn>(&self, conn: C) -> impl Future<Output = ()> + Send;
}

/// A running server. Dropping it shuts its runtime down.
pub struct Server {
    addr: SocketAddr,
    kind: ServerKind,
    inner: Inner,
}

enum Inner {
    Goro(Option<goro::Runtime>),
    TokioMultiThread(Option<tokio::runtime::Runtime>),
    TokioCurrentThread {
        stop: Option<tokio::sync::oneshot::Sender<()>>,
        thread: Option<thread::JoinHandle<()>>,
    },
}

impl Server {
    /// Starts a server on a runtime of `kind`, listening on `addr` (port 0 picks one: see
    /// [`Server::addr`]), serving each connection with `handler`. Every thread of the
    /// server's runtime is pinned to `core` if it is `Some` (see [`crate::affinity`]).
    pub fn start<H: Handler>(
        kind: ServerKind,
        addr: SocketAddr,
        core: Option<CoreId>,
        handler: H,
    ) -> io::Result<Server> {
        let (addr, inner) = match kind {
            ServerKind::Goro(procs) | ServerKind::GoroNoStats(procs) => {
                let stats = kind == ServerKind::Goro(procs);
                let rt =
                    crate::affinity::run_on(core, || crate::goro_builder(procs, stats).build())?;
                let bound = rt.block_on(rt.spawn(async move {
                    let listener = goro::net::TcpListener::bind(addr).await?;
                    let local = listener.local_addr()?;
                    drop(goro::spawn(goro_accept(listener, handler)));
                    Ok::<_, io::Error>(local)
                }));
                let local = bound.map_err(|e| io::Error::other(e.to_string()))??;
                (local, Inner::Goro(Some(rt)))
            }
            ServerKind::TokioMultiThread(procs) => {
                let rt = crate::affinity::run_on(core, || {
                    tokio::runtime::Builder::new_multi_thread()
                        .worker_threads(procs)
                        .enable_all()
                        .build()
                })?;
                let local = rt.block_on(async move {
                    let listener = tokio::net::TcpListener::bind(addr).await?;
                    let local = listener.local_addr()?;
                    drop(tokio::spawn(tokio_accept(listener, handler)));
                    Ok::<_, io::Error>(local)
                })?;
                (local, Inner::TokioMultiThread(Some(rt)))
            }
            ServerKind::TokioCurrentThread => {
                let (addr_tx, addr_rx) = std::sync::mpsc::channel();
                let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
                let thread = thread::Builder::new()
                    .name("tokio-ct-server".into())
                    .spawn(move || {
                        crate::affinity::pin_current(core);
                        let rt = match tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                        {
                            Ok(rt) => rt,
                            Err(e) => {
                                let _ = addr_tx.send(Err(e));
                                return;
                            }
                        };
                        rt.block_on(async move {
                            let listener = match tokio::net::TcpListener::bind(addr).await {
                                Ok(l) => l,
                                Err(e) => {
                                    let _ = addr_tx.send(Err(e));
                                    return;
                                }
                            };
                            let _ = addr_tx.send(listener.local_addr());
                            tokio::select! {
                                _ = tokio_accept(listener, handler) => {}
                                _ = stop_rx => {}
                            }
                        });
                        // Dropping `rt` drops every connection task.
                    })?;
                let local = addr_rx.recv().map_err(|_| {
                    io::Error::other("the tokio current_thread server thread died")
                })??;
                (
                    local,
                    Inner::TokioCurrentThread {
                        stop: Some(stop_tx),
                        thread: Some(thread),
                    },
                )
            }
        };
        Ok(Server { addr, kind, inner })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The runtime it runs on.
    pub fn kind(&self) -> ServerKind {
        self.kind
    }

    /// Blocks the calling thread for as long as the process lives (for tools that serve
    /// until killed). Only a `current_thread` server whose accept loop ends returns.
    pub fn wait(mut self) {
        match &mut self.inner {
            Inner::Goro(_) | Inner::TokioMultiThread(_) => loop {
                thread::park_timeout(Duration::from_secs(3600));
            },
            Inner::TokioCurrentThread { thread, .. } => {
                if let Some(t) = thread.take() {
                    let _ = t.join();
                }
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        match &mut self.inner {
            Inner::Goro(rt) => drop(rt.take()),
            Inner::TokioMultiThread(rt) => {
                if let Some(rt) = rt.take() {
                    rt.shutdown_timeout(Duration::from_secs(5));
                }
            }
            Inner::TokioCurrentThread { stop, thread } => {
                if let Some(stop) = stop.take() {
                    let _ = stop.send(());
                }
                if let Some(t) = thread.take() {
                    let _ = t.join();
                }
            }
        }
    }
}

/// Whether an accept error concerns only the connection being accepted.
fn transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

async fn goro_accept<H: Handler>(listener: goro::net::TcpListener, handler: H) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                let handler = handler.clone();
                drop(goro::spawn(async move { handler.serve(stream).await }));
            }
            Err(e) if transient(&e) => {}
            Err(e) => {
                eprintln!("goro server: accept failed: {e}");
                return;
            }
        }
    }
}

async fn tokio_accept<H: Handler>(listener: tokio::net::TcpListener, handler: H) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                let handler = handler.clone();
                drop(tokio::spawn(async move { handler.serve(stream).await }));
            }
            Err(e) if transient(&e) => {}
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                eprintln!("tokio server: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}
