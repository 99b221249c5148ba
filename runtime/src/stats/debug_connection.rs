//! One connection of the debug server: read a request head, write one response, linger
//! briefly, close. Non-blocking: [`Connection::advance`] does what the socket allows now
//! and returns; the server's event loop calls it on every readiness event and calls
//! [`Connection::expire`] when its deadline passes.
//!
//! ```text
//!   accept ──► Reading ──(head complete, or bad)──► Writing ──(all written)──► Lingering ──► closed
//!                │  deadline: 408                     │ deadline: close          │ EOF, deadline,
//!                │  client left: close                │ client left: close       │ or MAX_REQUEST read
//! ```
//!
//! A connection costs its socket and this struct until bytes arrive; the request buffer
//! grows with what the client sends, up to [`MAX_REQUEST`]. Lingering (reading and
//! discarding what the client still sends after the response, for [`LINGER`] at most) keeps
//! the kernel from resetting the connection under an unread response.

use super::routes::{respond, Asker, Response};
use crate::Handle;
use mio::net::TcpStream;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::time::{Duration, Instant};

/// The largest request head (request line and headers) the server reads.
pub(crate) const MAX_REQUEST: usize = 8 * 1024;
/// How long a client may take, from its connection, to send its request head.
pub(crate) const HEAD_TIMEOUT: Duration = Duration::from_secs(1);
/// How long writing a response may take.
pub(crate) const WRITE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the connection stays to read what the client sends after the response.
pub(crate) const LINGER: Duration = Duration::from_millis(100);
/// The most headers a request may have.
const MAX_HEADERS: usize = 32;

/// A connection and where it is in its one exchange.
#[derive(Debug)]
pub(crate) struct Connection {
    stream: TcpStream,
    asker: Asker,
    opened: Instant,
    deadline: Instant,
    state: State,
}

#[derive(Debug)]
enum State {
    /// The head read so far.
    Reading(Vec<u8>),
    /// The response and how much of it is written.
    Writing { out: Vec<u8>, written: usize },
    /// The response is out; how many more bytes to discard before closing.
    Lingering { left: usize },
}

/// Whether the connection is still open after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    Open,
    Closed,
}

impl Connection {
    /// A connection accepted at `now` from `asker`.
    pub(crate) fn new(stream: TcpStream, asker: Asker, now: Instant) -> Connection {
        Connection {
            stream,
            asker,
            opened: now,
            deadline: now + HEAD_TIMEOUT,
            state: State::Reading(Vec::new()),
        }
    }

    /// The socket, to register with the server's poller.
    pub(crate) fn stream(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    /// When the connection was accepted (the oldest is closed first when the server is full).
    pub(crate) fn opened(&self) -> Instant {
        self.opened
    }

    /// When the current state times out.
    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Reads, answers and writes as far as the socket allows without blocking.
    pub(crate) fn advance(&mut self, handle: &Handle, now: Instant) -> Step {
        loop {
            let next = match &mut self.state {
                State::Reading(head) => match read_head(&mut self.stream, head) {
                    Head::Pending => return Step::Open,
                    Head::Gone => return Step::Closed,
                    Head::Complete(request) => request.respond(self.asker, handle).to_bytes(),
                    Head::Bad(response) => response.to_bytes(),
                },
                State::Writing { out, written } => {
                    match write_out(&mut self.stream, out, written) {
                        Ok(true) => {
                            let _ = self.stream.shutdown(Shutdown::Write);
                            self.state = State::Lingering { left: MAX_REQUEST };
                            self.deadline = now + LINGER;
                            continue;
                        }
                        Ok(false) => return Step::Open,
                        Err(_) => return Step::Closed,
                    }
                }
                State::Lingering { left } => return discard(&mut self.stream, left),
            };
            self.start_writing(next, now);
        }
    }

    /// The deadline passed at `now`: a request still being read gets a 408, anything else
    /// is closed.
    pub(crate) fn expire(&mut self, handle: &Handle, now: Instant) -> Step {
        match self.state {
            State::Reading(_) => {
                let response = Response::text(
                    408,
                    format!("the request did not arrive within {HEAD_TIMEOUT:?}\n"),
                );
                self.start_writing(response.to_bytes(), now);
                self.advance(handle, now)
            }
            State::Writing { .. } | State::Lingering { .. } => Step::Closed,
        }
    }

    fn start_writing(&mut self, out: Vec<u8>, now: Instant) {
        self.state = State::Writing { out, written: 0 };
        self.deadline = now + WRITE_TIMEOUT;
    }
}

/// The parts of a request the routes look at.
#[derive(Debug, PartialEq, Eq)]
struct Request {
    method: String,
    target: String,
    accept: Option<String>,
}

impl Request {
    fn respond(&self, asker: Asker, handle: &Handle) -> Response {
        respond(
            &self.method,
            &self.target,
            self.accept.as_deref(),
            asker,
            handle,
        )
    }
}

/// What reading a request head came to.
#[derive(Debug)]
enum Head {
    /// Not complete yet; the socket has nothing more now.
    Pending,
    /// The client left (or failed) before completing a request: no answer.
    Gone,
    Complete(Request),
    /// The error response to send.
    Bad(Response),
}

/// Reads into `head` until it is a complete request, an error, or the socket would block.
fn read_head(stream: &mut TcpStream, head: &mut Vec<u8>) -> Head {
    let mut chunk = [0u8; 1024];
    loop {
        let room = (MAX_REQUEST - head.len()).min(chunk.len());
        match stream.read(&mut chunk[..room]) {
            Ok(0) => return Head::Gone,
            Ok(n) => head.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Head::Pending,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Head::Gone,
        }
        match parse(head) {
            Ok(Some(request)) => return Head::Complete(request),
            Err(response) => return Head::Bad(response),
            Ok(None) if head.len() >= MAX_REQUEST => {
                return Head::Bad(Response::text(
                    431,
                    format!("the request head is larger than {MAX_REQUEST} bytes\n"),
                ))
            }
            Ok(None) => {}
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

/// Writes the rest of `out`: `Ok(true)` when all of it is written, `Ok(false)` when the
/// socket would block first.
fn write_out(stream: &mut TcpStream, out: &[u8], written: &mut usize) -> io::Result<bool> {
    while *written < out.len() {
        match stream.write(&out[*written..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => *written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Reads and drops what the client still sends, `left` bytes at most.
fn discard(stream: &mut TcpStream, left: &mut usize) -> Step {
    let mut sink = [0u8; 1024];
    while *left > 0 {
        match stream.read(&mut sink) {
            Ok(0) => return Step::Closed,
            Ok(n) => *left = left.saturating_sub(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Step::Open,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Step::Closed,
        }
    }
    Step::Closed
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
