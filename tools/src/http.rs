//! A minimal HTTP/1.1 keep-alive server for load tests: every request gets `200 OK` with a
//! short fixed body and a `Content-Length`.
//!
//! [`Hello`] is a [`goro_benches::server::Handler`], so the same code serves on goro and on
//! tokio (see the `http-hello` binary). Requests are parsed with `httparse`; pipelined
//! requests are answered in one write. A request body announced by `Content-Length` is read
//! and ignored; `Transfer-Encoding` (chunked bodies) and malformed requests get `400` and the
//! connection is closed, as is a connection whose request head outgrows [`MAX_HEAD`].
//! HTTP/1.1 connections stay open unless the client sends `Connection: close`; HTTP/1.0 ones
//! only with `Connection: keep-alive`.
//!
//! Two paths make a handler misbehave on purpose, for the latency suite of `goro-bench`:
//! `GET /block?ms=N` blocks the handler's thread in `std::thread::sleep` for N ms (standing
//! for a synchronous DNS lookup, file read or database driver call inside an async handler)
//! and `GET /spin?ms=N` keeps the CPU busy for N ms, both before the usual answer. N is at
//! most [`MAX_HANDLER_MS`]; a missing or bad `ms` gets `400`. Every other path is answered
//! at once.

use goro_benches::server::{Conn, Handler};
use std::future::Future;
use std::time::{Duration, Instant};

/// The response body.
pub const BODY: &str = "Hello, world!\n";

/// Largest request (head plus body) kept in the buffer before the server gives up.
pub const MAX_HEAD: usize = 64 * 1024;

/// Most headers a request may have.
pub const MAX_HEADERS: usize = 32;

/// Longest block or spin a request may ask for, in milliseconds.
pub const MAX_HANDLER_MS: u64 = 1000;

const INITIAL_BUF: usize = 8 * 1024;

/// What a request asks the handler to do before it answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Answer at once.
    Hello,
    /// `std::thread::sleep` this long (`/block?ms=N`).
    Block(Duration),
    /// Keep the CPU busy this long (`/spin?ms=N`).
    Spin(Duration),
    /// Answer with a JSON document parsed and written anew (`/json`).
    Json,
}

impl Action {
    /// The action of a request target, `None` for `/block` or `/spin` without a good `ms`.
    pub fn from_target(target: &str) -> Option<Action> {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let make: fn(Duration) -> Action = match path {
            "/block" => Action::Block,
            "/spin" => Action::Spin,
            "/json" => return Some(Action::Json),
            _ => return Some(Action::Hello),
        };
        let ms = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("ms="))?
            .parse::<u64>()
            .ok()
            .filter(|&ms| ms <= MAX_HANDLER_MS)?;
        Some(make(Duration::from_millis(ms)))
    }

    /// Does it, on the calling thread.
    pub fn perform(self) {
        match self {
            Action::Hello | Action::Json => {}
            Action::Block(d) => std::thread::sleep(d),
            Action::Spin(d) => {
                let start = Instant::now();
                while start.elapsed() < d {
                    std::hint::spin_loop();
                }
            }
        }
    }
}

/// The document `/json` parses and writes back (with a `path` field added) per request:
/// a little CPU work per request, the same as the Go server of `procs-effect` does.
pub const JSON_DOC: &str = r#"{"id":1,"name":"goro","tags":["g","p","m"],"scores":[1.5,2.5,3.5,4.5],"nested":{"a":1,"b":"two","c":[true,false]}}"#;

/// The `/json` response: [`JSON_DOC`] parsed, given a `path`, written out.
pub fn json_response(connection: &str) -> Vec<u8> {
    let mut doc: serde_json::Value = serde_json::from_str(JSON_DOC).expect("JSON_DOC parses");
    doc["path"] = "/json".into();
    ok_response("application/json", connection, &doc.to_string())
}

