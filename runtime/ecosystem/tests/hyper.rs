//! Feature `hyper`: axum and hyper served by `goro::hyper::serve`, fetched with hyper's
//! clients over `GoroIo`, at 1 and 2 processors.

#[path = "../../tests/common/mod.rs"]
mod common;

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use common::{each_procs, hyper_connection_tasks, rt, watchful_rt};
use goro::hyper::{serve, Connector, GoroExecutor, GoroIo, GoroTimer};
use goro::net::{TcpListener, TcpStream};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, StatusCode};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(30);

#[derive(Clone)]
struct AppState {
    greeting: Arc<str>,
    hits: Arc<AtomicUsize>,
}

fn app() -> Router {
    let state = AppState {
        greeting: "hello".into(),
        hits: Arc::default(),
    };
    Router::new()
        .route("/hello/{name}", get(hello))
        .route("/echo", post(echo))
        .route("/hits", get(hits))
        .with_state(state)
}

async fn hello(State(state): State<AppState>, Path(name): Path<String>) -> String {
    state.hits.fetch_add(1, Ordering::SeqCst);
    format!("{}, {name}!", state.greeting)
}

async fn echo(Json(mut body): Json<serde_json::Value>) -> Json<serde_json::Value> {
    body["echoed"] = true.into();
    Json(body)
}

async fn hits(State(state): State<AppState>) -> String {
    state.hits.load(Ordering::SeqCst).to_string()
}

/// Binds a listener on loopback and serves `router` on it, until the returned handle is
/// aborted.
async fn start(router: Router) -> (SocketAddr, goro::task::JoinHandle<std::io::Result<()>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (addr, goro::spawn(serve(listener, router).into_future()))
}

use std::future::IntoFuture;

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// An HTTP/1.1 connection to `addr` with hyper's client over `GoroIo`.
async fn connect_h1(addr: SocketAddr) -> Sender {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (sender, conn) = hyper::client::conn::http1::handshake(GoroIo::new(stream))
        .await
        .unwrap();
    goro::spawn(async move {
        let _ = conn.await;
    });
    sender
}

async fn fetch(sender: &mut Sender, req: Request<Full<Bytes>>) -> (StatusCode, Bytes) {
    sender.ready().await.unwrap();
    let resp = sender.send_request(req).await.unwrap();
    let status = resp.status();
    (status, resp.into_body().collect().await.unwrap().to_bytes())
}

fn get_req(path: &str) -> Request<Full<Bytes>> {
    Request::get(path)
        .header("host", "localhost")
        .body(Full::default())
        .unwrap()
}

#[test]
fn axum_routes_through_serve() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let (addr, server) = start(app()).await;
            let mut sender = connect_h1(addr).await;
            // Path parameters and state, on one keep-alive connection.
            for name in ["goro", "tokio", "axum"] {
                let (status, body) = fetch(&mut sender, get_req(&format!("/hello/{name}"))).await;
                assert_eq!(status, StatusCode::OK);
                assert_eq!(body, format!("hello, {name}!"));
            }
            let (_, body) = fetch(&mut sender, get_req("/hits")).await;
            assert_eq!(body, "3");
            // A JSON body.
            let req = Request::post("/echo")
                .header("host", "localhost")
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(r#"{"n":42,"s":"x"}"#)))
                .unwrap();
            let (status, body) = fetch(&mut sender, req).await;
            assert_eq!(status, StatusCode::OK);
            let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(json, serde_json::json!({"n": 42, "s": "x", "echoed": true}));
            // An unknown route.
            let (status, _) = fetch(&mut sender, get_req("/nowhere")).await;
            assert_eq!(status, StatusCode::NOT_FOUND);
            server.abort();
        });
    });
}

