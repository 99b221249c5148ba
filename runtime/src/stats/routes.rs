//! What the debug server answers: one request (method, target, `Accept` header) in, one
//! [`Response`] out. No sockets here; `debug_server` does the transport.
//!
//! | route | body |
//! |---|---|
//! | `/` | this list |
//! | `/metrics` | [`Snapshot::to_prometheus`](goro_stats::Snapshot::to_prometheus) |
//! | `/debug/goro/stats` | the [`Snapshot`](goro_stats::Snapshot) |
//! | `/debug/goro/tasks` | the [`TaskDump`](goro_stats::TaskDump): every live task, grouped |
//! | `/debug/goro/leaks` | the [`LeakReport`](goro_stats::LeakReport) |
//!
//! The `/debug/goro/*` routes answer text (the reports' `Display`), or JSON with
//! `?format=json` or an `Accept` header naming `application/json`. Other methods than `GET`
//! get 405, other paths 404, and a route the peer may not read (see `exposure`) 403.

use super::DebugExposure;
use crate::Handle;
use std::fmt::Write;
use std::net::IpAddr;

/// The routes and what they serve, for the index page.
const ROUTES: &[(&str, &str)] = &[
    ("/metrics", "Prometheus metrics (text format 0.0.4)"),
    (
        "/debug/goro/stats",
        "counters, histograms, pauses, spawn sites (?format=json for JSON)",
    ),
    (
        "/debug/goro/tasks",
        "every live task, grouped by spawn site and suspension point (?format=json)",
    ),
    (
        "/debug/goro/leaks",
        "orphaned and suspected tasks, stall alarms (?format=json)",
    ),
];

const TEXT: &str = "text/plain; charset=utf-8";
const JSON: &str = "application/json";
const PROMETHEUS: &str = "text/plain; version=0.0.4; charset=utf-8";

/// An HTTP response, before it is written out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) content_type: &'static str,
    pub(crate) body: String,
}

impl Response {
    /// A plain-text response.
    pub(crate) fn text(status: u16, body: impl Into<String>) -> Response {
        Response {
            status,
            content_type: TEXT,
            body: body.into(),
        }
    }

    /// The whole HTTP/1.1 response, head and body; the connection closes after it.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.status,
            self.reason(),
            self.content_type,
            self.body.len()
        );
        if self.status == 405 {
            out.push_str("Allow: GET\r\n");
        }
        out.push_str("\r\n");
        out.push_str(&self.body);
        out.into_bytes()
    }

    /// The reason phrase of the status.
    pub(crate) fn reason(&self) -> &'static str {
        match self.status {
            200 => "OK",
            400 => "Bad Request",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            408 => "Request Timeout",
            413 => "Content Too Large",
            431 => "Request Header Fields Too Large",
            _ => "Error",
        }
    }
}

/// Who asks: the peer's address and what the server exposes beyond loopback.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Asker {
    pub(crate) peer: IpAddr,
    pub(crate) exposure: DebugExposure,
}

/// The answer to `method target` for `asker`, with the request's `Accept` header if it had
/// one.
pub(crate) fn respond(
    method: &str,
    target: &str,
    accept: Option<&str>,
    asker: Asker,
    handle: &Handle,
) -> Response {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let known = path == "/" || ROUTES.iter().any(|(route, _)| *route == path);
    if !known {
        return Response::text(404, format!("404 not found: {path}\n\n{}", index()));
    }
    if !asker.exposure.serves(asker.peer, path) {
        return Response::text(
            403,
            format!(
                "403: {path} is served to loopback peers only ({}={}); {}=all serves it to \
                 every peer\n",
                super::DEBUG_PUBLIC_ENV,
                asker.exposure,
                super::DEBUG_PUBLIC_ENV
            ),
        );
    }
    if method != "GET" {
        return Response::text(405, format!("405: {path} only answers GET, not {method}\n"));
    }
    let json = wants_json(query, accept);
    match path {
        "/metrics" => Response {
            status: 200,
            content_type: PROMETHEUS,
            body: handle.stats().to_prometheus(),
        },
        "/debug/goro/stats" => report(handle.stats(), json, |r| r.to_json()),
        "/debug/goro/tasks" => report(handle.tasks(), json, |r| r.to_json()),
        "/debug/goro/leaks" => report(handle.leak_report(), json, |r| r.to_json()),
        _ => Response::text(200, index()),
    }
}