/// A `200 OK` with `body`, and the `Connection` header `connection` (none if empty).
fn ok_response(content_type: &str, connection: &str, body: &str) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 200 OK\r\nServer: http-hello\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !connection.is_empty() {
        r.push_str(&format!("Connection: {connection}\r\n"));
    }
    r.push_str("\r\n");
    r.push_str(body);
    r.into_bytes()
}

/// The fixed response, with the `Connection` header `connection` (none if empty).
pub fn response(connection: &str) -> Vec<u8> {
    ok_response("text/plain", connection, BODY)
}

const BAD_REQUEST: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/// What the start of a buffer holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A whole request of `len` bytes (head and body).
    Request {
        /// Its length in bytes.
        len: usize,
        /// Whether the connection stays open after the response.
        keep_alive: bool,
        /// HTTP/1.0 asking for keep-alive: the response must say `Connection: keep-alive`.
        http10_keep_alive: bool,
        /// What to do before answering.
        action: Action,
    },
    /// Not a whole request yet.
    Partial,
    /// Not a request we serve: answer 400 and close.
    Invalid,
}

/// Parses the request at the start of `buf`.
pub fn parse_request(buf: &[u8]) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(_) => return Parsed::Invalid,
    };
    let Some(action) = req.path.and_then(Action::from_target) else {
        return Parsed::Invalid;
    };
    let http10 = req.version == Some(0);
    let mut keep_alive = !http10;
    let mut body = 0usize;
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            match std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
            {
                Some(n) => body = n,
                None => return Parsed::Invalid,
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            return Parsed::Invalid;
        } else if h.name.eq_ignore_ascii_case("connection") {
            let v = h.value;
            let has = |token: &str| {
                v.split(|&b| b == b',')
                    .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
            };
            if has("close") {
                keep_alive = false;
            } else if has("keep-alive") {
                keep_alive = true;
            }
        }
    }
    let Some(len) = head_len.checked_add(body).filter(|&l| l <= MAX_HEAD) else {
        return Parsed::Invalid;
    };
    if buf.len() < len {
        return Parsed::Partial;
    }
    Parsed::Request {
        len,
        keep_alive,
        http10_keep_alive: http10 && keep_alive,
        action,
    }
}

/// The hello handler.
#[derive(Clone, Debug)]
pub struct Hello {
    keep_alive: std::sync::Arc<[u8]>,
    close: std::sync::Arc<[u8]>,
    http10_keep_alive: std::sync::Arc<[u8]>,
}

impl Default for Hello {
    fn default() -> Self {
        Hello {
            keep_alive: response("").into(),
            close: response("close").into(),
            http10_keep_alive: response("keep-alive").into(),
        }
    }
}