#[test]
fn legacy_client_with_the_goro_connector() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let (addr, server) = start(app()).await;
            let client = hyper_util::client::legacy::Client::builder(GoroExecutor::new())
                .pool_timer(GoroTimer::new())
                .build::<_, Full<Bytes>>(Connector::new());
            for i in 0..20 {
                let uri = format!("http://{addr}/hello/{i}").parse().unwrap();
                let resp = client.get(uri).await.unwrap();
                assert_eq!(resp.status(), StatusCode::OK);
                let body = resp.into_body().collect().await.unwrap().to_bytes();
                assert_eq!(body, format!("hello, {i}!"));
            }
            let err = client
                .get("https://example.invalid/".parse().unwrap())
                .await;
            assert!(err.is_err(), "https through a plain-TCP connector");
            drop(client);
            server.abort();
        });
    });
}

/// 20 requests on one HTTP/2 connection, each handler waiting until all 20 are in flight
/// at once: only possible if the connection multiplexes them.
#[test]
fn http2_multiplexes_requests_on_one_connection() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            const STREAMS: usize = 20;
            let barrier = Arc::new(tokio::sync::Barrier::new(STREAMS));
            let router = Router::new().route(
                "/together",
                get(move || {
                    let barrier = barrier.clone();
                    async move {
                        let met = goro::time::timeout(Duration::from_secs(10), barrier.wait());
                        match met.await {
                            Ok(_) => "met",
                            Err(_) => "alone",
                        }
                    }
                }),
            );
            let (addr, server) = start(router).await;
            let stream = TcpStream::connect(addr).await.unwrap();
            let (sender, conn) = hyper::client::conn::http2::Builder::new(GoroExecutor::new())
                .timer(GoroTimer::new())
                .handshake::<_, Full<Bytes>>(GoroIo::new(stream))
                .await
                .unwrap();
            goro::spawn(async move {
                let _ = conn.await;
            });
            let mut set = goro::task::JoinSet::new();
            for _ in 0..STREAMS {
                let mut sender = sender.clone();
                set.spawn(async move {
                    let resp = sender.send_request(get_req("/together")).await.unwrap();
                    assert_eq!(resp.version(), hyper::Version::HTTP_2);
                    resp.into_body().collect().await.unwrap().to_bytes()
                });
            }
            while let Some(body) = set.join_next().await {
                assert_eq!(body.unwrap(), "met");
            }
            // The server accepted one connection: one connection task served all 20.
            let dump = goro::Handle::current().tasks();
            assert_eq!(hyper_connection_tasks(&dump.groups), 1, "{dump}");
            server.abort();
        });
    });
}

#[test]
fn graceful_shutdown_finishes_in_flight_and_refuses_new() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let (entered_tx, entered_rx) = tokio::sync::oneshot::channel::<()>();
            let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
            let slot = Arc::new(std::sync::Mutex::new(Some((entered_tx, release_rx))));
            let router = Router::new().route(
                "/slow",
                get(move || {
                    let (entered, release) = slot.lock().unwrap().take().unwrap();
                    async move {
                        entered.send(()).unwrap();
                        release.await.unwrap();
                        "finished"
                    }
                }),
            );
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
            let server = goro::spawn(
                serve(listener, router)
                    .with_graceful_shutdown(async move {
                        let _ = stop_rx.await;
                    })
                    .into_future(),
            );
            let mut sender = connect_h1(addr).await;
            let in_flight = goro::spawn(async move { fetch(&mut sender, get_req("/slow")).await });
            entered_rx.await.unwrap();
            stop_tx.send(()).unwrap();
            // The listener closes: new connections are refused.
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                match TcpStream::connect(addr).await {
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => break,
                    // Queued in the backlog as the listener closed.
                    Err(e) if e.kind() != std::io::ErrorKind::ConnectionReset => {
                        panic!("unexpected connect error: {e}")
                    }
                    _ => {
                        assert!(Instant::now() < deadline, "still accepting after shutdown");
                        goro::time::sleep(Duration::from_millis(5)).await;
                    }
                }
            }
            assert!(
                !server.is_finished(),
                "serve returned with a request in flight"
            );
            release_tx.send(()).unwrap();
            let (status, body) = in_flight.await.unwrap();
            assert_eq!(status, StatusCode::OK);
            assert_eq!(body, "finished");
            goro::time::timeout(Duration::from_secs(10), server)
                .await
                .expect("serve did not return after its connections closed")
                .unwrap()
                .unwrap();
        });
    });
}

