//! A hyper 1.x hello-world server on goro, written with hyper's own connection builder so
//! the goro pieces show: `GoroIo` (the socket as hyper I/O) and `GoroTimer`.
//! (`goro::hyper::serve` does this loop for you, with HTTP/2 and graceful shutdown: see
//! `axum-app.rs`.)
//!
//! ```sh
//! cargo run --release -p goro-ecosystem --example hyper-hello   # listens on 127.0.0.1:3000
//! curl http://127.0.0.1:3000/
//! ```

use goro::hyper::{GoroIo, GoroTimer};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use std::convert::Infallible;

async fn hello(_req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(
        b"Hello, World!",
    ))))
}

#[goro::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    let listener = goro::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    loop {
        let (stream, _peer) = listener.accept().await?;
        stream.set_nodelay(true)?;
        goro::spawn(async move {
            let conn = http1::Builder::new()
                .timer(GoroTimer::new())
                .serve_connection(GoroIo::new(stream), service_fn(hello));
            if let Err(e) = conn.await {
                eprintln!("connection error: {e}");
            }
        });
    }
}
