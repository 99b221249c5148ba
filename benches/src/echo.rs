//! The TCP echo suite: an echo server on the runtime under test, driven over loopback by
//! clients that run somewhere else.
//!
//! * The **server** ([`crate::server`]) accepts on `127.0.0.1`, sets `TCP_NODELAY`, and runs
//!   one task per connection that reads up to [`READ_BUF`] bytes and writes them back. At
//!   `procs = 1` it runs on goro with 1 processor or on tokio's `current_thread` runtime; at
//!   `procs = n > 1` on goro with `n` processors or tokio's `multi_thread` runtime with `n`
//!   workers.
//! * The **clients** are the same in every case: a tokio `current_thread` runtime on a thread
//!   of its own, never the runtime under test. They open [`CONNECTIONS`] connections (with
//!   `TCP_NODELAY`) when the bench is set up, outside the timed part.
//! * One **iteration**: every connection, concurrently, does [`ROUND_TRIPS`] round trips of
//!   one message (write it whole, read the whole echo back). The time is that of
//!   `CONNECTIONS × ROUND_TRIPS` round trips with 64 in flight; the echo of each
//!   connection's last message is checked byte for byte.
//! * **Workloads**: message sizes of 1 KiB and 64 B.
//!
//! Placement follows [`crate::affinity`]: clients pinned to one core, the server to the
//! other at `procs = 1` and to both at `procs = 2` (`GORO_BENCH_PIN=0` to pin nothing).

use crate::affinity::{self, Placement};
use crate::server::{Conn, Handler, Server, ServerKind, Side};
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::mpsc;
use std::thread;

/// Connections per bench.
pub const CONNECTIONS: usize = 64;
/// Round trips per connection per iteration.
pub const ROUND_TRIPS: usize = 100;
/// The server's read buffer per connection.
pub const READ_BUF: usize = 16 * 1024;

/// One workload of the echo suite: a message size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Workload {
    /// 1 KiB messages.
    Kib1,
    /// 64-byte messages.
    B64,
}

impl Workload {
    /// Every workload, in the order the suite runs them.
    pub const ALL: [Workload; 2] = [Workload::Kib1, Workload::B64];