/// Serves one connection on a loopback listener with hyper's HTTP/1.1 server on
/// `GoroTimer`, a 200 ms header read timeout, and a service that answers `first`.
async fn serve_one_with_header_timeout(
) -> (SocketAddr, goro::task::JoinHandle<Result<(), hyper::Error>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = goro::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let service = hyper::service::service_fn(|_req| async {
            let body = Full::new(Bytes::from_static(b"first"));
            Ok::<_, std::convert::Infallible>(hyper::Response::new(body))
        });
        hyper::server::conn::http1::Builder::new()
            .timer(GoroTimer::new())
            .header_read_timeout(Duration::from_millis(200))
            .serve_connection(GoroIo::new(stream), service)
            .await
    });
    (addr, server)
}

/// Sends half a request head on `client` and checks the server cuts it off after its
/// header read timeout, counted from `start` at the latest.
async fn half_head_is_cut_off(
    mut client: TcpStream,
    start: Instant,
    server: goro::task::JoinHandle<Result<(), hyper::Error>>,
) {
    client
        .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let closed = goro::time::timeout(Duration::from_secs(10), async {
        // hyper may answer 408 before closing; read to the end either way.
        loop {
            match client.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    });
    closed.await.expect("the header read timeout did not fire");
    assert!(start.elapsed() >= Duration::from_millis(200));
    let err = server.await.unwrap().unwrap_err();
    assert!(err.is_timeout(), "{err}");
}

/// hyper's header read timeout runs on `GoroTimer`: a client that sends half a request
/// head is cut off.
#[test]
fn header_read_timeout_fires_on_goro_timer() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let (addr, server) = serve_one_with_header_timeout().await;
            // Before the connect: the server's timer cannot start earlier than this.
            let start = Instant::now();
            let client = TcpStream::connect(addr).await.unwrap();
            half_head_is_cut_off(client, start, server).await;
        });
    });
}

/// The header read timeout also guards the second request of a kept-alive connection:
/// a full request is answered, then half a request head is cut off.
#[test]
fn header_read_timeout_fires_on_a_kept_alive_connection() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let (addr, server) = serve_one_with_header_timeout().await;
            // Before the first request: the timer for the second one starts after it.
            let start = Instant::now();
            let mut client = TcpStream::connect(addr).await.unwrap();
            client
                .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
                .await
                .unwrap();
            let mut buf = [0u8; 1024];
            let mut got = Vec::new();
            while !got.ends_with(b"first") {
                let n = client.read(&mut buf).await.unwrap();
                assert!(n > 0, "closed before the first response");
                got.extend_from_slice(&buf[..n]);
            }
            half_head_is_cut_off(client, start, server).await;
        });
    });
}

/// Idle keep-alive connections wait on a socket: the leak detector suspects none of them,
/// and the task dump shows them spawned at the `serve` call, waiting to read at it.
#[test]
fn idle_keep_alive_connections_are_not_suspected() {
    each_procs(LIMIT, |n| {
        let rt = watchful_rt(n);
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            // The `serve` call on a line of its own: the spawn site must be it, not the
            // `goro::spawn` of the accept loop (the next line).
            let serve_line = line!() + 1;
            let serving = serve(listener, app()).into_future();
            let server = goro::spawn(serving);
            let mut senders = Vec::new();
            for i in 0..10 {
                let mut sender = connect_h1(addr).await;
                let (status, _) = fetch(&mut sender, get_req(&format!("/hello/{i}"))).await;
                assert_eq!(status, StatusCode::OK);
                senders.push(sender);
            }
            // Several stats cycles past the leak threshold, all connections idle.
            goro::time::sleep(Duration::from_millis(400)).await;
            let report = goro::Handle::current().leak_report();
            assert!(report.orphaned.is_empty(), "{report}");
            assert!(report.suspected.is_empty(), "{report}");
            let dump = goro::Handle::current().tasks();
            let conns = hyper_connection_tasks(
                dump.groups
                    .iter()
                    .filter(|g| g.spawned_at.line() == serve_line && g.spawned_at.file() == file!())
                    .filter(|g| g.suspended_at.is_some_and(|s| s.line() == serve_line))
                    // Waiting for the next request head: its read, or hyper's header timer.
                    .filter(|g| {
                        g.wait_op.map(|op| op.name()) == Some("TcpStream::read")
                            || g.wait_op.map(|op| op.name()) == Some("sleep")
                    }),
            );
            assert_eq!(
                conns, 10,
                "connection tasks not attributed to the serve call:\n{dump}"
            );
            drop(senders);
            server.abort();
        });
    });
}

