//! The debug HTTP server (`GORO_DEBUG_ADDR`, `Builder::debug_addr`): a small HTTP/1.1
//! server on one std thread of its own, serving the routes of `routes`.
//!
//! It is not a goro task on purpose: a runtime whose processors are all stuck is exactly
//! when one wants its task dump, so the server must not need a processor to answer.
//!
//! ## No client can hold it
//!
//! One thread runs a `mio` event loop over the listener and every open connection; each
//! connection is a small non-blocking state machine (`debug_connection`): read the request
//! head, write one response (`Connection: close`), linger briefly, close. A connection that
//! sends nothing, sends slowly, sends garbage or does not read its answer costs the thread
//! nothing while it waits, so a `/metrics` scrape is answered as soon as its request is in,
//! whatever the other connections do. Everything is bounded:
//!
//! * at most [`MAX_CONNECTIONS`] connections are open; accepting one more closes the
//!   oldest, so a crowd of idle connections cannot keep a new client out (a scraper sends
//!   its request at once and is answered long before it is the oldest);
//! * a request head must arrive within `HEAD_TIMEOUT` (1 s, else `408`) and be at most
//!   `MAX_REQUEST` (8 KiB, else `431`); a response must be written within `WRITE_TIMEOUT`;
//!   garbage is a `400`;
//! * an idle connection holds no buffer; a reading one at most `MAX_REQUEST` bytes; so
//!   memory is bounded by the cap times that, plus the responses being written;
//! * one thread, whatever the load; accept errors (descriptors exhausted) pause accepting
//!   for [`ACCEPT_BACKOFF`] without pausing the connections already open.
//!
//! ## Loopback unless asked
//!
//! The task dump and the leak report name every task's spawn and wait sites, so a bind
//! beyond loopback needs `GORO_DEBUG_PUBLIC=metrics|all` (see `exposure`), is announced on
//! stderr, and non-loopback peers get only what the exposure names (`403` otherwise).
//!
//! ## Tied to the runtime's life
//!
//! The thread holds a [`Handle`], which keeps the scheduler's shared state (not the runtime)
//! alive; the [`Runtime`](crate::Runtime) owns the [`DebugServer`], whose drop (first thing
//! in the runtime's drop) sets the stop flag, wakes the thread through a `mio::Waker` and
//! joins it, so the handle is let go, every connection closed and the port released before
//! the runtime finishes dropping. The thread takes no CPU when nobody asks.

use super::debug_connection::{Connection, Step};
use super::routes::Asker;
use super::DebugExposure;
use crate::Handle;
use mio::net::TcpListener as MioListener;
use mio::{Events, Interest, Poll, Token, Waker};
use slab::Slab;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The most connections open at once; one more closes the oldest.
pub(crate) const MAX_CONNECTIONS: usize = 1024;
/// How long accepting pauses after an accept error (descriptors exhausted, ...).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
/// Connection `key` of the slab has token `key + FIRST_CONNECTION`.
const FIRST_CONNECTION: usize = 2;

/// A running debug server; dropping it stops it (see the module docs).
#[derive(Debug)]
pub(crate) struct DebugServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    thread: Option<JoinHandle<()>>,
}

impl DebugServer {
    /// Checks `addr` against `exposure` and binds the server's listener; the errors name
    /// the address.
    pub(crate) fn bind(addr: SocketAddr, exposure: DebugExposure) -> io::Result<TcpListener> {
        exposure.check_bind(addr)?;
        TcpListener::bind(addr).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("goro debug server: cannot listen on {addr}: {e}"),
            )
        })
    }

    /// Serves `handle`'s runtime on `listener` from a new thread, and says on stderr what
    /// it exposes if it listens beyond loopback.
    pub(crate) fn start(
        listener: TcpListener,
        exposure: DebugExposure,
        handle: Handle,
    ) -> io::Result<DebugServer> {
        DebugServer::start_capped(listener, exposure, handle, MAX_CONNECTIONS)
    }

    /// [`start`](DebugServer::start) with at most `max_connections` open at once.
    fn start_capped(
        listener: TcpListener,
        exposure: DebugExposure,
        handle: Handle,
        max_connections: usize,
    ) -> io::Result<DebugServer> {
        let addr = listener.local_addr()?;
        if let Some(notice) = exposure.check_bind(addr)? {
            eprintln!("{notice}");
        }
        listener.set_nonblocking(true)?;
        let mut listener = MioListener::from_std(listener);
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let stop = Arc::new(AtomicBool::new(false));
        let server = Server {
            poll,
            listener,
            connections: Slab::with_capacity(max_connections),
            max_connections,
            exposure,
            accept_ready: true,
            accept_paused_until: None,
            handle,
        };
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("goro-debug-server".to_string())
                .spawn(move || server.run(&stop))?
        };
        Ok(DebugServer {
            addr,
            stop,
            waker,
            thread: Some(thread),
        })
    }

    /// The address the server listens on.
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for DebugServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if self.waker.wake().is_ok() {
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
        // If the wake failed the thread is left to notice the flag at its next event.
    }
}

