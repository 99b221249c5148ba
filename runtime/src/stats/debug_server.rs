//! The debug HTTP server (`GORO_DEBUG_ADDR`, `Builder::debug_addr`): a small HTTP/1.1
//! server on a std thread of its own, serving the routes of `routes`.
//!
//! It is not a goro task on purpose: a runtime whose processors are all stuck is exactly
//! when one wants its task dump, so the server must not need a processor to answer.
//!
//! * **Bounded.** One connection at a time; a request may be at most [`MAX_REQUEST`] bytes
//!   and must arrive within [`REQUEST_TIMEOUT`]; a response is written within
//!   [`WRITE_TIMEOUT`]; every response says `Connection: close` and the connection is
//!   closed after it. Requests are parsed with `httparse`.
//! * **Tied to the runtime's life.** The thread holds a [`Handle`], which keeps the
//!   scheduler's shared state (not the runtime) alive; the [`Runtime`](crate::Runtime) owns
//!   the [`DebugServer`], whose drop (first thing in the runtime's drop) sets the stop flag,
//!   wakes the thread through a `mio::Waker` and joins it, so the handle is let go and the
//!   port is released before the runtime finishes dropping. A request being read when the
//!   stop comes is dropped within [`READ_SLICE`].
//! * The thread waits in a `mio::Poll` on the listener and the waker; it takes no CPU when
//!   nobody asks.

use super::routes::{respond, Response};
use crate::Handle;
use mio::{Events, Interest, Poll, Token, Waker};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The largest request (request line and headers) the server reads.
pub(crate) const MAX_REQUEST: usize = 16 * 1024;
/// How long a client may take to send its request.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// How long writing a response may take.
pub(crate) const WRITE_TIMEOUT: Duration = Duration::from_secs(2);
/// How often a read in progress checks the stop flag.
pub(crate) const READ_SLICE: Duration = Duration::from_millis(50);
/// The most headers a request may have.
const MAX_HEADERS: usize = 64;
/// How long to wait after an accept error (descriptors exhausted, ...) before retrying.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);

/// A running debug server; dropping it stops it (see the module docs).
#[derive(Debug)]
pub(crate) struct DebugServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    thread: Option<JoinHandle<()>>,
}

impl DebugServer {
    /// Binds the server's listener; the error names the address.
    pub(crate) fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
        TcpListener::bind(addr).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("goro debug server: cannot listen on {addr}: {e}"),
            )
        })
    }

    /// Serves `handle`'s runtime on `listener` from a new thread.
    pub(crate) fn start(listener: TcpListener, handle: Handle) -> io::Result<DebugServer> {
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let mut listener = mio::net::TcpListener::from_std(listener);
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("goro-debug-server".to_string())
                .spawn(move || run(poll, listener, &stop, &handle))?
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
        // If the wake failed the thread is left to notice the flag at its next connection.
    }
}

/// The server loop: wait for connections, serve them one at a time, until `stop`.
fn run(mut poll: Poll, listener: mio::net::TcpListener, stop: &AtomicBool, handle: &Handle) {
    let mut events = Events::with_capacity(4);
    while !stop.load(Ordering::SeqCst) {
        if let Err(e) = poll.poll(&mut events, None) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        // Edge-triggered: accept until the backlog is empty.
        while !stop.load(Ordering::SeqCst) {
            match listener.accept() {
                Ok((conn, _peer)) => serve(TcpStream::from(conn), stop, handle),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // Aborted connections, exhausted descriptors: the listener stays readable
                // for what is still in the backlog, so retry after a pause.
                Err(_) => std::thread::sleep(ACCEPT_BACKOFF),
            }
        }
    }
}