/// hyper over a Unix stream pair: `GoroIo` works for every goro stream, not only TCP.
#[test]
fn hyper_over_unix_streams() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let (server_side, client_side) = goro::net::UnixStream::pair().unwrap();
            let server = goro::spawn(async move {
                let service =
                    hyper::service::service_fn(|req: Request<hyper::body::Incoming>| async move {
                        let body = format!("unix {}", req.uri().path());
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                            Bytes::from(body),
                        )))
                    });
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(GoroIo::new(server_side), service)
                    .await
            });
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(GoroIo::new(client_side))
                    .await
                    .unwrap();
            let client_conn = goro::spawn(conn);
            for path in ["/a", "/b"] {
                let (status, body) = fetch(&mut sender, get_req(path)).await;
                assert_eq!(status, StatusCode::OK);
                assert_eq!(body, format!("unix {path}"));
            }
            drop(sender);
            client_conn.await.unwrap().unwrap();
            server.await.unwrap().unwrap();
        });
    });
}

/// A task waiting on a hyper timer sleep names the line that made the `GoroTimer` (the
/// user's, as a header-read timeout would), not goro's adapter.
#[test]
fn a_hyper_timer_sleep_names_the_timer_line() {
    use hyper::rt::Timer;
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let timer_line = line!() + 1;
            let timer = GoroTimer::new();
            let sleeper = goro::spawn(async move {
                timer.sleep(Duration::from_secs(60)).await;
            });
            common::wait_for_op(goro::stats::WaitOp::Sleep, 1).await;
            let at = goro::stats::tasks()
                .groups
                .iter()
                .find(|g| g.wait_op == Some(goro::stats::WaitOp::Sleep))
                .and_then(|g| g.suspended_at)
                .expect("the sleeping task has a suspension point");
            assert_eq!((at.file(), at.line()), (file!(), timer_line));
            sleeper.abort();
        });
    });
}

/// `GoroTimer::reset` moves a goro sleep's deadline both ways (hyper resets its HTTP/2
/// keep-alive and header-read timers in place), and replaces a sleep that is not goro's.
#[test]
fn goro_timer_reset_moves_the_deadline() {
    use hyper::rt::Timer;
    use std::future::{poll_fn, Future};
    use std::task::Poll;
    /// Polls once, so the sleep is armed at its first deadline as hyper's are.
    async fn arm(sleep: &mut std::pin::Pin<Box<dyn hyper::rt::Sleep>>) {
        let first = poll_fn(|cx| Poll::Ready(sleep.as_mut().poll(cx).is_pending())).await;
        assert!(first, "a sleep of 200 ms or more was ready at once");
    }
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let timer = GoroTimer::new();
            // Earlier: a 60 s sleep reset to 20 ms from now fires at about 20 ms.
            let start = Instant::now();
            let mut sleep = timer.sleep(Duration::from_secs(60));
            arm(&mut sleep).await;
            timer.reset(&mut sleep, Instant::now() + Duration::from_millis(20));
            goro::time::timeout(Duration::from_secs(10), sleep)
                .await
                .expect("reset did not bring the deadline forward");
            assert!(start.elapsed() >= Duration::from_millis(20));
            // Later: a 200 ms sleep reset to 60 s is still asleep well after 200 ms.
            let mut sleep = timer.sleep(Duration::from_millis(200));
            arm(&mut sleep).await;
            timer.reset(&mut sleep, Instant::now() + Duration::from_secs(60));
            let early = goro::time::timeout(Duration::from_secs(1), &mut sleep).await;
            assert!(early.is_err(), "the sleep fired at its old deadline");
            // A sleep of another timer is replaced by a goro one with the new deadline.
            struct Never;
            impl Future for Never {
                type Output = ();
                fn poll(
                    self: std::pin::Pin<&mut Self>,
                    _: &mut std::task::Context<'_>,
                ) -> Poll<()> {
                    Poll::Pending
                }
            }
            impl hyper::rt::Sleep for Never {}
            let mut foreign: std::pin::Pin<Box<dyn hyper::rt::Sleep>> = Box::pin(Never);
            timer.reset(&mut foreign, Instant::now() + Duration::from_millis(20));
            goro::time::timeout(Duration::from_secs(10), foreign)
                .await
                .expect("a foreign sleep was not replaced");
        });
    });
}

