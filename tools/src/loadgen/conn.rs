//! One keep-alive connection of the generator, as a state machine driven by mio events.
//!
//! ```text
//!   Down --connect--> Connecting --writable, connected--> Idle --send--> Sending
//!                                                          ^               | request written
//!                                                          |               v
//!                                      response complete --+---------- Awaiting
//! ```
//!
//! Any failure (refused connect, reset, end of stream mid-response, a non-2xx status, a
//! response that does not parse, uses chunked encoding or has no `Content-Length`, bytes
//! nobody asked for) drops the socket and returns the connection to `Down`, with the
//! [`Failure`] that the driver counts before it reconnects. A response with
//! `Connection: close`, or the server closing an idle connection, is not an error: the
//! connection goes `Down` and is reopened at once. One request is in flight at a time.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use mio::event::Event;
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use serde::Serialize;

use super::args::Protocol;

/// Largest response (head and body) a connection buffers before calling it an error.
pub const MAX_RESPONSE: usize = 1 << 20;
const MAX_HEADERS: usize = 64;
const INITIAL_BUF: usize = 4096;

/// Why a request or connection failed; the report counts each kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    /// The connection could not be opened (refused, unreachable).
    Connect,
    /// Reset, broken pipe, or end of stream while a response was due.
    Io,
    /// A status outside 200-299.
    Status,
    /// A response that does not parse, is chunked, has no length, is too large, or arrived
    /// unasked.
    Parse,
}

impl Failure {
    /// Every kind, in report order.
    pub const ALL: [Failure; 4] = [
        Failure::Connect,
        Failure::Io,
        Failure::Status,
        Failure::Parse,
    ];
}

/// What an event did to a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Nothing the driver must act on.
    Nothing,
    /// The connection is open and idle.
    Connected,
    /// A response completed; the connection is idle again, or `Down` if `closed`.
    Completed {
        /// When the request was meant to go out (open loop).
        intended: Option<Instant>,
        /// When it went out.
        sent: Instant,
        /// When its response completed.
        done: Instant,
        /// Whether the server closed the connection.
        closed: bool,
    },
    /// The connection failed and is `Down`.
    Failed(Failure),
    /// The server closed the idle connection; it is `Down`.
    Closed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Down,
    Connecting,
    Idle,
    Sending,
    Awaiting,
}

/// One connection.
pub struct Conn {
    stream: Option<TcpStream>,
    phase: Phase,
    request: Arc<[u8]>,
    protocol: Protocol,
    written: usize,
    buf: Vec<u8>,
    filled: usize,
    intended: Option<Instant>,
    sent: Instant,
    /// Index of the next request this connection sends (its slot in the schedule).
    pub next: u64,
}

impl Conn {
    /// A connection that is `Down` and will send `request` under `protocol`.
    pub fn new(request: Arc<[u8]>, protocol: Protocol) -> Conn {
        Conn {
            stream: None,
            phase: Phase::Down,
            request,
            protocol,
            written: 0,
            buf: vec![0; INITIAL_BUF],
            filled: 0,
            intended: None,
            sent: Instant::now(),
            next: 0,
        }
    }

    /// Whether it is open with no request in flight.
    pub fn is_idle(&self) -> bool {
        self.phase == Phase::Idle
    }

    /// Whether it has no socket.
    pub fn is_down(&self) -> bool {
        self.phase == Phase::Down
    }

    /// Whether a request is in flight.
    pub fn is_busy(&self) -> bool {
        matches!(self.phase, Phase::Sending | Phase::Awaiting)
    }

    /// Starts connecting a `Down` connection to `addr`.
    pub fn connect(&mut self, addr: SocketAddr, registry: &Registry, token: Token) -> Step {
        let opened = TcpStream::connect(addr).and_then(|mut s| {
            registry.register(&mut s, token, Interest::READABLE | Interest::WRITABLE)?;
            Ok(s)
        });
        match opened {
            Ok(s) => {
                self.stream = Some(s);
                self.phase = Phase::Connecting;
                Step::Nothing
            }
            Err(_) => Step::Failed(Failure::Connect),
        }
    }

