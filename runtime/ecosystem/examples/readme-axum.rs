//! The README's axum example, verbatim below this comment (a test in
//! `tests/examples.rs` checks that the README still shows exactly this, and runs it).
//!
//! ```sh
//! cargo run -p goro-ecosystem --example readme-axum   # listens on 127.0.0.1:3000
//! ```

use axum::{extract::Path, routing::get, Json, Router};
use goro::signal::unix::{signal, SignalKind};

async fn hello(Path(name): Path<String>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "hello": name }))
}

#[goro::main]
async fn main() -> std::io::Result<()> {
    let app = Router::new().route("/hello/{name}", get(hello));
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    let listener = goro::net::TcpListener::bind(addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let mut term = signal(SignalKind::terminate())?;
    goro::hyper::serve(listener, app)
        .with_graceful_shutdown(async move {
            term.recv().await;
        })
        .await
}
