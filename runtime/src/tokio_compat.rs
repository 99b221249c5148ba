//! `Builder::tokio_compat(true)` (feature `tokio-compat`): a tokio runtime context on every
//! goro thread, for crates that call tokio's runtime themselves (reqwest, `axum::serve`,
//! `tokio::time`, `tokio::net`, `tokio::spawn`, ...).
//!
//! ## How
//!
//! The goro runtime starts a small tokio runtime next to itself (multi-thread flavor, one
//! worker thread named `goro-tokio`, I/O and time drivers on) and enters its `Handle` on
//! every goro thread: each machine and blocking thread enters it as it starts (the
//! scheduler's thread-start hook) and stays in it for its whole life, and
//! `Runtime::block_on` enters it for the duration of the call. tokio's leaf futures then
//! find a reactor and a timer wherever a goro task polls them: a `tokio::net::TcpStream`
//! registers with tokio's reactor, whose worker thread waits in `epoll_wait` and wakes the
//! goro task through its ordinary `Waker`.
//!
//! ## What it costs
//!
//! * One more thread (tokio's worker) and its epoll instance and timer wheel, for the
//!   runtime's lifetime; nothing on goro's own paths: goro tasks, sockets and timers do
//!   not touch tokio.
//! * Every tokio socket or timer event crosses threads: tokio's worker sees it and wakes
//!   the goro task, which goes through goro's injector (a remote wake), where a goro
//!   socket's event would land on the polling processor's `runnext`. Expect a few
//!   microseconds more per event than with goro's own types; use `goro::net`/`goro::time`
//!   where you write the code, and keep the compat layer for crates you cannot change.
//!
//! ## What it does not give
//!
//! * Tasks spawned with `tokio::spawn` (by you or by a crate) run on tokio's worker, not on
//!   goro's processors: they are outside goro's stats, task dumps and leak reports, and
//!   they share that one worker thread.
//! * tokio's I/O and timers do not report suspension points: a goro task waiting on one
//!   shows no goro op in the task dump, and the leak detector treats it as an unknown wait.
//! * `Handle::block_on` on a cloned handle does not enter the tokio context (only
//!   `Runtime::block_on` does); threads that are not goro's are not touched.
//!
//! Without the flag, these tokio calls panic inside a goro task ("there is no reactor
//! running, must be called from the context of a Tokio 1.x runtime"): anything in
//! `tokio::time`, `tokio::net`, `tokio::fs`, `tokio::process`, `tokio::signal`,
//! `tokio::spawn`, `tokio::task::spawn_blocking` and `JoinSet::spawn`, and so reqwest,
//! `axum::serve`, tonic's transport and other crates built on them, and
//! `tokio::io::{stdin, stdout, stderr}` (tokio's blocking pool). `tokio::sync`,
//! `tokio::select!`, tokio's I/O traits and adapters (`copy`, `BufReader`, ...) and
//! tokio-util codecs need no runtime and work without it.

use goro_sched::ThreadStartHook;
use std::io;
use std::sync::Arc;

/// The tokio runtime a goro runtime keeps for its threads' context.
#[derive(Debug)]
pub(crate) struct TokioContext {
    runtime: Option<tokio::runtime::Runtime>,
}

impl TokioContext {
    /// Starts the background tokio runtime.
    pub(crate) fn start(thread_name: &str) -> io::Result<TokioContext> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name(format!("{thread_name}-tokio"))
            .enable_all()
            .build()?;
        Ok(TokioContext {
            runtime: Some(runtime),
        })
    }

    fn handle(&self) -> &tokio::runtime::Handle {
        self.runtime
            .as_ref()
            .expect("runtime present until drop")
            .handle()
    }

    /// The hook that enters the tokio context on a goro thread for the rest of its life.
    pub(crate) fn thread_hook(&self) -> ThreadStartHook {
        let handle = self.handle().clone();
        ThreadStartHook(Arc::new(move || {
            // The thread is goro's from here to its end: stay in the context. Forgetting
            // the guard leaves the handle set in tokio's thread-local, which drops it when
            // the thread exits.
            std::mem::forget(handle.enter());
        }))
    }

    /// Enters the tokio context on this thread until the guard drops (for `block_on`).
    pub(crate) fn enter(&self) -> tokio::runtime::EnterGuard<'_> {
        self.handle().enter()
    }
}

impl Drop for TokioContext {
    fn drop(&mut self) {
        // Never blocks: tasks spawned on tokio are dropped as its worker stops.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