/// `GoroIo` over the owned halves of TCP and Unix streams: hyper's `rt::Write` on the write
/// half, `rt::Read` on the read half.
#[test]
fn goro_io_over_owned_halves() {
    use goro::net::UnixStream;
    use std::future::poll_fn;
    use std::mem::MaybeUninit;
    use std::pin::Pin;

    async fn write_all<W: hyper::rt::Write + Unpin>(w: &mut W, mut data: &[u8]) {
        while !data.is_empty() {
            let n = poll_fn(|cx| Pin::new(&mut *w).poll_write(cx, data))
                .await
                .unwrap();
            data = &data[n..];
        }
        poll_fn(|cx| Pin::new(&mut *w).poll_flush(cx))
            .await
            .unwrap();
    }
    async fn read_exact<R: hyper::rt::Read + Unpin>(r: &mut R, len: usize) -> Vec<u8> {
        let mut out = Vec::new();
        while out.len() < len {
            let mut storage = [MaybeUninit::<u8>::uninit(); 64];
            let mut buf = hyper::rt::ReadBuf::uninit(&mut storage);
            poll_fn(|cx| Pin::new(&mut *r).poll_read(cx, buf.unfilled()))
                .await
                .unwrap();
            assert!(!buf.filled().is_empty(), "end of stream after {out:?}");
            out.extend_from_slice(buf.filled());
        }
        out
    }
    /// `ping` through `wr` to `peer`, `pong` back from `peer` through `rd`.
    async fn round_trip<P>(
        mut rd: impl hyper::rt::Read + Unpin,
        mut wr: impl hyper::rt::Write + Unpin,
        peer: &mut P,
        tag: &str,
    ) where
        P: goro::io::AsyncRead + goro::io::AsyncWrite + Unpin,
    {
        use goro::io::{AsyncReadExt, AsyncWriteExt};
        let ping = format!("{tag} ping");
        write_all(&mut wr, ping.as_bytes()).await;
        let mut buf = vec![0u8; ping.len()];
        peer.read_exact(&mut buf).await.unwrap();
        assert_eq!(buf, ping.as_bytes());
        let pong = format!("{tag} pong");
        peer.write_all(pong.as_bytes()).await.unwrap();
        assert_eq!(read_exact(&mut rd, pong.len()).await, pong.as_bytes());
    }
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let (client, mut server) = common::tcp_pair().await;
            let (rd, wr) = client.into_split();
            round_trip(GoroIo::new(rd), GoroIo::new(wr), &mut server, "tcp").await;
            let (a, mut b) = UnixStream::pair().unwrap();
            let (rd, wr) = a.into_split();
            round_trip(GoroIo::new(rd), GoroIo::new(wr), &mut b, "unix").await;
        });
    });
}

