//! hyper-util's `Client` on goro: `Connector` opens goro TCP connections, `GoroExecutor`
//! runs the connection tasks, `GoroTimer` expires idle pooled connections.
//!
//! ```sh
//! cargo run --release -p goro-ecosystem --example hyper-client -- http://127.0.0.1:3000/hello/client
//! ```

use goro::hyper::{Connector, GoroExecutor, GoroTimer};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;

#[goro::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:3000/".into());
    let client: Client<Connector, Empty<Bytes>> = Client::builder(GoroExecutor::new())
        .pool_timer(GoroTimer::new())
        .build(Connector::new());
    let resp = client.get(url.parse()?).await?;
    println!("{} {:?}", resp.status(), resp.version());
    for (name, value) in resp.headers() {
        println!("{name}: {}", value.to_str().unwrap_or("<binary>"));
    }
    let body = resp.into_body().collect().await?.to_bytes();
    println!("\n{}", String::from_utf8_lossy(&body));
    Ok(())
}
