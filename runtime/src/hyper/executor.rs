//! [`GoroExecutor`]: hyper's `rt::Executor`, spawning goro tasks.

use crate::stats::WaitOp;
use crate::Handle;
use goro_sched::task::traced_fallback;
use std::future::Future;
use std::panic::Location;

/// Spawns hyper's background futures (HTTP/2 streams and connection drivers, client
/// connection tasks) as goro tasks on the current runtime.
///
/// The tasks carry the spawn site of the `GoroExecutor::new()` call and the name
/// `hyper task`, so a task dump groups them under the line that set hyper up, not under
/// goro's code. A task of theirs that waits on no goro future (an HTTP/2 stream on the
/// service's body, a pooled client connection between requests) is shown waiting on
/// `hyper connection` at that line (see the [module docs](super)).
///
/// ```
/// # goro::Runtime::new().unwrap().block_on(async {
/// use hyper::rt::Executor;
/// let exec = goro::hyper::GoroExecutor::new();
/// let (tx, rx) = std::sync::mpsc::channel();
/// exec.execute(async move { tx.send(42).unwrap() });
/// assert_eq!(goro::task::spawn_blocking(move || rx.recv().unwrap()).await.unwrap(), 42);
/// # });
/// ```
#[derive(Clone, Copy, Debug)]
pub struct GoroExecutor {
    at: &'static Location<'static>,
    name: &'static str,
}

impl GoroExecutor {
    /// An executor whose tasks carry the caller's line as their spawn site.
    #[track_caller]
    #[allow(clippy::new_without_default)] // `default()` could not see its caller
    pub fn new() -> GoroExecutor {
        GoroExecutor::at(Location::caller(), "hyper task")
    }

    pub(crate) fn at(at: &'static Location<'static>, name: &'static str) -> GoroExecutor {
        GoroExecutor { at, name }
    }

    /// Spawns `fut` with this executor's spawn site and `name`.
    pub(crate) fn spawn_named<F>(&self, fut: F, name: String)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let handle = Handle::current();
        // A wait on anything but a goro future (the service's body, hyper's channels) is
        // on the connection: see `WaitOp::HyperConnection`.
        let fut = traced_fallback(WaitOp::HyperConnection, self.at, fut);
        drop(
            handle
                .as_sched()
                .spawn_at(fut, self.at, Some(name.into_boxed_str())),
        );
    }
}

impl<F> hyper::rt::Executor<F> for GoroExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    /// # Panics
    /// Outside a goro runtime.
    fn execute(&self, fut: F) {
        self.spawn_named(fut, self.name.to_string());
    }
}
