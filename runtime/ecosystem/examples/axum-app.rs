//! An axum app on goro: routes with path parameters, shared state and JSON, served by
//! `goro::hyper::serve` (HTTP/1.1 and HTTP/2), shutting down gracefully on SIGTERM or
//! Ctrl-C: the listener closes, requests in flight finish, then `main` returns.
//!
//! ```sh
//! cargo run --release -p goro-ecosystem --example axum-app     # listens on 127.0.0.1:3000
//! curl http://127.0.0.1:3000/hello/goro
//! curl -X POST -H 'content-type: application/json' -d '{"a":1}' http://127.0.0.1:3000/echo
//! kill -TERM <pid>
//! ```

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use goro::signal::unix::{signal, SignalKind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

#[derive(Clone, Default)]
struct AppState {
    hits: Arc<AtomicU64>,
}

async fn hello(State(state): State<AppState>, Path(name): Path<String>) -> String {
    let n = state.hits.fetch_add(1, Ordering::Relaxed) + 1;
    format!("hello, {name} (request {n})\n")
}

async fn echo(Json(body): Json<serde_json::Value>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "you_sent": body }))
}

/// Completes on SIGTERM or SIGINT, whichever comes first.
async fn shutdown_signal() {
    let mut term = signal(SignalKind::terminate()).expect("install a SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("install a SIGINT handler");
    std::future::poll_fn(|cx| {
        if term.poll_recv(cx).is_ready() || int.poll_recv(cx).is_ready() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    println!("signal received: finishing requests in flight");
}

#[goro::main]
async fn main() -> std::io::Result<()> {
    let app = Router::new()
        .route("/hello/{name}", get(hello))
        .route("/echo", post(echo))
        .with_state(AppState::default());
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    let listener = goro::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    goro::hyper::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    println!("all connections closed");
    Ok(())
}
