//! [`Runtime`]: a goro runtime you own.

use crate::stats::debug_server::DebugServer;
use crate::task::JoinHandle;
use crate::{Builder, Handle};
use goro_sched::{Config, Scheduler};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

/// A goro runtime: processors, the machines that run them, and a blocking pool.
///
/// Dropping it shuts it down: machines finish their current poll, every task's future is
/// dropped, `JoinHandle`s resolve as cancelled, and the drop waits for running
/// `spawn_blocking` closures (use [`Runtime::shutdown_timeout`] to bound that wait).
///
/// It cannot shut down from inside one of its own tasks (also not inside `block_in_place`):
/// that panics with a message, since it would wait for the thread it runs on. Drop it from a
/// thread outside the runtime, or from a `spawn_blocking` closure, whose own thread the
/// shutdown does not wait for.
///
/// ```
/// let rt = goro::Runtime::new()?;
/// let handle = rt.spawn(async { "hello" });
/// assert_eq!(rt.block_on(handle).unwrap(), "hello");
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Runtime {
    /// Declared first: it stops (and lets go of its handle) before the scheduler shuts down.
    debug_server: Option<DebugServer>,
    scheduler: Scheduler,
    handle: Handle,
    /// Declared after the scheduler: goro's tasks (which may hold tokio resources) are
    /// dropped before the tokio runtime stops.
    #[cfg(feature = "tokio-compat")]
    tokio: Option<crate::tokio_compat::TokioContext>,
}

impl Runtime {
    /// A runtime with the default settings (see [`Builder::new`]).
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    /// A [`Builder`] to configure a runtime.
    pub fn builder() -> Builder {
        Builder::new()
    }

    pub(crate) fn from_config(config: Config) -> io::Result<Runtime> {
        let scheduler = Scheduler::new(config)?;
        let handle = Handle::from_sched(scheduler.handle().clone());
        Ok(Runtime {
            debug_server: None,
            scheduler,
            handle,
            #[cfg(feature = "tokio-compat")]
            tokio: None,
        })
    }

    #[cfg(feature = "tokio-compat")]
    pub(crate) fn with_tokio_context(
        mut self,
        tokio: Option<crate::tokio_compat::TokioContext>,
    ) -> Runtime {
        self.tokio = tokio;
        self
    }

    pub(crate) fn with_debug_server(mut self, server: DebugServer) -> Runtime {
        self.debug_server = Some(server);
        self
    }

    /// The address the debug HTTP server listens on (`GORO_DEBUG_ADDR` or
    /// [`Builder::debug_addr`]), with the port it picked if asked for port 0; `None` without
    /// a debug server.
    ///
    /// ```
    /// let rt = goro::Builder::new().debug_addr("127.0.0.1:0".parse().unwrap()).build()?;
    /// let addr = rt.debug_addr().unwrap();
    /// assert!(addr.ip().is_loopback() && addr.port() != 0);
    /// assert_eq!(goro::Runtime::new()?.debug_addr(), None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn debug_addr(&self) -> Option<SocketAddr> {
        self.debug_server.as_ref().map(DebugServer::local_addr)
    }

    /// Runs a future to completion on the current thread, which becomes part of the
    /// runtime for the duration (`Handle::current()` works, `spawn` spawns here).
    ///
    /// # Panics
    /// If called from a thread that already drives a runtime: a task, or `block_on`.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        #[cfg(feature = "tokio-compat")]
        let _tokio = self.tokio.as_ref().map(|t| t.enter());
        self.handle.block_on(future)
    }

    /// Spawns a task on this runtime.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
    }

    /// Runs a blocking closure on the runtime's blocking pool.
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.handle.spawn_blocking(f)
    }

    /// The runtime's handle.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Shuts down, waiting at most `timeout` for running `spawn_blocking` closures; those
    /// still running afterwards are detached (their threads exit when they finish).
    pub fn shutdown_timeout(mut self, timeout: Duration) {
        self.debug_server = None;
        self.scheduler.shutdown(Some(timeout));
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("handle", &self.handle)
            .finish()
    }
}