    /// The workload's name, as used in criterion ids (`echo/<name>/<procs>`).
    pub fn name(self) -> &'static str {
        match self {
            Workload::Kib1 => "1KiB",
            Workload::B64 => "64B",
        }
    }

    /// The message size in bytes.
    pub fn size(self) -> usize {
        match self {
            Workload::Kib1 => 1024,
            Workload::B64 => 64,
        }
    }

    /// Starts the server for `side` at `procs` workers and connects the clients.
    pub fn prepare(self, side: Side, procs: usize) -> io::Result<EchoBench> {
        EchoBench::start(
            ServerKind::for_side(side, procs),
            self.size(),
            Placement::for_procs(procs),
        )
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The echo handler: read some, write it back, until end of stream.
#[derive(Clone, Copy, Debug, Default)]
pub struct Echo;

impl Handler for Echo {
    async fn serve<C: Conn>(&self, mut conn: C) {
        let mut buf = vec![0u8; READ_BUF];
        loop {
            let n = match conn.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if conn.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    }
}

/// A running echo server with its clients connected.
pub struct EchoBench {
    // Dropped first: the clients close their connections before the server goes.
    clients: Clients,
    server: Server,
    placement: Placement,
}

impl EchoBench {
    /// Starts an echo server of `kind` and connects [`CONNECTIONS`] clients that exchange
    /// `size`-byte messages.
    pub fn start(kind: ServerKind, size: usize, placement: Placement) -> io::Result<EchoBench> {
        let server = Server::start(
            kind,
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            placement.server,
            Echo,
        )?;
        let clients = Clients::start(server.addr(), size, placement)?;
        Ok(EchoBench {
            clients,
            server,
            placement,
        })
    }

    /// One iteration: [`ROUND_TRIPS`] round trips on every connection.
    ///
    /// # Panics
    /// On an I/O error or a wrong echo.
    pub fn run(&mut self) {
        if let Err(e) = self.clients.round() {
            panic!("echo on {}: {e}", self.server.kind());
        }
    }

    /// The server's runtime.
    pub fn kind(&self) -> ServerKind {
        self.server.kind()
    }

    /// Where the threads are.
    pub fn placement(&self) -> Placement {
        self.placement
    }
}

/// The client side: a tokio `current_thread` runtime on its own thread, holding the
/// connections between iterations.
struct Clients {
    go: Option<mpsc::Sender<()>>,
    done: mpsc::Receiver<io::Result<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

struct ClientConn {
    stream: tokio::net::TcpStream,
    msg: Vec<u8>,
    buf: Vec<u8>,
}

impl Clients {
    fn start(addr: SocketAddr, size: usize, placement: Placement) -> io::Result<Clients> {
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel::<io::Result<()>>();
        let thread = thread::Builder::new()
            .name("echo-clients".into())
            .spawn(move || {
                affinity::pin_current(placement.client);
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = done_tx.send(Err(e));
                        return;
                    }
                };
                let mut conns = match rt.block_on(connect_all(addr, size)) {
                    Ok(c) => {
                        let _ = done_tx.send(Ok(()));
                        c
                    }
                    Err(e) => {
                        let _ = done_tx.send(Err(e));
                        return;
                    }
                };
                while go_rx.recv().is_ok() {
                    let res = rt.block_on(round(&mut conns));
                    if done_tx.send(res).is_err() {
                        break;
                    }
                }
                drop(conns);
            })?;
        let ready = done_rx
            .recv()
            .unwrap_or_else(|_| Err(io::Error::other("the client thread died")));
        let clients = Clients {
            go: Some(go_tx),
            done: done_rx,
            thread: Some(thread),
        };
        ready.map(|()| clients)
    }

    fn round(&mut self) -> io::Result<()> {
        let died = || io::Error::other("the client thread died");
        self.go
            .as_ref()
            .ok_or_else(died)?
            .send(())
            .map_err(|_| died())?;
        self.done.recv().map_err(|_| died())?
    }
}

impl Drop for Clients {
    fn drop(&mut self) {
        drop(self.go.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn connect_all(addr: SocketAddr, size: usize) -> io::Result<Vec<ClientConn>> {
    let mut conns = Vec::with_capacity(CONNECTIONS);
    for i in 0..CONNECTIONS {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let msg = (0..size).map(|j| (i * 31 + j) as u8).collect();
        conns.push(ClientConn {
            stream,
            msg,
            buf: vec![0; size],
        });
    }
    Ok(conns)
}

async fn round(conns: &mut Vec<ClientConn>) -> io::Result<()> {
    let tasks: Vec<_> = conns
        .drain(..)
        .map(|c| tokio::spawn(conn_round(c)))
        .collect();
    let mut result = Ok(());
    for task in tasks {
        match task.await {
            Ok((conn, res)) => {
                conns.push(conn);
                if result.is_ok() {
                    result = res;
                }
            }
            Err(e) => result = Err(io::Error::other(format!("client task: {e}"))),
        }
    }
    result
}

async fn conn_round(mut c: ClientConn) -> (ClientConn, io::Result<()>) {
    use tokio::io::AsyncReadExt as _;
    let mut res = Ok(());
    for _ in 0..ROUND_TRIPS {
        if let Err(e) = tokio::io::AsyncWriteExt::write_all(&mut c.stream, &c.msg).await {
            res = Err(e);
            break;
        }
        if let Err(e) = c.stream.read_exact(&mut c.buf).await {
            res = Err(e);
            break;
        }
    }
    if res.is_ok() && c.buf != c.msg {
        res = Err(io::Error::other("the echo differs from the message"));
    }
    (c, res)
}
