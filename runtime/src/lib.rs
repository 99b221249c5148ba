//! # goro: an async runtime on Go's G-P-M model
//!
//! goro runs Rust futures the way Go runs goroutines. Tasks (G) are run by processors (P),
//! each with its own run queue, `runnext` slot, I/O poller and timers; OS threads, the
//! machines (M), hold processors and run the scheduling loop; idle processors steal half of a
//! busy one's queue. The number of processors is `GORO_PROCS` (Go's `GOMAXPROCS`) or the
//! number of CPUs. The runtime also watches its own tasks: every task records where it was
//! spawned, and its waker count makes a task that nothing can ever wake visible at once.
//!
//! The API follows tokio's shapes, so moving a service over is mostly a matter of paths:
//!
//! ```
//! use std::time::Duration;
//!
//! #[goro::main(processors = 2)]
//! async fn main() {
//!     let handle = goro::spawn(async {
//!         goro::task::yield_now().await;
//!         40 + 2
//!     });
//!     assert_eq!(handle.await.unwrap(), 42);
//!
//!     let blocking = goro::task::spawn_blocking(|| std::thread::sleep(Duration::from_millis(1)));
//!     blocking.await.unwrap();
//! }
//! ```
//!
//! ## Layout
//!
//! * [`Runtime`], [`Builder`], [`Handle`]: building, entering and shutting down a runtime.
//! * [`spawn`], [`task`]: tasks, `JoinHandle`, `yield_now`, `spawn_blocking`.
//! * [`net`], [`io`]: TCP, UDP and Unix sockets on the processors' pollers, and the
//!   `futures_io` traits with `async` extension methods.
//! * [`sync`]: tokio's locks, semaphores and channels (and Go's mutex), with named waits,
//!   lock holders and deadlocks reported the moment they close.
//! * [`stats`]: counters, pauses, task dumps and leak reports; `GORO_SCHEDTRACE` and the
//!   `GORO_DEBUG_ADDR` HTTP server.
//! * [`fs`], [`process`], [`signal`]: files on the blocking pool, child processes and
//!   signals on the pollers, with tokio's names.
//! * `hyper` (feature `hyper`): hyper 1.x and axum on goro, `serve` with HTTP/1.1, HTTP/2
//!   and graceful shutdown. Feature `tokio-io`: tokio's I/O traits on goro's streams.
//!   Feature `tokio-compat`: `Builder::tokio_compat` for crates that need tokio's runtime.
//! * [`moving_from_tokio`]: the guide, tokio item by tokio item.
//! * [`main`], [`test`]: the attribute macros (`#[goro::test]` fails a test that leaves
//!   orphaned tasks behind).
//!
//! ## Crates
//!
//! ```text
//! goro (this crate) ──► goro-sched ──► goro-netpoll   (one poller per processor)
//!   │   │   │               │
//!   │   │   │               └────────► goro-stats     (report types, leak detector)
//!   │   │   └──► goro-netpoll, goro-stats              (sockets, reports)
//!   │   └──► goro-macros                               (#[goro::main], #[goro::test])
//! ```
//!
//! The scheduler lives in the `goro-sched` crate; its crate docs explain the design, with a
//! glossary of Go's and tokio's words for goro's (`sysmon` = monitor, global run queue =
//! injector, LIFO slot = `runnext`), and `docs/architecture.md` in the repository draws a
//! request's path. Three modules are called `stats`: `goro-stats` holds the report types and
//! judges the numbers, `goro-sched`'s `stats` measures the scheduler and assembles the
//! reports, and [`stats`] here reads them for users and serves them over HTTP.

mod builder;
mod env;
pub mod fs;
mod handle;
#[cfg(feature = "hyper")]
pub mod hyper;
pub mod io;
#[doc = include_str!("../docs/moving-from-tokio.md")]
pub mod moving_from_tokio {}
pub mod net;
#[cfg(unix)]
pub mod process;
mod runtime;
#[cfg(unix)]
pub mod signal;
pub mod stats;
mod stdio;
pub mod sync;
pub mod task;
pub mod time;
#[cfg(feature = "tokio-compat")]
mod tokio_compat;

pub use builder::Builder;
pub use goro_macros::{main, test};
pub use handle::Handle;
pub use runtime::Runtime;
pub use task::spawn;

/// Re-exports for the attribute macros; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::builder::Builder;
    pub use crate::stats::orphan_check::{check_deadlocks, check_orphans};

    /// `#[goro::main(tokio_compat)]`: `Builder::tokio_compat(true)`.
    #[cfg(feature = "tokio-compat")]
    pub fn tokio_compat(builder: &mut Builder) {
        builder.tokio_compat(true);
    }

    /// `#[goro::main(tokio_compat)]` without the feature: a compile error that says so.
    ///
    /// ```compile_fail,E0277
    /// #[goro::main(tokio_compat)] // needs goro's feature `tokio-compat`
    /// async fn main() {}
    /// ```
    #[cfg(not(feature = "tokio-compat"))]
    pub fn tokio_compat<B: TokioCompatFeature>(_: &mut B) {}

    /// Implemented by nothing: the unmet bound is the error that names the missing feature.
    #[diagnostic::on_unimplemented(
        message = "`tokio_compat` needs goro's `tokio-compat` cargo feature",
        label = "goro is built without `tokio-compat`",
        note = "in Cargo.toml: goro = {{ version = \"0.1\", features = [\"tokio-compat\"] }}"
    )]
    pub trait TokioCompatFeature {}
}