/// The server thread's state.
struct Server {
    poll: Poll,
    listener: MioListener,
    connections: Slab<Connection>,
    max_connections: usize,
    exposure: DebugExposure,
    /// The listener reported readiness not yet drained (edge-triggered).
    accept_ready: bool,
    /// Accepting is paused after an error until then.
    accept_paused_until: Option<Instant>,
    handle: Handle,
}

impl Server {
    /// The event loop, until `stop`.
    fn run(mut self, stop: &AtomicBool) {
        let mut events = Events::with_capacity(256);
        while !stop.load(Ordering::SeqCst) {
            let timeout = self
                .next_deadline()
                .map(|d| d.saturating_duration_since(Instant::now()));
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return;
            }
            let now = Instant::now();
            for event in events.iter() {
                match event.token() {
                    WAKER => {}
                    LISTENER => self.accept_ready = true,
                    Token(token) => self.advance(token - FIRST_CONNECTION, now),
                }
            }
            self.accept(now);
            self.expire(now);
        }
    }

    /// The earliest connection deadline or end of an accept pause.
    fn next_deadline(&self) -> Option<Instant> {
        let connections = self.connections.iter().map(|(_, c)| c.deadline());
        connections
            .chain(self.accept_paused_until.filter(|_| self.accept_ready))
            .min()
    }

    /// Steps connection `key` (if it is still open) and closes it if it is done.
    fn advance(&mut self, key: usize, now: Instant) {
        if let Some(connection) = self.connections.get_mut(key) {
            if connection.advance(&self.handle, now) == Step::Closed {
                self.connections.remove(key);
            }
        }
    }

    /// Accepts until the backlog is empty (or an error pauses accepting).
    fn accept(&mut self, now: Instant) {
        if !self.accept_ready || self.accept_paused_until.is_some_and(|t| now < t) {
            return;
        }
        self.accept_paused_until = None;
        loop {
            match self.listener.accept() {
                Ok((stream, peer)) => self.open(stream, peer, now),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.accept_ready = false;
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // Aborted connections, exhausted descriptors: what is left in the backlog
                // keeps the listener readable, so retry after a pause.
                Err(_) => {
                    self.accept_paused_until = Some(now + ACCEPT_BACKOFF);
                    return;
                }
            }
        }
    }

    /// Takes a new connection, closing the oldest if the server is full, and serves what
    /// it already sent.
    fn open(&mut self, stream: mio::net::TcpStream, peer: SocketAddr, now: Instant) {
        if self.connections.len() >= self.max_connections {
            let oldest = self.connections.iter().min_by_key(|(_, c)| c.opened());
            if let Some((key, _)) = oldest {
                self.connections.remove(key);
            }
        }
        let asker = Asker {
            peer: peer.ip(),
            exposure: self.exposure,
        };
        let entry = self.connections.vacant_entry();
        let key = entry.key();
        let mut connection = Connection::new(stream, asker, now);
        let token = Token(key + FIRST_CONNECTION);
        let interest = Interest::READABLE | Interest::WRITABLE;
        if self
            .poll
            .registry()
            .register(connection.stream(), token, interest)
            .is_ok()
        {
            entry.insert(connection);
            self.advance(key, now);
        }
    }

    /// Times out every connection whose deadline has passed.
    fn expire(&mut self, now: Instant) {
        let handle = &self.handle;
        self.connections
            .retain(|_, c| c.deadline() > now || c.expire(handle, now) == Step::Open);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;

    /// Reads what `conn` gets until the server closes it.
    fn answer(conn: &mut TcpStream) -> String {
        conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut text = String::new();
        let _ = conn.read_to_string(&mut text);
        text
    }

    #[test]
    fn a_full_server_closes_its_oldest_connection_for_a_new_one() {
        let rt = crate::Runtime::builder().processors(1).build().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server =
            DebugServer::start_capped(listener, DebugExposure::Loopback, rt.handle().clone(), 4)
                .unwrap();
        let mut idle: Vec<TcpStream> = (0..6)
            .map(|_| {
                let conn = TcpStream::connect(addr).unwrap();
                // One at a time, so "oldest" is well defined.
                std::thread::sleep(Duration::from_millis(20));
                conn
            })
            .collect();
        let mut probe = TcpStream::connect(addr).unwrap();
        probe
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        assert!(answer(&mut probe).starts_with("HTTP/1.1 200 OK"));
        // 7 connections through a cap of 4: the 3 oldest idle ones were closed unanswered
        // (the head timeout would have answered them 408); the others are timed out.
        for conn in &mut idle[..3] {
            assert_eq!(answer(conn), "");
        }
        for conn in &mut idle[3..] {
            assert!(answer(conn).starts_with("HTTP/1.1 408"));
        }
        drop(server);
    }
}
