//! [`JoinError`]: why a task has no output.

use super::Id;
use std::any::Any;
use std::fmt;
use std::sync::Mutex;

/// A task did not produce its output: it was cancelled (aborted, reclaimed as an orphan, or
/// the runtime shut down) or it panicked.
///
/// ```
/// # let rt = goro_sched::Scheduler::new(goro_sched::Config::with_processors(1)).unwrap();
/// let handle = rt.handle().spawn(async { panic!("boom") }, None);
/// let err = rt.handle().block_on(handle).unwrap_err();
/// assert!(err.is_panic());
/// assert_eq!(*err.into_panic().downcast::<&str>().unwrap(), "boom");
/// ```
pub struct JoinError {
    id: Id,
    repr: Repr,
}

enum Repr {
    Cancelled,
    /// Cancelled because it was orphaned (`reclaim_orphans`).
    Orphaned,
    /// The mutex only makes the payload `Sync`; it is never contended. Boxed, so that a
    /// `JoinError` (which every task's allocation has room for) is three words, not four:
    /// only a panic pays for the extra allocation.
    Panic(Box<Mutex<Box<dyn Any + Send + 'static>>>),
}

impl JoinError {
    pub(crate) fn cancelled(id: Id) -> JoinError {
        JoinError {
            id,
            repr: Repr::Cancelled,
        }
    }

    pub(crate) fn orphaned(id: Id) -> JoinError {
        JoinError {
            id,
            repr: Repr::Orphaned,
        }
    }

    pub(crate) fn panic(id: Id, payload: Box<dyn Any + Send + 'static>) -> JoinError {
        JoinError {
            id,
            repr: Repr::Panic(Box::new(Mutex::new(payload))),
        }
    }

    /// The task was cancelled: aborted, shut down, or reclaimed as an orphan.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled | Repr::Orphaned)
    }

    /// The task was orphaned (it waited while no waker for it existed, so nothing could ever
    /// wake it) and the runtime, built with `reclaim_orphans(true)`, cancelled it. Such an
    /// error is also [`is_cancelled`](JoinError::is_cancelled).
    pub fn is_orphaned(&self) -> bool {
        matches!(self.repr, Repr::Orphaned)
    }

    /// The task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// The panic payload. Panics if the task was cancelled; see [`JoinError::try_into_panic`].
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        match self.try_into_panic() {
            Ok(payload) => payload,
            Err(err) => panic!("JoinError::into_panic on a task that did not panic: {err}"),
        }
    }

    /// The panic payload, or the error back if the task did not panic.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(payload) => Ok(payload.into_inner().unwrap_or_else(|e| e.into_inner())),
            Repr::Cancelled | Repr::Orphaned => Err(self),
        }
    }

    /// The id of the task.
    pub fn id(&self) -> Id {
        self.id
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => write!(f, "task {} was cancelled", self.id),
            Repr::Orphaned => write!(
                f,
                "task {} was cancelled because it was orphaned: it waited while no waker for it \
                 existed, so nothing could ever wake it",
                self.id
            ),
            Repr::Panic(payload) => {
                let payload = payload.lock().unwrap_or_else(|e| e.into_inner());
                match panic_message(&**payload) {
                    Some(msg) if needs_tokio(msg) => write!(
                        f,
                        "task {} panicked with message {msg:?} (goro: {TOKIO_HINT})",
                        self.id
                    ),
                    Some(msg) => write!(f, "task {} panicked with message {msg:?}", self.id),
                    None => write!(f, "task {} panicked", self.id),
                }
            }
        }
    }
}

/// What to do about a task that called a tokio API needing tokio's runtime.
const TOKIO_HINT: &str = "a tokio API that needs tokio's runtime ran in a goro task: build \
     the runtime with `Builder::tokio_compat(true)` or `#[goro::main(tokio_compat)]` (feature \
     `tokio-compat`), or use goro's own (`goro::time`, `goro::net`, `goro::spawn`; see the \
     guide, `goro::moving_from_tokio`)";

/// Whether a panic message is tokio's for a runtime API called outside its runtime ("there
/// is no reactor running, must be called from the context of a Tokio 1.x runtime").
fn needs_tokio(msg: &str) -> bool {
    msg.contains("context of a Tokio 1.x runtime")
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => write!(f, "JoinError::Cancelled({:?})", self.id),
            Repr::Orphaned => write!(f, "JoinError::Orphaned({:?})", self.id),
            Repr::Panic(_) => write!(f, "JoinError::Panic({:?}, {self})", self.id),
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(err: JoinError) -> std::io::Error {
        std::io::Error::other(err)
    }
}
