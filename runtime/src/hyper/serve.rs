//! [`serve`]: an HTTP/1.1 + HTTP/2 server on a goro listener, with graceful shutdown.
//!
//! The accept loop: accept a connection, set `TCP_NODELAY`, spawn a task that serves it
//! with hyper-util's `auto` builder (HTTP/2 if the client opens with the HTTP/2 preface,
//! else HTTP/1.1 with upgrades), over [`GoroIo`], with [`GoroExecutor`] and [`GoroTimer`].
//! Each connection task is named `hyper connection <peer>` and carries the spawn site of
//! the `serve(..)` call (`#[track_caller]`), as do the HTTP/2 stream tasks.
//!
//! Timeouts: HTTP/1.1 connections get hyper's header read timeout, [`DEFAULT_HEADER_READ_TIMEOUT`]
//! unless [`Serve::header_read_timeout`] says otherwise. hyper starts it when it begins to
//! read a request head, which on a kept-alive connection is as soon as the previous response
//! is written, so it also closes keep-alive connections idle that long (as nginx's
//! `keepalive_timeout` does). `axum::serve` sets no timer, so neither limit: pass `None` to
//! keep idle connections open for ever, at the price of letting a client hold a connection
//! by sending a request head slowly.
//!
//! Graceful shutdown (hyper-util's `GracefulShutdown`): when the signal future completes,
//! the listener is closed at once, so new connections are refused; open connections are
//! told to finish (HTTP/1.1: after the response in flight, and keep-alive is turned off;
//! HTTP/2: a GOAWAY lets streams in flight complete), and `serve` returns when the last
//! one has closed.
//!
//! Errors: an accept error that goro's listener does not retry by itself (it retries
//! `ECONNABORTED` and backs off on `EMFILE`-like exhaustion) ends `serve` with that error,
//! as Go's `http.Server.Serve` does; an error on one connection (a client that hangs up, a
//! malformed request) ends only that connection.

use super::{GoroExecutor, GoroIo, GoroTimer};
use crate::net::TcpListener;
use hyper::body::{Body, Incoming};
use hyper::{Request, Response};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::error::Error as StdError;
use std::future::{poll_fn, Future, IntoFuture};
use std::io;
use std::panic::Location;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

type BoxError = Box<dyn StdError + Send + Sync>;

/// How long an HTTP/1.1 client may take to send a request head (also: how long a
/// kept-alive connection may sit idle) unless [`Serve::header_read_timeout`] changes it.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves HTTP/1.1 and HTTP/2 on `listener` with `service` (a tower `Service` that is
/// `Clone`: each connection gets a clone; an axum `Router` works as it is). Await it to
/// serve forever, or add [`Serve::with_graceful_shutdown`].
///
/// # Panics
/// When awaited outside a goro runtime.
///
/// See the [module docs](super) for an example.
#[track_caller]
pub fn serve<S>(listener: TcpListener, service: S) -> Serve<S> {
    Serve {
        listener,
        service,
        header_read_timeout: Some(DEFAULT_HEADER_READ_TIMEOUT),
        at: Location::caller(),
    }
}

/// The future of [`serve`] (through `IntoFuture`): `io::Result<()>`.
#[must_use = "a server does nothing unless you `.await` it"]
#[derive(Debug)]
pub struct Serve<S> {
    listener: TcpListener,
    service: S,
    header_read_timeout: Option<Duration>,
    at: &'static Location<'static>,
}

impl<S> Serve<S> {
    /// How long an HTTP/1.1 client may take to send a request head, counted on a kept-alive
    /// connection from the end of the previous response, so it is also how long such a
    /// connection may sit idle: past it, the connection is closed. `None`: no limit (what
    /// `axum::serve` does). Default: [`DEFAULT_HEADER_READ_TIMEOUT`].
    ///
    /// ```
    /// use goro::hyper::{serve, Serve};
    /// use std::time::Duration;
    /// # fn keep<S>(listener: goro::net::TcpListener, app: S) {
    /// // 75 s, nginx's keepalive_timeout; `None` for no limit.
    /// let server: Serve<S> = serve(listener, app).header_read_timeout(Duration::from_secs(75));
    /// # }
    /// ```
    pub fn header_read_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Serve<S> {
        self.header_read_timeout = timeout.into();
        self
    }

    /// Serves until `signal` completes, then stops accepting (new connections are refused)
    /// and waits for the open connections to finish their requests in flight.
    pub fn with_graceful_shutdown<F>(self, signal: F) -> WithGracefulShutdown<S, F>
    where
        F: Future + Send + 'static,
    {
        WithGracefulShutdown {
            serve: self,
            signal,
        }
    }
}

/// [`serve`] with a shutdown signal (through `IntoFuture`): `io::Result<()>`.
#[must_use = "a server does nothing unless you `.await` it"]
#[derive(Debug)]
pub struct WithGracefulShutdown<S, F> {
    serve: Serve<S>,
    signal: F,
}

impl<S, B> IntoFuture for Serve<S>
where
    S: tower_service::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body<Data: Send, Error: Into<BoxError>> + Send + 'static,
{
    type Output = io::Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(run(self, None::<std::future::Pending<()>>))
    }
}

impl<S, B, F> IntoFuture for WithGracefulShutdown<S, F>
where
    S: tower_service::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body<Data: Send, Error: Into<BoxError>> + Send + 'static,
    F: Future + Send + 'static,
{
    type Output = io::Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(run(self.serve, Some(self.signal)))
    }
}

/// The accept loop, until `signal`; then the graceful drain. Without a signal (plain
/// `serve`) connections are not watched: the watcher's shutdown check would cost every poll
/// of every connection (a tokio `Notify` poll) for a shutdown that never comes.
async fn run<S, B, F>(serve: Serve<S>, signal: Option<F>) -> io::Result<()>
where
    S: tower_service::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body<Data: Send, Error: Into<BoxError>> + Send + 'static,
    F: Future,
{
    let Serve {
        listener,
        service,
        header_read_timeout,
        at,
    } = serve;
    let executor = GoroExecutor::at(at, "hyper h2 stream");
    let mut builder = auto::Builder::new(executor);
    builder
        .http1()
        .timer(GoroTimer::at(at))
        .header_read_timeout(header_read_timeout);
    builder.http2().timer(GoroTimer::at(at));
    let builder = Arc::new(builder);
    let graceful = signal.is_some().then(GracefulShutdown::new);
    let mut signal = pin!(signal);
    loop {
        let next = poll_fn(|cx| {
            if let Some(signal) = signal.as_mut().as_pin_mut() {
                if signal.poll(cx).is_ready() {
                    return Poll::Ready(None);
                }
            }
            crate::net::trace::retagged(at, || listener.poll_accept(cx)).map(Some)
        });
        let (stream, peer) = match next.await {
            None => break,
            Some(accepted) => accepted?,
        };
        // Latency over batching, as every HTTP server sets it.
        let _ = stream.set_nodelay(true);
        let io = GoroIo::at(stream, at);
        let conn = builder
            .serve_connection_with_upgrades(io, TowerToHyperService::new(service.clone()))
            .into_owned();
        let name = format!("hyper connection {peer}");
        // A connection's error (a client that hung up mid-request, a malformed request)
        // concerns that connection only.
        match &graceful {
            Some(graceful) => {
                let watched = graceful.watcher().watch(conn);
                executor.spawn_named(async move { drop(watched.await) }, name);
            }
            None => executor.spawn_named(async move { drop(conn.await) }, name),
        }
    }
    drop(listener);
    if let Some(graceful) = graceful {
        graceful.shutdown().await;
    }
    Ok(())
}
