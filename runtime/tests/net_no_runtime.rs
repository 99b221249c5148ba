//! Sockets need a runtime: creating one outside panics with a message that says so.

mod common;

use std::future::Future;
use std::pin::pin;
use std::task::Context;

use common::*;
use goro::net::{TcpListener, TcpStream, UdpSocket};

const MSG: &str = "goro sockets need a runtime";

/// Polls `f` once, on this thread, outside any runtime.
fn poll_outside<F: Future>(f: F) {
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let _ = pin!(f).poll(&mut cx);
}

fn assert_needs_runtime(what: &str, f: impl FnOnce()) {
    let msg = expect_panic(f);
    assert!(
        msg.contains(MSG),
        "{what}: unexpected panic message {msg:?}"
    );
    assert!(
        msg.contains("block_on"),
        "{what}: the message should say what to do: {msg:?}"
    );
}

#[test]
fn sockets_outside_a_runtime_panic_clearly() {
    assert_needs_runtime("TcpListener::bind", || {
        poll_outside(TcpListener::bind("127.0.0.1:0"))
    });
    assert_needs_runtime("TcpStream::connect", || {
        poll_outside(TcpStream::connect("127.0.0.1:9"))
    });
    assert_needs_runtime("UdpSocket::bind", || {
        poll_outside(UdpSocket::bind("127.0.0.1:0"))
    });
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = std_listener.local_addr().unwrap();
    let std_stream = std::net::TcpStream::connect(addr).unwrap();
    assert_needs_runtime("TcpStream::from_std", || {
        let _ = TcpStream::from_std(std_stream);
    });
    assert_needs_runtime("TcpListener::from_std", || {
        let _ = TcpListener::from_std(std_listener);
    });
    let std_udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    assert_needs_runtime("UdpSocket::from_std", || {
        let _ = UdpSocket::from_std(std_udp);
    });
    #[cfg(unix)]
    {
        assert_needs_runtime("UnixStream::pair", || {
            let _ = goro::net::UnixStream::pair();
        });
        assert_needs_runtime("UnixListener::bind", || {
            let _ = goro::net::UnixListener::bind("/tmp/goro-net-never-bound.sock");
        });
        assert_needs_runtime("UnixStream::connect", || {
            poll_outside(goro::net::UnixStream::connect(
                "/tmp/goro-net-never-bound.sock",
            ))
        });
    }
}

#[test]
fn creating_the_future_outside_and_polling_inside_works() {
    // Like tokio: `rt.block_on(TcpListener::bind(..))` polls the future inside the runtime.
    let rt = rt(1);
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let connect = TcpStream::connect(addr);
    let client = rt.block_on(connect).unwrap();
    let (server, _) = rt.block_on(listener.accept()).unwrap();
    assert_eq!(server.peer_addr().unwrap(), client.local_addr().unwrap());
    // A socket may outlive its runtime; dropping it afterwards is fine.
    drop(rt);
    drop((client, server, listener));
}
