//! hyper 1.x on goro (feature `hyper`): the runtime pieces hyper asks for, and a server.
//!
//! hyper does not pick a runtime; it asks for four things, and this module gives goro's:
//!
//! | hyper wants | goro gives | what it does |
//! |---|---|---|
//! | `rt::Executor` | [`GoroExecutor`] | spawns hyper's background tasks (HTTP/2 streams, client connections) as goro tasks |
//! | `rt::Timer` | [`GoroTimer`] | goro timers for header-read timeouts, keep-alive pings, pool expiry |
//! | `rt::Read` + `rt::Write` | [`GoroIo`] | wraps any goro stream ([`TcpStream`](crate::net::TcpStream), [`UnixStream`](crate::net::UnixStream), their owned halves) |
//! | a connector | [`Connector`] | plain-TCP connector for hyper-util's legacy `Client` |
//!
//! and [`serve`], the accept loop a server would otherwise write: HTTP/1.1 and HTTP/2
//! (detected from the connection's first bytes, hyper-util's `auto` builder) with any tower
//! `Service<Request<Incoming>>` that is `Clone`, such as an axum `Router`, with graceful
//! shutdown.
//!
//! ## What leak reports show
//!
//! Glue code usually makes every hyper task look alike in a task dump: spawned at the
//! executor's line, waiting at the adapter's line. goro's pieces remember the user's line
//! instead (`#[track_caller]` on their constructors and on `serve`): connection tasks are
//! named `hyper connection <peer>` and carry the spawn site of the `serve(..)` call, HTTP/2
//! stream tasks that of the executor's `new()` (for `serve`, its call again), and a task
//! waiting to read a request waits on `TcpStream::read` at the line that made its
//! `GoroIo` (the `serve` call), or on its header-read timer (`sleep`, same line: see
//! [`Serve::header_read_timeout`]). An idle keep-alive connection is a socket wait, which
//! the leak detector suspects only if such waits keep piling up.
//!
//! Some of hyper's tasks wait on no goro future at all: an HTTP/2 stream task waits on the
//! service's response body (a gRPC server stream on a `tokio::sync::watch` channel, say),
//! and a pooled client connection waits on hyper's channel for its next request. A task
//! that waits on no goro future is an *in-process* wait to the leak detector, suspected
//! once it has waited past the leak threshold, which for these would be every long-lived
//! stream and every idle pooled connection. So everything `goro::hyper` spawns is marked:
//! a poll that ends `Pending` with no goro future naming its wait waits on
//! `hyper connection` (`WaitOp::HyperConnection`, a socket-kind wait: closing the
//! connection ends it) at the task's spawn site. A goro future the task does wait on
//! (a read, a `goro::sync::Mutex` in a handler) still names itself, so a deadlock inside a
//! handler is still found.
//!
//! ## Reads without zeroing
//!
//! hyper hands out uninitialised read buffers. [`GoroIo`] reads into them with `read(2)`
//! directly (the only `unsafe` here, argued where it is), so a read costs what it costs on
//! tokio.
//!
//! ```
//! use goro::hyper::serve;
//! use http_body_util::Full;
//! use std::future::IntoFuture;
//! use hyper::body::Bytes;
//! use hyper::{Request, Response};
//!
//! # goro::Runtime::new().unwrap().block_on(async {
//! let listener = goro::net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?;
//! let service = tower_service_fn(|_req: Request<hyper::body::Incoming>| async {
//!     Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from("hello"))))
//! });
//! let (stop, stopped) = std::sync::mpsc::channel::<()>();
//! // `serve(..)` is awaited through `IntoFuture`; `into_future()` makes it a task.
//! let server = goro::spawn(
//!     serve(listener, service)
//!         .with_graceful_shutdown(goro::task::spawn_blocking(move || stopped.recv()))
//!         .into_future(),
//! );
//! // ... clients talk to `addr` ...
//! # let _ = addr;
//! stop.send(()).unwrap();
//! server.await.unwrap()?;
//! # Ok::<(), std::io::Error>(())
//! # }).unwrap();
//! # // A minimal tower service from a closure, as `tower::service_fn` would make.
//! # fn tower_service_fn<F>(f: F) -> ServiceFn<F> { ServiceFn(f) }
//! # #[derive(Clone)] struct ServiceFn<F>(F);
//! # impl<F: Clone + FnMut(R) -> Fut, R, Fut: std::future::Future> tower_service::Service<R> for ServiceFn<F>
//! # where Fut: std::future::Future<Output = Result<Response<Full<Bytes>>, std::convert::Infallible>> {
//! #     type Response = Response<Full<Bytes>>; type Error = std::convert::Infallible; type Future = Fut;
//! #     fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> { std::task::Poll::Ready(Ok(())) }
//! #     fn call(&mut self, req: R) -> Fut { (self.0)(req) }
//! # }
//! ```

mod connector;
mod executor;
mod io;
mod serve;
mod timer;

pub use connector::Connector;
pub use executor::GoroExecutor;
pub use io::{GoroIo, GoroRead};
pub use serve::{serve, Serve, WithGracefulShutdown, DEFAULT_HEADER_READ_TIMEOUT};
pub use timer::GoroTimer;