/// `serve` takes any `Clone + Send` service, `Sync` or not (tower's `BoxCloneService`, or
/// one holding a `Cell`, as here).
#[test]
fn serve_takes_a_service_that_is_not_sync() {
    use std::cell::Cell;
    use std::convert::Infallible;
    use std::marker::PhantomData;
    use std::task::{Context, Poll};

    #[derive(Clone, Default)]
    struct NotSync {
        hits: Arc<AtomicUsize>,
        _not_sync: PhantomData<Cell<()>>,
    }
    impl tower_service::Service<Request<hyper::body::Incoming>> for NotSync {
        type Response = hyper::Response<Full<Bytes>>;
        type Error = Infallible;
        type Future = std::future::Ready<Result<Self::Response, Infallible>>;
        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }
        fn call(&mut self, _: Request<hyper::body::Incoming>) -> Self::Future {
            let hits = self.hits.fetch_add(1, Ordering::SeqCst) + 1;
            let body = Full::new(Bytes::from(hits.to_string()));
            std::future::ready(Ok(hyper::Response::new(body)))
        }
    }
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = goro::spawn(serve(listener, NotSync::default()).into_future());
            let mut expected = 0;
            for _ in 0..2 {
                let mut sender = connect_h1(addr).await;
                for _ in 0..3 {
                    expected += 1;
                    let (status, body) = fetch(&mut sender, get_req("/")).await;
                    assert_eq!(status, StatusCode::OK);
                    assert_eq!(body, expected.to_string());
                }
            }
            server.abort();
        });
    });
}

/// `Serve::header_read_timeout` also bounds how long a kept-alive connection may sit idle;
/// `None` lifts the limit (as `axum::serve`, which sets no timer).
#[test]
fn serve_header_read_timeout_closes_idle_keep_alive_connections() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            for limit in [Some(Duration::from_millis(200)), None] {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                // Set, then changed: the last call counts.
                let serving = serve(listener, app())
                    .header_read_timeout(Duration::from_millis(100))
                    .header_read_timeout(limit);
                let server = goro::spawn(serving.into_future());
                let mut sender = connect_h1(addr).await;
                let (status, _) = fetch(&mut sender, get_req("/hello/idle")).await;
                assert_eq!(status, StatusCode::OK);
                match limit {
                    // The server closes the idle connection: the client's connection task
                    // sees it end, and the sender is closed.
                    Some(_) => {
                        let deadline = Instant::now() + Duration::from_secs(10);
                        while !sender.is_closed() {
                            assert!(Instant::now() < deadline, "idle connection still open");
                            goro::time::sleep(Duration::from_millis(10)).await;
                        }
                    }
                    None => {
                        goro::time::sleep(Duration::from_millis(600)).await;
                        let (status, body) = fetch(&mut sender, get_req("/hello/again")).await;
                        assert_eq!((status, &body[..]), (StatusCode::OK, &b"hello, again!"[..]));
                    }
                }
                server.abort();
            }
        });
    });
}

/// The guide's goro-native request timeout (in place of tower-http's `TimeoutLayer`, which
/// needs tokio's timers): `axum::middleware::from_fn` around `goro::time::timeout`.
#[test]
fn a_goro_timeout_as_axum_middleware() {
    use axum::extract::Request as AxumRequest;
    use axum::middleware::{from_fn, Next};
    use axum::response::IntoResponse;
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let limit = Duration::from_millis(100);
            let router = Router::new()
                .route("/fast", get(|| async { "fast" }))
                .route(
                    "/slow",
                    get(|| async {
                        goro::time::sleep(Duration::from_secs(10)).await;
                        "slow"
                    }),
                )
                .layer(from_fn(move |req: AxumRequest, next: Next| async move {
                    goro::time::timeout(limit, next.run(req))
                        .await
                        .unwrap_or_else(|_| StatusCode::REQUEST_TIMEOUT.into_response())
                }));
            let (addr, server) = start(router).await;
            let mut sender = connect_h1(addr).await;
            let (status, body) = fetch(&mut sender, get_req("/fast")).await;
            assert_eq!((status, &body[..]), (StatusCode::OK, &b"fast"[..]));
            let started = Instant::now();
            let (status, _) = fetch(&mut sender, get_req("/slow")).await;
            assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
            assert!(started.elapsed() < Duration::from_secs(5));
            server.abort();
        });
    });
}