    /// Sends the next request on an idle connection; `intended` is its scheduled time.
    pub fn send(&mut self, intended: Option<Instant>, now: Instant) -> Step {
        debug_assert!(self.is_idle());
        self.intended = intended;
        self.sent = now;
        self.next += 1;
        self.written = 0;
        self.phase = Phase::Sending;
        self.write()
    }

    /// Handles a readiness event.
    pub fn on_event(&mut self, event: &Event) -> Step {
        match self.phase {
            Phase::Down => Step::Nothing,
            Phase::Connecting if event.is_writable() || event.is_error() => self.finish_connect(),
            Phase::Connecting => Step::Nothing,
            Phase::Sending if event.is_writable() || event.is_error() => self.write(),
            Phase::Idle | Phase::Sending | Phase::Awaiting => {
                self.read(event.is_read_closed() || event.is_error())
            }
        }
    }

    fn finish_connect(&mut self) -> Step {
        let Some(s) = &self.stream else {
            return Step::Nothing;
        };
        if !matches!(s.take_error(), Ok(None)) {
            return self.fail(Failure::Connect);
        }
        match s.peer_addr() {
            Ok(_) => {
                let _ = s.set_nodelay(true);
                self.phase = Phase::Idle;
                Step::Connected
            }
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Step::Nothing,
            Err(_) => self.fail(Failure::Connect),
        }
    }

    fn write(&mut self) -> Step {
        let Some(s) = &mut self.stream else {
            return Step::Nothing;
        };
        while self.written < self.request.len() {
            match s.write(&self.request[self.written..]) {
                Ok(0) => return self.fail(Failure::Io),
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Step::Nothing,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return self.fail(Failure::Io),
            }
        }
        // The response, when it comes, raises a readable edge of its own.
        self.phase = Phase::Awaiting;
        Step::Nothing
    }

    /// Reads what has arrived. A short read means the socket is empty for now (its next
    /// bytes raise a new edge), which saves the `WouldBlock` read per response, unless
    /// `to_end`: the peer closed, and the end of stream must be seen.
    fn read(&mut self, to_end: bool) -> Step {
        let mut eof = false;
        while !eof {
            if self.filled == self.buf.len() {
                if self.buf.len() >= MAX_RESPONSE {
                    return self.fail(Failure::Parse);
                }
                self.buf.resize(self.buf.len() * 2, 0);
            }
            let Some(s) = &mut self.stream else {
                return Step::Nothing;
            };
            let room = self.buf.len() - self.filled;
            match s.read(&mut self.buf[self.filled..]) {
                Ok(0) => eof = true,
                Ok(n) if n < room && !to_end => {
                    self.filled += n;
                    break;
                }
                Ok(n) => self.filled += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return self.fail(Failure::Io),
            }
        }
        let step = match self.phase {
            _ if self.filled == 0 && !eof => return Step::Nothing,
            Phase::Idle if self.filled == 0 => Step::Closed,
            Phase::Awaiting if self.filled > 0 => self.parse(),
            // End of stream while a response is due.
            Phase::Awaiting | Phase::Sending if self.filled == 0 => Step::Failed(Failure::Io),
            // Bytes before the request was even written: nobody asked for them.
            _ => Step::Failed(Failure::Parse),
        };
        match step {
            Step::Nothing if eof => self.fail(Failure::Io),
            Step::Completed {
                intended,
                sent,
                done,
                ..
            } if eof => {
                self.drop_socket();
                Step::Completed {
                    intended,
                    sent,
                    done,
                    closed: true,
                }
            }
            Step::Failed(_) | Step::Closed => {
                self.drop_socket();
                step
            }
            _ => step,
        }
    }

    fn parse(&mut self) -> Step {
        let buf = &self.buf[..self.filled];
        let parsed = match self.protocol {
            Protocol::Http => parse_response(buf),
            Protocol::Echo { .. } => parse_echo(buf, &self.request),
        };
        match parsed {
            Parsed::Partial => Step::Nothing,
            Parsed::Bad(why) => self.fail(why),
            Parsed::Complete { len, close } if len == self.filled => {
                let done = Instant::now();
                self.filled = 0;
                self.phase = Phase::Idle;
                if close {
                    self.drop_socket();
                }
                Step::Completed {
                    intended: self.intended,
                    sent: self.sent,
                    done,
                    closed: close,
                }
            }
            // More than one response to one request.
            Parsed::Complete { .. } => self.fail(Failure::Parse),
        }
    }