impl Handler for Hello {
    fn serve<C: Conn>(&self, mut conn: C) -> impl Future<Output = ()> + Send {
        let this = self.clone();
        async move {
            let mut buf = vec![0u8; INITIAL_BUF];
            let mut filled = 0;
            let mut out = Vec::with_capacity(this.keep_alive.len() * 4);
            loop {
                if filled == buf.len() {
                    if buf.len() >= MAX_HEAD {
                        let _ = conn.write_all(BAD_REQUEST).await;
                        return;
                    }
                    buf.resize(buf.len() * 2, 0);
                }
                let n = match conn.read(&mut buf[filled..]).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                filled += n;

                // Answer every whole request in the buffer (pipelining), in one write.
                let mut start = 0;
                let mut close = false;
                while start < filled {
                    match parse_request(&buf[start..filled]) {
                        Parsed::Request {
                            len,
                            keep_alive,
                            http10_keep_alive,
                            action,
                        } => {
                            start += len;
                            action.perform();
                            let connection = match (keep_alive, http10_keep_alive) {
                                (false, _) => "close",
                                (true, true) => "keep-alive",
                                (true, false) => "",
                            };
                            if action == Action::Json {
                                out.extend_from_slice(&json_response(connection));
                            } else {
                                out.extend_from_slice(match connection {
                                    "close" => &this.close,
                                    "keep-alive" => &this.http10_keep_alive,
                                    _ => &this.keep_alive,
                                });
                            }
                            if !keep_alive {
                                close = true;
                                break;
                            }
                        }
                        Parsed::Partial => break,
                        Parsed::Invalid => {
                            out.extend_from_slice(BAD_REQUEST);
                            close = true;
                            break;
                        }
                    }
                }
                buf.copy_within(start..filled, 0);
                filled -= start;
                if !out.is_empty() {
                    if conn.write_all(&out).await.is_err() {
                        return;
                    }
                    out.clear();
                }
                if close {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let get = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(
            parse_request(get),
            Parsed::Request {
                len: get.len(),
                keep_alive: true,
                http10_keep_alive: false,
                action: Action::Hello,
            }
        );
        assert_eq!(parse_request(&get[..10]), Parsed::Partial);
        let close = b"GET / HTTP/1.1\r\nConnection: Close\r\n\r\n";
        assert!(matches!(
            parse_request(close),
            Parsed::Request {
                keep_alive: false,
                ..
            }
        ));
        let old = b"GET / HTTP/1.0\r\n\r\n";
        assert!(matches!(
            parse_request(old),
            Parsed::Request {
                keep_alive: false,
                ..
            }
        ));
        let old_ka = b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
        assert!(matches!(
            parse_request(old_ka),
            Parsed::Request {
                keep_alive: true,
                http10_keep_alive: true,
                ..
            }
        ));
        let post = b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
        assert_eq!(
            parse_request(post),
            Parsed::Request {
                len: post.len(),
                keep_alive: true,
                http10_keep_alive: false,
                action: Action::Hello,
            }
        );
        assert_eq!(parse_request(&post[..post.len() - 1]), Parsed::Partial);
        assert_eq!(parse_request(b"\x00\x01 nonsense\r\n\r\n"), Parsed::Invalid);
        assert_eq!(
            parse_request(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Parsed::Invalid
        );
    }

    #[test]
    fn handler_actions() {
        let ms = Duration::from_millis;
        assert_eq!(Action::from_target("/"), Some(Action::Hello));
        assert_eq!(Action::from_target("/x?ms=5"), Some(Action::Hello));
        assert_eq!(Action::from_target("/json"), Some(Action::Json));
        let json = String::from_utf8(json_response("")).unwrap();
        let (head, body) = json.split_once("\r\n\r\n").unwrap();
        assert!(
            head.contains(&format!("Content-Length: {}", body.len())),
            "{json}"
        );
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(
            (v["path"].as_str(), v["id"].as_u64()),
            (Some("/json"), Some(1))
        );
        assert_eq!(
            Action::from_target("/block?ms=20"),
            Some(Action::Block(ms(20)))
        );
        assert_eq!(
            Action::from_target("/spin?a=1&ms=1000"),
            Some(Action::Spin(ms(1000)))
        );
        for bad in [
            "/block",
            "/block?ms=",
            "/block?ms=x",
            "/spin?ms=1001",
            "/spin?ms=-1",
        ] {
            assert_eq!(Action::from_target(bad), None, "{bad}");
        }
        assert_eq!(
            parse_request(b"GET /block?ms=5000 HTTP/1.1\r\n\r\n"),
            Parsed::Invalid
        );
        assert!(matches!(
            parse_request(b"GET /spin?ms=3 HTTP/1.1\r\n\r\n"),
            Parsed::Request {
                action: Action::Spin(d),
                ..
            } if d == ms(3)
        ));
        let start = Instant::now();
        Action::Spin(ms(20)).perform();
        Action::Block(ms(20)).perform();
        assert!(start.elapsed() >= ms(40));
    }

    #[test]
    fn response_has_length() {
        let r = String::from_utf8(response("")).unwrap();
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(r.contains(&format!("Content-Length: {}\r\n", BODY.len())));
        assert!(r.ends_with(&format!("\r\n\r\n{BODY}")));
        assert!(String::from_utf8(response("close"))
            .unwrap()
            .contains("Connection: close\r\n"));
    }
}
