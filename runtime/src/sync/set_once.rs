//! [`SetOnce`]: tokio's cell that is set once and awaited, with the wait named
//! `SetOnce::wait`.
//!
//! It is tokio's `SetOnce` (a value slot, a flag and a `Notify`): `set` writes the value
//! and wakes every waiter under the `Notify`'s lock, and a wait registers under that same
//! lock before it looks at the flag again, so a `set` racing a wait never loses the
//! wake-up. goro wraps the wait in its leaf future: it takes the cooperative budget, and a
//! task stuck in it is named `SetOnce::wait` at the caller's line in task dumps and leak
//! reports.

use super::leaf::{leaf, Leaf};
use goro_stats::WaitOp;
use std::fmt;
use std::future::Future;

pub use tokio::sync::SetOnceError;

/// A cell that is set once, by [`set`](SetOnce::set), and that tasks can
/// [`wait`](SetOnce::wait) on until it is (tokio's `SetOnce`, an event that carries a
/// value). `const_new` makes one for a `static`.
///
/// ```
/// use goro::sync::SetOnce;
/// use std::sync::Arc;
///
/// # goro::Runtime::new().unwrap().block_on(async {
/// let ready = Arc::new(SetOnce::new());
/// let waiters: Vec<_> = (0..3)
///     .map(|_| {
///         let ready = ready.clone();
///         goro::spawn(async move { *ready.wait().await * 2 })
///     })
///     .collect();
/// ready.set(21).unwrap();
/// for w in waiters {
///     assert_eq!(w.await.unwrap(), 42); // every waiter is woken and sees the value
/// }
/// assert!(ready.set(0).is_err()); // set once
/// # });
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SetOnce<T> {
    inner: tokio::sync::SetOnce<T>,
}

impl<T> SetOnce<T> {
    /// An empty cell.
    ///
    /// ```
    /// let cell = goro::sync::SetOnce::<u8>::new();
    /// assert_eq!(cell.get(), None);
    /// ```
    pub fn new() -> SetOnce<T> {
        SetOnce {
            inner: tokio::sync::SetOnce::new(),
        }
    }

    /// An empty cell, in a `const` (for statics).
    ///
    /// ```
    /// use goro::sync::SetOnce;
    ///
    /// static SHUTDOWN: SetOnce<&str> = SetOnce::const_new();
    ///
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// goro::spawn(async { SHUTDOWN.set("signal").unwrap() });
    /// assert_eq!(*SHUTDOWN.wait().await, "signal");
    /// # });
    /// ```
    pub const fn const_new() -> SetOnce<T> {
        SetOnce {
            inner: tokio::sync::SetOnce::const_new(),
        }
    }

    /// A cell holding `value`, or an empty one.
    ///
    /// ```
    /// let cell = goro::sync::SetOnce::new_with(Some(3));
    /// assert_eq!(cell.get(), Some(&3));
    /// assert!(!goro::sync::SetOnce::<u8>::new_with(None).initialized());
    /// ```
    pub fn new_with(value: Option<T>) -> SetOnce<T> {
        SetOnce {
            inner: tokio::sync::SetOnce::new_with(value),
        }
    }

    /// A cell holding `value`, in a `const` (for statics).
    ///
    /// ```
    /// use goro::sync::SetOnce;
    ///
    /// static LIMIT: SetOnce<u32> = SetOnce::const_new_with(64);
    /// assert_eq!(LIMIT.get(), Some(&64));
    /// ```
    pub const fn const_new_with(value: T) -> SetOnce<T> {
        SetOnce {
            inner: tokio::sync::SetOnce::const_new_with(value),
        }
    }

    /// Whether the cell holds its value.
    ///
    /// ```
    /// let cell = goro::sync::SetOnce::new();
    /// assert!(!cell.initialized());
    /// cell.set(()).unwrap();
    /// assert!(cell.initialized());
    /// ```
    pub fn initialized(&self) -> bool {
        self.inner.initialized()
    }

    /// The value, if the cell holds it (never waits).
    ///
    /// ```
    /// let cell = goro::sync::SetOnce::new();
    /// assert_eq!(cell.get(), None);
    /// cell.set("on").unwrap();
    /// assert_eq!(cell.get(), Some(&"on"));
    /// ```
    pub fn get(&self) -> Option<&T> {
        self.inner.get()
    }

    /// Sets the value and wakes every task waiting for it, unless the cell holds one
    /// already (then `value` comes back in the error).
    ///
    /// ```
    /// use goro::sync::{SetOnce, SetOnceError};
    /// let cell = SetOnce::new();
    /// assert_eq!(cell.set(1), Ok(()));
    /// assert_eq!(cell.set(2), Err(SetOnceError(2)));
    /// assert_eq!(cell.get(), Some(&1));
    /// ```
    pub fn set(&self, value: T) -> Result<(), SetOnceError<T>> {
        self.inner.set(value)
    }

    /// The value, consuming the cell.
    ///
    /// ```
    /// let cell = goro::sync::SetOnce::from(String::from("kept"));
    /// assert_eq!(cell.into_inner().as_deref(), Some("kept"));
    /// ```
    pub fn into_inner(self) -> Option<T> {
        self.inner.into_inner()
    }

    /// Waits (as `SetOnce::wait` at the caller's line) until the cell is set, and returns
    /// its value; at once if it is set already. Cancel safe.
    ///
    /// ```
    /// use goro::sync::SetOnce;
    /// use std::sync::Arc;
    ///
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let cell = Arc::new(SetOnce::new());
    /// let c = cell.clone();
    /// std::thread::spawn(move || c.set(7).unwrap()); // any thread may set it
    /// assert_eq!(*cell.wait().await, 7);
    /// # });
    /// ```
    #[track_caller]
    pub fn wait(&self) -> Leaf<impl Future<Output = &T> + '_> {
        leaf(WaitOp::SetOnceWait, self.inner.wait())
    }
}

impl<T> Default for SetOnce<T> {
    fn default() -> SetOnce<T> {
        SetOnce::new()
    }
}

impl<T> From<T> for SetOnce<T> {
    fn from(value: T) -> SetOnce<T> {
        SetOnce {
            inner: tokio::sync::SetOnce::from(value),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for SetOnce<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}
