//! Feature `tokio-compat`: tokio's timers, sockets and tasks, reqwest and `axum::serve`,
//! inside goro tasks, blocking closures and `block_on`, at 1 and 2 processors.

#[path = "../../tests/common/mod.rs"]
mod common;

use common::{each_procs, PROCS};
use goro::Runtime;
use std::future::IntoFuture;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LIMIT: Duration = Duration::from_secs(30);

fn compat_rt(n: usize) -> Runtime {
    Runtime::builder()
        .processors(n)
        .tokio_compat(true)
        .build()
        .unwrap()
}

#[test]
fn tokio_time_in_goro_tasks_and_block_on() {
    each_procs(LIMIT, |n| {
        let rt = compat_rt(n);
        rt.block_on(async {
            let start = Instant::now();
            let tasks: Vec<_> = (0..50)
                // Made inside the task (a tokio sleep finds its timer when it is made).
                .map(|_| goro::spawn(async { tokio::time::sleep(Duration::from_millis(20)).await }))
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            // Directly in block_on too.
            tokio::time::sleep(Duration::from_millis(20)).await;
            assert!(start.elapsed() >= Duration::from_millis(40));
            let timed_out =
                tokio::time::timeout(Duration::from_millis(10), std::future::pending::<()>());
            assert!(timed_out.await.is_err());
        });
    });
}

#[test]
fn tokio_net_echo_between_goro_tasks() {
    each_procs(LIMIT, |n| {
        let rt = compat_rt(n);
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = goro::spawn(async move {
                let (mut conn, _) = listener.accept().await.unwrap();
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let k = conn.read(&mut buf).await.unwrap();
                    if k == 0 {
                        break;
                    }
                    conn.write_all(&buf[..k]).await.unwrap();
                }
            });
            let client = goro::spawn(async move {
                let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
                let data = vec![7u8; 256 * 1024];
                let (mut rd, mut wr) = conn.split();
                let write = async {
                    wr.write_all(&data).await.unwrap();
                    wr.shutdown().await.unwrap();
                };
                let mut back = Vec::new();
                let read = rd.read_to_end(&mut back);
                let ((), got) = tokio::join!(write, read);
                got.unwrap();
                back
            });
            assert_eq!(client.await.unwrap().len(), 256 * 1024);
            server.await.unwrap();
        });
    });
}

#[test]
fn tokio_spawn_and_blocking_threads() {
    each_procs(LIMIT, |n| {
        let rt = compat_rt(n);
        rt.block_on(async {
            // tokio::spawn from a goro task runs on tokio's worker.
            let on_tokio = goro::spawn(async { tokio::spawn(async { 6 * 7 }).await.unwrap() });
            assert_eq!(on_tokio.await.unwrap(), 42);
            // goro's blocking threads are in the context as well.
            let handle_seen =
                goro::task::spawn_blocking(|| tokio::runtime::Handle::try_current().is_ok());
            assert!(handle_seen.await.unwrap());
        });
    });
}

/// reqwest (no TLS) fetches from axum served by `axum::serve` on a tokio listener: both
/// need tokio's runtime, both run inside goro tasks.
#[test]
fn reqwest_get_from_axum_serve() {
    each_procs(LIMIT, |n| {
        let rt = compat_rt(n);
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let app =
                axum::Router::new().route("/hi", axum::routing::get(|| async { "hi from axum" }));
            let server = goro::spawn(axum::serve(listener, app).into_future());
            let client = reqwest::Client::new();
            for _ in 0..5 {
                let fetch = goro::spawn({
                    let client = client.clone();
                    async move {
                        let resp = client
                            .get(format!("http://{addr}/hi"))
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(resp.status(), 200);
                        resp.text().await.unwrap()
                    }
                });
                assert_eq!(fetch.await.unwrap(), "hi from axum");
            }
            server.abort();
        });
    });
}

/// Without the flag, tokio's timers panic inside a goro task, with tokio's message.
#[test]
fn without_the_flag_tokio_calls_panic() {
    for n in PROCS {
        let rt = Runtime::builder().processors(n).build().unwrap();
        let err = rt
            .block_on(async {
                goro::spawn(async {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                })
                .await
            })
            .unwrap_err();
        assert!(err.is_panic());
        // The error says what to do about it.
        let shown = err.to_string();
        assert!(shown.contains("tokio_compat(true)"), "{shown}");
        let msg = common::panic_message(&*err.into_panic());
        assert!(
            msg.contains("no reactor running") || msg.contains("Tokio 1.x runtime"),
            "{msg}"
        );
    }
}

/// `#[goro::test(tokio_compat)]` (and so `#[goro::main(tokio_compat)]`, the same
/// expansion): tokio's timers and sockets work in the test's tasks, at one processor and
/// at the default count.
#[goro::test(tokio_compat)]
async fn the_test_attribute_takes_tokio_compat() {
    tokio_calls_work().await;
}

#[goro::test(flavor = "current_thread", tokio_compat)]
async fn the_test_attribute_takes_tokio_compat_on_one_processor() {
    tokio_calls_work().await;
}

/// A tokio sleep and a tokio TCP round trip, in a goro task.
async fn tokio_calls_work() {
    let task = goro::spawn(async {
        tokio::time::sleep(Duration::from_millis(1)).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = tokio::net::TcpStream::connect(addr);
        let ((server, _), client) =
            tokio::join!(async { listener.accept().await.unwrap() }, client);
        drop(server);
        client.unwrap().peer_addr().unwrap() == addr
    });
    assert!(task.await.unwrap());
}
