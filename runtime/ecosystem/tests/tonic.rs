//! gRPC on goro without tokio: a tonic service (tonic's `router` and `codegen` features, not
//! `transport`, so nothing in it asks for a tokio runtime) served by `goro::hyper::serve`
//! over HTTP/2, and called with tonic's generated client over hyper-util's legacy client
//! with goro's `Connector`, at 1 and 2 processors. The service is `tonic-health`'s
//! `grpc.health.v1.Health`: a unary call (`check`) and a server-streaming one (`watch`).

#[path = "../../tests/common/mod.rs"]
mod common;

use common::{each_procs, hyper_connection_tasks, rt, watchful_rt};
use goro::hyper::{serve, Connector, GoroExecutor, GoroTimer};
use goro::net::TcpListener;
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::time::Duration;
use tonic_health::pb::health_check_response::ServingStatus as Wire;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::server::HealthReporter;
use tonic_health::ServingStatus;

const LIMIT: Duration = Duration::from_secs(30);

/// A gRPC channel: HTTP/2 with prior knowledge over goro TCP streams.
type Channel = hyper_util::client::legacy::Client<Connector, tonic::body::Body>;

fn client(addr: SocketAddr) -> HealthClient<Channel> {
    let channel = hyper_util::client::legacy::Client::builder(GoroExecutor::new())
        .http2_only(true)
        .timer(GoroTimer::new())
        .pool_timer(GoroTimer::new())
        .build(Connector::new());
    HealthClient::with_origin(channel, format!("http://{addr}").parse().unwrap())
}

/// Serves the health service on a loopback listener, `orders` registered as serving.
async fn start() -> (
    SocketAddr,
    HealthReporter,
    goro::task::JoinHandle<std::io::Result<()>>,
) {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("orders", ServingStatus::Serving)
        .await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let routes = tonic::service::Routes::new(health);
    (
        addr,
        reporter,
        goro::spawn(serve(listener, routes).into_future()),
    )
}

fn check(service: &str) -> HealthCheckRequest {
    HealthCheckRequest {
        service: service.into(),
    }
}

async fn status(client: &mut HealthClient<Channel>, service: &str) -> i32 {
    client
        .check(check(service))
        .await
        .unwrap()
        .into_inner()
        .status
}

/// The next status on an open `watch` stream.
async fn next(stream: &mut tonic::Streaming<tonic_health::pb::HealthCheckResponse>) -> i32 {
    stream
        .message()
        .await
        .unwrap()
        .expect("stream ended")
        .status
}

#[test]
fn unary_calls_reach_a_tonic_service_served_by_goro() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let (addr, reporter, server) = start().await;
            let mut client = client(addr);
            assert_eq!(status(&mut client, "").await, Wire::Serving as i32);
            assert_eq!(status(&mut client, "orders").await, Wire::Serving as i32);
            reporter
                .set_service_status("orders", ServingStatus::NotServing)
                .await;
            assert_eq!(status(&mut client, "orders").await, Wire::NotServing as i32);
            // A gRPC error status travels back as one.
            let err = client.check(check("nobody")).await.unwrap_err();
            assert_eq!(err.code(), tonic::Code::NotFound, "{err}");
            server.abort();
        });
    });
}

/// 64 calls in flight at once from clones of one client: HTTP/2 streams on one connection.
#[test]
fn concurrent_calls_share_one_connection() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let (addr, _reporter, server) = start().await;
            let client = client(addr);
            let calls: Vec<_> = (0..64)
                .map(|i| {
                    let mut client = client.clone();
                    let service = if i % 2 == 0 { "" } else { "orders" };
                    goro::spawn(async move { status(&mut client, service).await })
                })
                .collect();
            for call in calls {
                assert_eq!(call.await.unwrap(), Wire::Serving as i32);
            }
            // The server accepted one connection: one connection task.
            let dump = goro::Handle::current().tasks();
            assert_eq!(hyper_connection_tasks(&dump.groups), 1, "{dump}");
            server.abort();
        });
    });
}

/// A server-streaming call: each status change reaches the open `watch` stream, in order,
/// and an idle open stream (its connection task waiting on the socket, the service on a
/// `tokio::sync::watch` channel) is not taken for a leak.
#[test]
fn a_watch_stream_delivers_each_status_change() {
    each_procs(LIMIT, |n| {
        let rt = watchful_rt(n);
        rt.block_on(async {
            let (addr, reporter, server) = start().await;
            let mut client = client(addr);
            let mut stream = client.watch(check("orders")).await.unwrap().into_inner();
            assert_eq!(next(&mut stream).await, Wire::Serving as i32);
            for (set, wire) in [
                (ServingStatus::NotServing, Wire::NotServing),
                (ServingStatus::Serving, Wire::Serving),
                (ServingStatus::NotServing, Wire::NotServing),
            ] {
                reporter.set_service_status("orders", set).await;
                assert_eq!(next(&mut stream).await, wire as i32);
            }
            // Several stats cycles past the leak threshold with the stream open and idle.
            goro::time::sleep(Duration::from_millis(300)).await;
            let report = goro::Handle::current().leak_report();
            assert!(report.orphaned.is_empty(), "{report}");
            assert!(report.suspected.is_empty(), "{report}");
            // The tasks hyper spawned for the stream and the client connection, which wait
            // on hyper's channels and the service's body, are named as connection waits at
            // this file's lines (the `serve` call and the client's executor).
            let dump = goro::Handle::current().tasks();
            let on_connection: Vec<_> = dump
                .groups
                .iter()
                .filter(|g| g.wait_op == Some(goro::stats::WaitOp::HyperConnection))
                .collect();
            assert!(!on_connection.is_empty(), "{dump}");
            for g in on_connection {
                assert_eq!(g.spawned_at.file(), file!(), "{dump}");
                assert_eq!(g.suspended_at.map(|s| s.file()), Some(file!()), "{dump}");
            }
            // And it still works afterwards.
            reporter
                .set_service_status("orders", ServingStatus::Serving)
                .await;
            assert_eq!(next(&mut stream).await, Wire::Serving as i32);
            server.abort();
        });
    });
}
