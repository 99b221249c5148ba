//! gRPC on goro, with no tokio runtime: tonic's `grpc.health.v1.Health` service (from
//! `tonic-health`) served by `goro::hyper::serve` over HTTP/2, and queried by tonic's
//! generated client over hyper-util's legacy `Client` with goro's `Connector`.
//!
//! tonic is built with its `router` and `codegen` features and without `transport`, whose
//! server and channel call tokio's runtime (with `transport`, build the runtime with
//! `Builder::tokio_compat(true)` instead).
//!
//! ```sh
//! cargo run --release -p goro-ecosystem --example grpc-health
//! ```
//!
//! It serves on 127.0.0.1 (an ephemeral port), checks the server, watches the `orders`
//! service go from serving to not serving and back, and stops.

use goro::hyper::{Connector, GoroExecutor, GoroTimer};
use goro::net::TcpListener;
use hyper_util::client::legacy::Client;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::ServingStatus;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[goro::main]
async fn main() -> Result<(), Error> {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("orders", ServingStatus::Serving)
        .await;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let routes = tonic::service::Routes::new(health);
    let server = goro::spawn(async move { goro::hyper::serve(listener, routes).await });
    println!("serving grpc.health.v1.Health on {addr}");

    // A gRPC channel: HTTP/2 with prior knowledge over goro TCP streams.
    let channel: Client<Connector, tonic::body::Body> = Client::builder(GoroExecutor::new())
        .http2_only(true)
        .timer(GoroTimer::new())
        .build(Connector::new());
    let mut client = HealthClient::with_origin(channel, format!("http://{addr}").parse()?);

    let request = |service: &str| HealthCheckRequest {
        service: service.into(),
    };
    let server_status = client.check(request("")).await?.into_inner().status();
    println!("check(\"\"): {server_status:?}");

    let mut watch = client.watch(request("orders")).await?.into_inner();
    for next in [ServingStatus::NotServing, ServingStatus::Serving] {
        let seen = watch.message().await?.ok_or("the watch stream ended")?;
        println!("watch(\"orders\"): {:?}", seen.status());
        reporter.set_service_status("orders", next).await;
    }
    let seen = watch.message().await?.ok_or("the watch stream ended")?;
    println!("watch(\"orders\"): {:?}", seen.status());

    server.abort();
    Ok(())
}
