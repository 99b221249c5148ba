//! HTTP/1.1 upgrades through `goro::hyper::serve`: WebSockets, at 1 and 2 processors, with
//! tokio-tungstenite as the client over a goro `TcpStream` (feature `tokio-io`).
//!
//! axum's `WebSocketUpgrade::on_upgrade` runs the socket's handler with `tokio::spawn`, so
//! an axum WebSocket route as it is needs `Builder::tokio_compat(true)` (the handler then
//! runs on tokio's threads). The second test does the upgrade with hyper's own
//! `hyper::upgrade::on` and `goro::spawn`, which needs no tokio runtime: the socket's task is
//! a goro task, with its stats and leak reports.

#[path = "../../tests/common/mod.rs"]
mod common;

use axum::body::Body;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{header, Request, Response, StatusCode};
use axum::routing::get;
use axum::Router;
use common::each_procs;
use futures_util::{SinkExt, StreamExt};
use goro::hyper::serve;
use goro::net::{TcpListener, TcpStream};
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::time::Duration;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::WebSocketStream;

const LIMIT: Duration = Duration::from_secs(30);

/// Serves `router` on a loopback listener until the returned handle is aborted.
async fn start(router: Router) -> (SocketAddr, goro::task::JoinHandle<std::io::Result<()>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (addr, goro::spawn(serve(listener, router).into_future()))
}

/// Opens a WebSocket to `ws://addr/ws`, sends a text and a binary message and checks the
/// echoes, then closes.
async fn talk(addr: SocketAddr) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut ws, response) = tokio_tungstenite::client_async(format!("ws://{addr}/ws"), stream)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    for i in 0..10 {
        ws.send(Frame::text(format!("hello {i}"))).await.unwrap();
        let echo = ws.next().await.unwrap().unwrap();
        assert_eq!(echo, Frame::text(format!("echo: hello {i}")));
    }
    ws.send(Frame::binary(vec![1, 2, 3])).await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Frame::binary(vec![1, 2, 3])
    );
    ws.close(None).await.unwrap();
    // The server answers the close and ends the stream.
    while let Some(frame) = ws.next().await {
        match frame {
            Ok(Frame::Close(_)) => {}
            Ok(other) => panic!("after close: {other:?}"),
            Err(_) => break,
        }
    }
}

/// Serves `router`, then talks to its `/ws` echo once alone and then twice at once, on
/// three connections.
async fn echo_through(router: Router) {
    let (addr, server) = start(router).await;
    talk(addr).await;
    let a = goro::spawn(talk(addr));
    let b = goro::spawn(talk(addr));
    a.await.unwrap();
    b.await.unwrap();
    server.abort();
}

/// axum's WebSocket echo handler.
async fn axum_echo(mut socket: WebSocket) {
    while let Some(Ok(msg)) = socket.recv().await {
        let reply = match msg {
            Message::Text(text) => Message::Text(format!("echo: {}", text.as_str()).into()),
            Message::Binary(bytes) => Message::Binary(bytes),
            Message::Close(_) => break,
            _ => continue,
        };
        if socket.send(reply).await.is_err() {
            break;
        }
    }
}

#[test]
fn an_axum_websocket_route_under_tokio_compat() {
    each_procs(LIMIT, |n| {
        let rt = goro::Runtime::builder()
            .processors(n)
            .tokio_compat(true)
            .build()
            .unwrap();
        rt.block_on(async {
            let router = Router::new().route(
                "/ws",
                get(|ws: WebSocketUpgrade| async move { ws.on_upgrade(axum_echo) }),
            );
            echo_through(router).await;
        });
    });
}

/// The upgrade done with hyper's `upgrade::on` and the socket served by a goro task.
async fn goro_upgrade(req: Request<Body>) -> Response<Body> {
    let Some(key) = req.headers().get(header::SEC_WEBSOCKET_KEY) else {
        return Response::builder()
            .status(StatusCode::BAD_REQUEST)
            .body(Body::empty())
            .unwrap();
    };
    let accept = derive_accept_key(key.as_bytes());
    let on_upgrade = hyper::upgrade::on(req);
    goro::spawn(async move {
        let upgraded = on_upgrade.await.expect("the connection upgraded");
        let io = hyper_util::rt::TokioIo::new(upgraded);
        let mut ws = WebSocketStream::from_raw_socket(io, Role::Server, None).await;
        while let Some(Ok(frame)) = ws.next().await {
            let reply = match frame {
                Frame::Text(text) => Frame::text(format!("echo: {}", text.as_str())),
                Frame::Binary(bytes) => Frame::Binary(bytes),
                Frame::Close(_) => break,
                _ => continue,
            };
            if ws.send(reply).await.is_err() {
                break;
            }
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_ACCEPT, accept)
        .body(Body::empty())
        .unwrap()
}

#[test]
fn a_websocket_served_by_a_goro_task_without_tokio() {
    each_procs(LIMIT, |n| {
        let rt = common::rt(n);
        rt.block_on(async {
            let router = Router::new().route("/ws", get(goro_upgrade));
            echo_through(router).await;
        });
    });
}