/// Reads one request from `conn`, answers it and closes the connection. Errors only end
/// the connection.
fn serve(mut conn: TcpStream, stop: &AtomicBool, handle: &Handle) {
    let setup = conn
        .set_nonblocking(false)
        .and_then(|()| conn.set_read_timeout(Some(READ_SLICE)))
        .and_then(|()| conn.set_write_timeout(Some(WRITE_TIMEOUT)));
    if setup.is_err() {
        return;
    }
    let response = match read_request(&mut conn, stop) {
        Ok(Some(request)) => respond(
            &request.method,
            &request.target,
            request.accept.as_deref(),
            handle,
        ),
        Ok(None) => return,
        Err(response) => response,
    };
    if write_response(&mut conn, &response).is_ok() {
        let _ = conn.shutdown(Shutdown::Write);
        drain(&mut conn);
    }
}

/// The parts of a request the routes look at.
#[derive(Debug, PartialEq, Eq)]
struct Request {
    method: String,
    target: String,
    accept: Option<String>,
}

/// Reads until the request head is complete. `Ok(None)`: the client left (or the server is
/// stopping) and gets no answer; `Err`: the error response to send.
fn read_request(conn: &mut TcpStream, stop: &AtomicBool) -> Result<Option<Request>, Response> {
    let deadline = Instant::now() + REQUEST_TIMEOUT;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        if stop.load(Ordering::SeqCst) {
            return Ok(None);
        }
        match conn.read(&mut chunk) {
            Ok(0) => return Ok(None),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Ok(None),
        }
        if let Some(request) = parse(&buf)? {
            return Ok(Some(request));
        }
        if buf.len() >= MAX_REQUEST {
            return Err(Response::text(
                431,
                format!("the request head is larger than {MAX_REQUEST} bytes\n"),
            ));
        }
        if Instant::now() >= deadline {
            return Err(Response::text(
                408,
                format!("the request did not arrive within {REQUEST_TIMEOUT:?}\n"),
            ));
        }
    }
}

/// Parses a request head: `Ok(None)` if it is not complete yet.
fn parse(buf: &[u8]) -> Result<Option<Request>, Response> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(buf) {
        Ok(httparse::Status::Complete(_)) => {
            let accept = req
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("accept"))
                .map(|h| String::from_utf8_lossy(h.value).into_owned());
            Ok(Some(Request {
                method: req.method.unwrap_or_default().to_string(),
                target: req.path.unwrap_or_default().to_string(),
                accept,
            }))
        }
        Ok(httparse::Status::Partial) => Ok(None),
        Err(e) => Err(Response::text(400, format!("bad request: {e}\n"))),
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn write_response(conn: &mut TcpStream, response: &Response) -> io::Result<()> {
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        response.status,
        response.reason(),
        response.content_type,
        response.body.len()
    );
    if response.status == 405 {
        out.push_str("Allow: GET\r\n");
    }
    out.push_str("\r\n");
    out.push_str(&response.body);
    conn.write_all(out.as_bytes())?;
    conn.flush()
}

/// Reads what the client still sends (a request body we ignore) for at most one
/// [`READ_SLICE`], so that closing does not reset the connection under the response.
fn drain(conn: &mut TcpStream) {
    let mut sink = [0u8; 1024];
    let mut left = MAX_REQUEST;
    while left > 0 {
        match conn.read(&mut sink) {
            Ok(0) | Err(_) => return,
            Ok(n) => left = left.saturating_sub(n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_method_target_and_accept() {
        let head = b"GET /debug/goro/tasks?format=json HTTP/1.1\r\nHost: x\r\nACCEPT: application/json\r\n\r\n";
        assert_eq!(
            parse(head).unwrap(),
            Some(Request {
                method: "GET".into(),
                target: "/debug/goro/tasks?format=json".into(),
                accept: Some("application/json".into()),
            })
        );
        assert_eq!(parse(b"GET /metrics HTTP/1.1\r\nHost:").unwrap(), None);
        let err = parse(b"\x01\x02 nonsense\r\n\r\n").unwrap_err();
        assert_eq!(err.status, 400);
    }
}