    fn fail(&mut self, why: Failure) -> Step {
        self.drop_socket();
        Step::Failed(why)
    }

    /// Closing the socket also removes it from the poll (epoll forgets closed fds).
    fn drop_socket(&mut self) {
        self.stream = None;
        self.phase = Phase::Down;
        self.filled = 0;
    }
}

/// What the start of a buffer holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A whole 2xx response of `len` bytes; `close` if the server will close.
    Complete {
        /// Its length in bytes.
        len: usize,
        /// Whether the server will close the connection.
        close: bool,
    },
    /// Not all of it yet: read more.
    Partial,
    /// Not a 2xx response this generator can read.
    Bad(Failure),
}

/// Checks an echo of `sent` at the start of `buf`.
pub fn parse_echo(buf: &[u8], sent: &[u8]) -> Parsed {
    let n = buf.len().min(sent.len());
    if buf[..n] != sent[..n] {
        Parsed::Bad(Failure::Parse)
    } else if n < sent.len() {
        Parsed::Partial
    } else {
        Parsed::Complete {
            len: sent.len(),
            close: false,
        }
    }
}

/// Parses the response at the start of `buf`.
pub fn parse_response(buf: &[u8]) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    let head = match resp.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(_) => return Parsed::Bad(Failure::Parse),
    };
    let code = resp.code.unwrap_or(0);
    if !(200..300).contains(&code) {
        return Parsed::Bad(Failure::Status);
    }
    let mut body = None;
    let mut close = resp.version == Some(0);
    for h in resp.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let n = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok());
            match n {
                Some(n) => body = Some(n),
                None => return Parsed::Bad(Failure::Parse),
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            return Parsed::Bad(Failure::Parse);
        } else if h.name.eq_ignore_ascii_case("connection") {
            let v = String::from_utf8_lossy(h.value).to_ascii_lowercase();
            close = v.split(',').any(|t| t.trim() == "close")
                || (close && !v.split(',').any(|t| t.trim() == "keep-alive"));
        }
    }
    let body = match (code, body) {
        (204, _) => 0,
        (_, Some(n)) => n,
        (_, None) => return Parsed::Bad(Failure::Parse),
    };
    match head.checked_add(body) {
        Some(len) if len > MAX_RESPONSE => Parsed::Bad(Failure::Parse),
        Some(len) if len <= buf.len() => Parsed::Complete { len, close },
        Some(_) => Parsed::Partial,
        None => Parsed::Bad(Failure::Parse),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoes() {
        assert_eq!(parse_echo(b"ab", b"abcd"), Parsed::Partial);
        assert_eq!(
            parse_echo(b"abcd", b"abcd"),
            Parsed::Complete {
                len: 4,
                close: false
            }
        );
        assert_eq!(
            parse_echo(b"abcdab", b"abcd"),
            Parsed::Complete {
                len: 4,
                close: false
            }
        );
        assert_eq!(parse_echo(b"ax", b"abcd"), Parsed::Bad(Failure::Parse));
    }

    #[test]
    fn responses() {
        let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        assert_eq!(
            parse_response(ok),
            Parsed::Complete {
                len: ok.len(),
                close: false
            }
        );
        assert_eq!(parse_response(&ok[..ok.len() - 1]), Parsed::Partial);
        assert_eq!(parse_response(&ok[..10]), Parsed::Partial);
        let close = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        assert_eq!(
            parse_response(close),
            Parsed::Complete {
                len: close.len(),
                close: true
            }
        );
        let old = b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n";
        assert!(matches!(
            parse_response(old),
            Parsed::Complete { close: true, .. }
        ));
        for (bad, why) in [
            (
                &b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n"[..],
                Failure::Status,
            ),
            (
                b"HTTP/1.1 404 No\r\nContent-Length: 0\r\n\r\n",
                Failure::Status,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                Failure::Parse,
            ),
            (b"HTTP/1.1 200 OK\r\n\r\n", Failure::Parse),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
                Failure::Parse,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n",
                Failure::Parse,
            ),
            (b"\x00\x01garbage\r\n\r\n", Failure::Parse),
        ] {
            assert_eq!(
                parse_response(bad),
                Parsed::Bad(why),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