/// A report as text (its `Display`) or as JSON.
fn report<R: std::fmt::Display>(value: R, json: bool, to_json: fn(&R) -> String) -> Response {
    if json {
        Response {
            status: 200,
            content_type: JSON,
            body: to_json(&value),
        }
    } else {
        Response::text(200, value.to_string())
    }
}

/// Whether the client asked for JSON: `format=json` in the query (which wins), or an
/// `Accept` header naming `application/json`.
fn wants_json(query: &str, accept: Option<&str>) -> bool {
    let format = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == "format")
        .map(|(_, value)| value);
    match format {
        Some(value) => value.eq_ignore_ascii_case("json"),
        None => accept.is_some_and(|a| a.to_ascii_lowercase().contains(JSON)),
    }
}

/// The index page: every route and what it serves.
fn index() -> String {
    let mut out = String::from("goro debug server\n\n");
    for (route, what) in ROUTES {
        let _ = writeln!(out, "{route:<20} {what}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_chosen_by_query_then_accept() {
        assert!(wants_json("format=json", None));
        assert!(wants_json("a=1&format=JSON", Some("text/plain")));
        assert!(!wants_json("format=text", Some("application/json")));
        assert!(wants_json("", Some("text/html, application/json;q=0.9")));
        assert!(!wants_json("", Some("text/plain")));
        assert!(!wants_json("", None));
    }

    #[test]
    fn index_lists_every_route() {
        let page = index();
        for (route, _) in ROUTES {
            assert!(page.contains(route), "{page}");
        }
    }

    #[test]
    fn status_lines_and_errors() {
        let rt = crate::Runtime::builder().processors(1).build().unwrap();
        let h = rt.handle();
        let local = Asker {
            peer: [127, 0, 0, 1].into(),
            exposure: DebugExposure::Loopback,
        };
        let r = respond("GET", "/nope", None, local, h);
        assert_eq!((r.status, r.reason()), (404, "Not Found"));
        assert!(r.body.contains("/metrics"), "{}", r.body);
        let r = respond("POST", "/metrics", None, local, h);
        assert_eq!((r.status, r.reason()), (405, "Method Not Allowed"));
        let r = respond("GET", "/", None, local, h);
        assert_eq!((r.status, r.content_type), (200, TEXT));
        let r = respond("GET", "/debug/goro/leaks?format=json", None, local, h);
        assert_eq!((r.status, r.content_type), (200, JSON));
        assert!(r.body.starts_with('{'), "{}", r.body);
        let r = respond("GET", "/metrics", None, local, h);
        assert_eq!((r.status, r.content_type), (200, PROMETHEUS));
    }

    #[test]
    fn a_remote_peer_gets_403_for_what_is_not_exposed_to_it() {
        let rt = crate::Runtime::builder().processors(1).build().unwrap();
        let h = rt.handle();
        let remote = Asker {
            peer: [192, 0, 2, 7].into(),
            exposure: DebugExposure::Metrics,
        };
        let r = respond("GET", "/metrics", None, remote, h);
        assert_eq!(r.status, 200);
        let r = respond("GET", "/debug/goro/tasks", None, remote, h);
        assert_eq!((r.status, r.reason()), (403, "Forbidden"));
        assert!(r.body.contains("GORO_DEBUG_PUBLIC=all"), "{}", r.body);
        let everything = Asker {
            exposure: DebugExposure::All,
            ..remote
        };
        let r = respond("GET", "/debug/goro/tasks", None, everything, h);
        assert_eq!(r.status, 200);
    }
}
