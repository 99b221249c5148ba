//! The hello server answers keep-alive, pipelined and closing requests on every runtime
//! flavour `http-hello` offers.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use goro_benches::server::{Server, ServerKind};
use goro_tools::http::{response, Hello};

fn check(kind: ServerKind) {
    let server = Server::start(
        kind,
        SocketAddr::from(([127, 0, 0, 1], 0)),
        None,
        Hello::default(),
    )
    .unwrap_or_else(|e| panic!("{kind}: {e}"));
    let ok = response("");
    let mut conn = TcpStream::connect(server.addr()).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = vec![0; ok.len() * 2];

    // Keep-alive: two requests one after the other, the second split in two writes.
    for _ in 0..2 {
        conn.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
        conn.write_all(b"\r\n").unwrap();
        conn.read_exact(&mut buf[..ok.len()]).unwrap();
        assert_eq!(&buf[..ok.len()], &ok[..], "{kind}");
    }

    // Pipelined: two requests in one write, two responses.
    conn.write_all(b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n")
        .unwrap();
    conn.read_exact(&mut buf).unwrap();
    assert_eq!(&buf[..ok.len()], &ok[..], "{kind}");
    assert_eq!(&buf[ok.len()..], &ok[..], "{kind}");

    // Connection: close gets its response, then end of stream.
    conn.write_all(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut rest = Vec::new();
    conn.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, response("close"), "{kind}");

    // Garbage gets a 400 and the connection closes.
    let mut bad = TcpStream::connect(server.addr()).unwrap();
    bad.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    bad.write_all(b"\x01\x02 nonsense\r\n\r\n").unwrap();
    let mut rest = Vec::new();
    bad.read_to_end(&mut rest).unwrap();
    assert!(rest.starts_with(b"HTTP/1.1 400 "), "{kind}");
}

#[test]
fn goro_1() {
    check(ServerKind::Goro(1));
}

#[test]
fn goro_2() {
    check(ServerKind::Goro(2));
}

#[test]
fn tokio_current_thread() {
    check(ServerKind::TokioCurrentThread);
}

#[test]
fn tokio_multi_thread() {
    check(ServerKind::TokioMultiThread(2));
}

#[test]
fn block_and_spin_paths_take_their_time_and_bad_ones_get_400() {
    let server = Server::start(
        ServerKind::Goro(1),
        SocketAddr::from(([127, 0, 0, 1], 0)),
        None,
        Hello::default(),
    )
    .unwrap();
    let ok = response("");
    let mut conn = TcpStream::connect(server.addr()).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = vec![0; ok.len()];
    for path in ["/block?ms=30", "/spin?ms=30"] {
        let start = std::time::Instant::now();
        conn.write_all(format!("GET {path} HTTP/1.1\r\n\r\n").as_bytes())
            .unwrap();
        conn.read_exact(&mut buf).unwrap();
        assert_eq!(buf, ok, "{path}");
        assert!(start.elapsed() >= Duration::from_millis(30), "{path}");
    }
    for bad in ["/block?ms=1001", "/spin", "/block?ms=x"] {
        let mut c = TcpStream::connect(server.addr()).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        c.write_all(format!("GET {bad} HTTP/1.1\r\n\r\n").as_bytes())
            .unwrap();
        let mut rest = Vec::new();
        c.read_to_end(&mut rest).unwrap();
        assert!(rest.starts_with(b"HTTP/1.1 400 "), "{bad}");
    }
}
