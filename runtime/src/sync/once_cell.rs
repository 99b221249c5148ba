//! [`OnceCell`]: tokio's cell that is initialized once by an async function, with the wait
//! for another task's initialization named `OnceCell::get_or_init`.
//!
//! Like tokio's, it is a value slot and a semaphore of one permit: the task holding the
//! permit initializes the cell, later callers wait for the permit, and once the value is
//! set the semaphore closes, which wakes every waiter to read it. An initialization that
//! fails, panics or is cancelled gives the permit back, and the next waiter tries. The
//! value slot is std's `OnceLock` (set only under the permit, so it never blocks).

use super::leaf::leaf;
use goro_stats::WaitOp;
use std::fmt;
use std::future::Future;
use std::sync::OnceLock;
use tokio::sync::{Semaphore, TryAcquireError};

pub use tokio::sync::SetError;

/// A cell written once, by [`set`](OnceCell::set) or by the first
/// [`get_or_init`](OnceCell::get_or_init) to finish its async initializer (tokio's
/// `OnceCell`). `const_new` makes one for a `static`.
///
/// ```
/// use goro::sync::OnceCell;
///
/// static CONFIG: OnceCell<String> = OnceCell::const_new();
///
/// # goro::Runtime::new().unwrap().block_on(async {
/// let tasks: Vec<_> = (0..4)
///     .map(|i| goro::spawn(async move { CONFIG.get_or_init(|| async move { format!("by {i}") }).await.len() }))
///     .collect();
/// for t in tasks {
///     assert_eq!(t.await.unwrap(), 4); // one initializer ran; every task sees its value
/// }
/// assert!(CONFIG.initialized());
/// # });
/// ```
pub struct OnceCell<T> {
    value: OnceLock<T>,
    /// One permit: its holder initializes the cell. Closed once the value is set.
    init: Semaphore,
}

impl<T> OnceCell<T> {
    /// An empty cell.
    pub fn new() -> OnceCell<T> {
        OnceCell::const_new()
    }

    /// An empty cell, in a `const` (for statics).
    pub const fn const_new() -> OnceCell<T> {
        OnceCell {
            value: OnceLock::new(),
            init: Semaphore::const_new(1),
        }
    }

    /// A cell holding `value`, or an empty one.
    ///
    /// ```
    /// let cell = goro::sync::OnceCell::new_with(Some(3));
    /// assert_eq!(cell.get(), Some(&3));
    /// ```
    pub fn new_with(value: Option<T>) -> OnceCell<T> {
        let cell = OnceCell::new();
        if let Some(value) = value {
            cell.fill(value);
        }
        cell
    }

    /// Whether the cell holds its value.
    pub fn initialized(&self) -> bool {
        self.value.get().is_some()
    }

    /// The value, if the cell holds it.
    pub fn get(&self) -> Option<&T> {
        self.value.get()
    }

    /// The value, through a unique borrow.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        self.value.get_mut()
    }

    /// Sets the value, unless the cell holds one already or another task is initializing
    /// it (then `value` comes back in the error).
    ///
    /// ```
    /// use goro::sync::{OnceCell, SetError};
    /// let cell = OnceCell::new();
    /// assert!(cell.set(1).is_ok());
    /// assert_eq!(cell.set(2), Err(SetError::AlreadyInitializedError(2)));
    /// ```
    pub fn set(&self, value: T) -> Result<(), SetError<T>> {
        match self.init.try_acquire() {
            Ok(_permit) => {
                self.fill(value);
                Ok(())
            }
            Err(TryAcquireError::NoPermits) => Err(SetError::InitializingError(value)),
            Err(TryAcquireError::Closed) => Err(SetError::AlreadyInitializedError(value)),
        }
    }

    /// The value, initializing the cell with `f().await` if it is empty. While another
    /// task initializes it, this waits (as `OnceCell::get_or_init` at the caller's line)
    /// and takes that task's value; if that initializer is cancelled or panics, a waiter
    /// runs its own.
    ///
    /// ```
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let cell = goro::sync::OnceCell::new();
    /// assert_eq!(*cell.get_or_init(|| async { 1 }).await, 1);
    /// assert_eq!(*cell.get_or_init(|| async { 2 }).await, 1);
    /// # });
    /// ```
    #[track_caller]
    pub fn get_or_init<F, Fut>(&self, f: F) -> impl Future<Output = &T>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        let init = self.get_or_try_init(|| async { Ok::<T, std::convert::Infallible>(f().await) });
        async move {
            match init.await {
                Ok(value) => value,
                Err(never) => match never {},
            }
        }
    }

    /// [`get_or_init`](OnceCell::get_or_init) with an initializer that may fail: its error
    /// is returned and the cell stays empty (the next waiter tries).
    ///
    /// ```
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let cell = goro::sync::OnceCell::new();
    /// let failed = cell.get_or_try_init(|| async { Err::<u8, _>("down") }).await;
    /// assert_eq!(failed, Err("down"));
    /// assert_eq!(cell.get_or_try_init(|| async { Ok::<_, ()>(7) }).await, Ok(&7));
    /// # });
    /// ```
    #[track_caller]
    pub fn get_or_try_init<E, F, Fut>(&self, f: F) -> impl Future<Output = Result<&T, E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let wait = leaf(WaitOp::OnceCellInit, self.init.acquire());
        async move {
            if let Some(value) = self.value.get() {
                return Ok(value);
            }
            match wait.await {
                Ok(_permit) => {
                    let value = f().await?;
                    Ok(self.fill(value))
                }
                // Closed: the cell holds its value.
                Err(_) => Ok(self.value.get().expect("a OnceCell closes once it is set")),
            }
        }
    }

    /// Sets the value (the caller holds the permit, or the cell is new) and closes the
    /// semaphore, which wakes the waiters.
    fn fill(&self, value: T) -> &T {
        let value = self.value.get_or_init(|| value);
        self.init.close();
        value
    }

    /// The value, consuming the cell.
    pub fn into_inner(self) -> Option<T> {
        self.value.into_inner()
    }

    /// Takes the value out, leaving the cell empty.
    ///
    /// ```
    /// let mut cell = goro::sync::OnceCell::new_with(Some(1));
    /// assert_eq!(cell.take(), Some(1));
    /// assert!(cell.set(2).is_ok());
    /// ```
    pub fn take(&mut self) -> Option<T> {
        std::mem::take(self).into_inner()
    }
}

impl<T> Default for OnceCell<T> {
    fn default() -> OnceCell<T> {
        OnceCell::new()
    }
}

impl<T> From<T> for OnceCell<T> {
    fn from(value: T) -> OnceCell<T> {
        OnceCell::new_with(Some(value))
    }
}

impl<T: Clone> Clone for OnceCell<T> {
    fn clone(&self) -> OnceCell<T> {
        OnceCell::new_with(self.get().cloned())
    }
}

impl<T: PartialEq> PartialEq for OnceCell<T> {
    fn eq(&self, other: &OnceCell<T>) -> bool {
        self.get() == other.get()
    }
}

impl<T: Eq> Eq for OnceCell<T> {}

impl<T: fmt::Debug> fmt::Debug for OnceCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnceCell")
            .field("value", &self.get())
            .finish()
    }
}
