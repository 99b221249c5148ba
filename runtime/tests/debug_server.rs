//! The debug HTTP server (`Builder::debug_addr`, `GORO_DEBUG_ADDR`), spoken to over real
//! HTTP on loopback with a std `TcpStream` client.

mod common;

use std::future::poll_fn;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::task::Poll;
use std::time::Duration;

use goro::Runtime;

const LIMIT: Duration = Duration::from_secs(30);
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

/// A runtime with a debug server on a free loopback port.
fn rt_with_server(processors: usize) -> (Runtime, SocketAddr) {
    let rt = goro::Builder::new()
        .processors(processors)
        .debug_addr(([127, 0, 0, 1], 0).into())
        .build()
        .expect("runtime with a debug server");
    let addr = rt.debug_addr().expect("the debug server's address");
    assert!(addr.ip().is_loopback() && addr.port() != 0, "{addr}");
    (rt, addr)
}

/// A parsed HTTP response.
#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `raw` and reads the response until the server closes the connection.
fn exchange(addr: SocketAddr, raw: &[u8]) -> io::Result<Response> {
    let mut conn = TcpStream::connect_timeout(&addr, CLIENT_TIMEOUT)?;
    conn.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    conn.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    conn.write_all(raw)?;
    let mut bytes = Vec::new();
    conn.read_to_end(&mut bytes)?;
    let text = String::from_utf8(bytes).expect("a UTF-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("a response head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let mut parts = status_line.splitn(3, ' ');
    assert_eq!(parts.next(), Some("HTTP/1.1"), "{status_line}");
    let status = parts.next().unwrap().parse().unwrap();
    let headers = lines
        .map(|l| {
            let (n, v) = l.split_once(':').expect("a header");
            (n.trim().to_string(), v.trim().to_string())
        })
        .collect();
    let response = Response {
        status,
        headers,
        body: body.to_string(),
    };
    let length: usize = response.header("content-length").unwrap().parse().unwrap();
    assert_eq!(length, response.body.len(), "{response:?}");
    assert_eq!(response.header("connection"), Some("close"));
    Ok(response)
}

fn get(addr: SocketAddr, target: &str) -> Response {
    let raw = format!("GET {target} HTTP/1.1\r\nHost: goro\r\n\r\n");
    exchange(addr, raw.as_bytes()).unwrap_or_else(|e| panic!("GET {target}: {e}"))
}

#[test]
fn every_route_answers() {
    common::within(LIMIT, || {
        let (rt, addr) = rt_with_server(2);
        // An orphan (for the leak report) and a task blocked on a socket (for the dump).
        let orphan_line = line!() + 1;
        let _orphan = rt.spawn(poll_fn(|_cx| Poll::<()>::Pending));
        let listener = rt
            .block_on(goro::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let waiter_line = line!() + 1;
        let waiter = rt.spawn(async move { listener.accept().await.map(drop) });
        let handle = rt.handle().clone();
        common::wait_until(Duration::from_secs(5), "the orphan", || {
            handle.leak_report().orphaned_total == 1
        });

        let index = get(addr, "/");
        assert_eq!(index.status, 200);
        for route in [
            "/metrics",
            "/debug/goro/stats",
            "/debug/goro/tasks",
            "/debug/goro/leaks",
        ] {
            assert!(index.body.contains(route), "{}", index.body);
        }

        let metrics = get(addr, "/metrics");
        assert_eq!(metrics.status, 200);
        assert_eq!(
            metrics.header("content-type"),
            Some("text/plain; version=0.0.4; charset=utf-8")
        );
        assert!(
            metrics.body.contains("goro_polls_total"),
            "{}",
            metrics.body
        );
        assert!(metrics.body.contains("# TYPE"), "{}", metrics.body);
        assert!(
            metrics
                .body
                .contains("goro_cross_wakes_total{processor=\"1\"}"),
            "{}",
            metrics.body
        );

        let stats = get(addr, "/debug/goro/stats");
        assert_eq!(stats.status, 200);
        assert!(stats.body.contains("2 processors"), "{}", stats.body);
        let json = get(addr, "/debug/goro/stats?format=json");
        assert_eq!(json.header("content-type"), Some("application/json"));
        let value: serde_json::Value = serde_json::from_str(&json.body).unwrap();
        assert_eq!(value["processors"], 2);
        assert!(value["totals"]["cross_wakes"].is_u64(), "{value}");

        let tasks = get(addr, "/debug/goro/tasks");
        assert_eq!(tasks.status, 200);
        let waiter_site = format!("{}:{waiter_line}", file!());
        assert!(tasks.body.contains(&waiter_site), "{}", tasks.body);
        assert!(tasks.body.contains("TcpListener::accept"), "{}", tasks.body);

        let leaks = get(addr, "/debug/goro/leaks");
        assert_eq!(leaks.status, 200);
        let orphan_site = format!("{}:{orphan_line}", file!());
        assert!(leaks.body.contains(&orphan_site), "{}", leaks.body);

        // JSON by Accept header.
        let raw =
            "GET /debug/goro/leaks HTTP/1.1\r\nHost: goro\r\nAccept: application/json\r\n\r\n";
        let leaks_json = exchange(addr, raw.as_bytes()).unwrap();
        assert_eq!(leaks_json.header("content-type"), Some("application/json"));
        let value: serde_json::Value = serde_json::from_str(&leaks_json.body).unwrap();
        assert_eq!(value["orphaned_total"], 1);
        let spawned_at = value["orphaned"][0]["spawned_at"].as_str().unwrap();
        assert!(spawned_at.starts_with(&orphan_site), "{spawned_at}");

        let tasks_json = get(addr, "/debug/goro/tasks?format=json");
        let value: serde_json::Value = serde_json::from_str(&tasks_json.body).unwrap();
        assert!(value["groups"].as_array().is_some_and(|g| !g.is_empty()));

        waiter.abort();
    });
}

#[test]
fn errors_are_http_errors() {
    common::within(LIMIT, || {
        let (_rt, addr) = rt_with_server(1);
        let missing = get(addr, "/debug/nothing");
        assert_eq!(missing.status, 404);
        let post = exchange(
            addr,
            b"POST /metrics HTTP/1.1\r\nHost: goro\r\nContent-Length: 2\r\n\r\nhi",
        )
        .unwrap();
        assert_eq!(post.status, 405);
        assert_eq!(post.header("allow"), Some("GET"));
        let garbage = exchange(addr, b"\x01\x02\x03 what\r\n\r\n").unwrap();
        assert_eq!(garbage.status, 400);
        let huge = format!(
            "GET / HTTP/1.1\r\nHost: goro\r\nX-Big: {}\r\n\r\n",
            "x".repeat(64 * 1024)
        );
        let too_big = exchange(addr, huge.as_bytes());
        // The server answers 431 after reading its limit; the client may see the
        // connection reset while it still writes the rest.
        if let Ok(r) = too_big {
            assert_eq!(r.status, 431);
        }
        // A client that sends half a request and stalls is timed out.
        let stalled = exchange(addr, b"GET / HTTP/1.1\r\nHost:").unwrap();
        assert_eq!(stalled.status, 408);
        // And the server still serves afterwards.
        assert_eq!(get(addr, "/metrics").status, 200);
    });
}

#[test]
fn answers_while_every_processor_is_blocked() {
    common::within(LIMIT, || {
        let (rt, addr) = rt_with_server(1);
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        // Block the only processor's thread until the test says so.
        let blocker = rt.spawn(async move {
            let _ = rx.recv_timeout(Duration::from_secs(10));
        });
        std::thread::sleep(Duration::from_millis(20));
        let stats = get(addr, "/debug/goro/stats");
        assert_eq!(stats.status, 200);
        tx.send(()).unwrap();
        rt.block_on(blocker).unwrap();
    });
}

#[test]
fn the_port_is_released_when_the_runtime_drops() {
    common::within(LIMIT, || {
        let (rt, addr) = rt_with_server(1);
        assert_eq!(get(addr, "/").status, 200);
        drop(rt);
        let err = TcpStream::connect_timeout(&addr, CLIENT_TIMEOUT).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
        let again = std::net::TcpListener::bind(addr);
        assert!(again.is_ok(), "{again:?}");
    });
}

#[test]
fn shutdown_timeout_stops_the_server_too() {
    common::within(LIMIT, || {
        let (rt, addr) = rt_with_server(1);
        rt.shutdown_timeout(Duration::from_secs(1));
        let err = TcpStream::connect_timeout(&addr, CLIENT_TIMEOUT).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
    });
}

#[test]
fn a_taken_address_is_a_build_error_naming_it() {
    common::within(LIMIT, || {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        let err = goro::Builder::new()
            .processors(1)
            .debug_addr(addr)
            .build()
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
        assert!(err.to_string().contains(&addr.to_string()), "{err}");
    });
}

#[test]
fn a_bind_beyond_loopback_needs_an_explicit_exposure() {
    common::within(LIMIT, || {
        for any in ["0.0.0.0:0", "[::]:0"] {
            let err = goro::Builder::new()
                .processors(1)
                .debug_addr(any.parse().unwrap())
                .build()
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
            assert!(err.to_string().contains("GORO_DEBUG_PUBLIC"), "{err}");
        }
    });
}

#[test]
fn another_loopback_address_is_still_loopback() {
    common::within(LIMIT, || {
        // Bound to 127.0.0.2, reached from 127.0.0.1: both ends loopback, everything served
        // without any exposure.
        let rt = goro::Builder::new()
            .processors(1)
            .debug_addr(([127, 0, 0, 2], 0).into())
            .build()
            .expect("a loopback bind needs no exposure");
        let addr = rt.debug_addr().unwrap();
        assert_eq!(get(addr, "/debug/goro/tasks").status, 200);
    });
}

/// This machine's address on its default route, if it has one: a peer address that is not
/// loopback, though the traffic stays on this machine. No packet is sent (connecting a UDP
/// socket only picks the route).
fn own_non_loopback_ip() -> Option<std::net::IpAddr> {
    let probe = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    probe.connect("198.51.100.1:9").ok()?;
    let ip = probe.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[test]
fn peers_beyond_loopback_get_only_what_is_exposed() {
    common::within(LIMIT, || {
        let Some(own) = own_non_loopback_ip() else {
            eprintln!(
                "SKIPPED peers_beyond_loopback_get_only_what_is_exposed: this machine has no \
                 non-loopback address to connect from (the policy itself is unit-tested in \
                 goro's stats::exposure)"
            );
            return;
        };
        for (exposure, dumps_to_others) in [
            (goro::stats::DebugExposure::Metrics, 403),
            (goro::stats::DebugExposure::All, 200),
        ] {
            let rt = goro::Builder::new()
                .processors(1)
                .debug_addr(([0, 0, 0, 0], 0).into())
                .debug_public(exposure)
                .build()
                .unwrap();
            let port = rt.debug_addr().unwrap().port();
            // Connecting to our own interface address makes the peer that address.
            let remote = SocketAddr::new(own, port);
            let local = SocketAddr::from(([127, 0, 0, 1], port));
            assert_eq!(get(remote, "/metrics").status, 200, "{exposure:?}");
            let tasks = get(remote, "/debug/goro/tasks");
            assert_eq!(
                tasks.status, dumps_to_others,
                "{exposure:?}: {}",
                tasks.body
            );
            for route in ["/debug/goro/stats", "/debug/goro/leaks"] {
                assert_eq!(get(remote, route).status, dumps_to_others, "{route}");
            }
            assert_eq!(get(local, "/debug/goro/tasks").status, 200, "{exposure:?}");
        }
    });
}
