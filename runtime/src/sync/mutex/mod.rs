//! [`Mutex`]: tokio's async mutex API over Go's mutex, with named waits, a known owner and
//! deadlock detection.
//!
//! * `raw.rs`: the lock, a state word and a queue of waiters, in Go's normal mode (a
//!   running task may take a just-freed lock before the woken waiter: no lock convoy) and
//!   starvation mode (after a waiter has waited 1 ms, unlocks hand the lock to the first
//!   waiter).
//! * `lock.rs`: the future of `lock()`, a goro leaf future (`Mutex::lock` at its call site)
//!   that takes the cooperative budget, lists its wait-for edge while it waits, and
//!   records the owner (task and acquire site) when it gets the lock.
//! * this file: the public types, which guard an `UnsafeCell` with the lock.

mod lock;
pub(crate) mod raw;
#[cfg(test)]
mod tests;

use super::track::Track;
use goro_stats::{Primitive, Site};
use lock::Lock;
use raw::RawMutex;
use std::cell::UnsafeCell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::sync::Arc;

/// An asynchronous mutual-exclusion lock, with tokio's API: `lock().await` returns a guard
/// that unlocks when dropped; `lock_owned` returns a guard that keeps the mutex alive and
/// can move into other tasks.
///
/// Unlike tokio's, which hands the lock to the longest waiter at every unlock, it works like
/// Go's `sync.Mutex`: a running task may take a lock that was just freed ahead of the waiter
/// that was woken, and waiters are handed the lock in order once one has waited 1 ms (see
/// [`lock`](Mutex::lock)). Under contention that is several times faster than a fair lock,
/// and no waiter starves.
///
/// Waiting in `lock()` is named in task dumps and leak reports (`Mutex::lock` at the line
/// of the call), the mutex knows which task holds it and where that task locked it, and a
/// task that starts to wait on a mutex in a lock cycle is reported at once in
/// [`LeakReport::deadlocked`](crate::stats::LeakReport::deadlocked).
///
/// ```
/// use goro::sync::Mutex;
/// use std::sync::Arc;
///
/// # goro::Runtime::new().unwrap().block_on(async {
/// let count = Arc::new(Mutex::new(0));
/// let tasks: Vec<_> = (0..4)
///     .map(|_| {
///         let count = count.clone();
///         goro::spawn(async move { *count.lock().await += 1 })
///     })
///     .collect();
/// for t in tasks {
///     t.await.unwrap();
/// }
/// assert_eq!(*count.lock().await, 4);
/// # });
/// ```
pub struct Mutex<T: ?Sized> {
    track: Arc<Track>,
    raw: RawMutex,
    data: UnsafeCell<T>,
}

// SAFETY: the data is only reached through a guard, and one guard exists at a time (the
// raw mutex is exclusive), so sending the mutex sends at most one `&mut T` user.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: as above: shared access to the mutex hands out `&mut T` to one guard at a time,
// which needs `T: Send` (the data may be used from any thread), not `T: Sync`.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

/// The error of [`Mutex::try_lock`]: the mutex is locked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TryLockError(());

impl TryLockError {
    pub(crate) fn would_block() -> TryLockError {
        TryLockError(())
    }
}

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("operation would block")
    }
}

impl std::error::Error for TryLockError {}

impl<T> Mutex<T> {
    /// A new unlocked mutex holding `value`.
    ///
    /// ```
    /// let m = goro::sync::Mutex::new(5);
    /// assert_eq!(m.into_inner(), 5);
    /// ```
    pub fn new(value: T) -> Mutex<T> {
        Mutex {
            track: Track::new(Primitive::Mutex),
            raw: RawMutex::new(),
            data: UnsafeCell::new(value),
        }
    }

    /// The data, consuming the mutex.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    fn lock_at(&self, at: Site) -> Lock<'_> {
        Lock::new(&self.raw, &self.track, at)
    }

    /// Takes the lock if it is free, recording the caller's task as its owner.
    fn try_lock_at(&self, at: Site) -> bool {
        let locked = self.raw.try_lock();
        if locked {
            self.track.set_owner(super::track::current_task(), at);
        }
        locked
    }

    /// Locks the mutex, waiting (as `Mutex::lock` at the caller's line) while another
    /// guard holds it. Waiters are woken first come, first served, but a woken waiter
    /// competes for the lock with tasks that arrive while it is on its way (Go's normal
    /// mode, which keeps a busy lock from forcing a task switch per lock); once a waiter
    /// has waited 1 ms, the lock is handed to waiters in order until the queue drains
    /// (Go's starvation mode).
    ///
    /// ```
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let m = goro::sync::Mutex::new(1);
    /// *m.lock().await += 1;
    /// assert_eq!(*m.lock().await, 2);
    /// # });
    /// ```
    #[track_caller]
    pub fn lock(&self) -> impl Future<Output = MutexGuard<'_, T>> {
        let lock = self.lock_at(Location::caller());
        async move {
            lock.await;
            MutexGuard::new(self)
        }
    }

    /// Locks the mutex if it is free.
    ///
    /// ```
    /// let m = goro::sync::Mutex::new(1);
    /// let g = m.try_lock().unwrap();
    /// assert!(m.try_lock().is_err());
    /// drop(g);
    /// ```
    #[track_caller]
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        if self.try_lock_at(Location::caller()) {
            Ok(MutexGuard::new(self))
        } else {
            Err(TryLockError::would_block())
        }
    }

    /// Locks the mutex behind an `Arc`; the guard keeps it alive (`'static`, it can move
    /// into another task; the task that uses it becomes the recorded owner).
    ///
    /// ```
    /// use std::sync::Arc;
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let m = Arc::new(goro::sync::Mutex::new(1));
    /// let mut g = m.clone().lock_owned().await;
    /// goro::spawn(async move { *g += 1 }).await.unwrap();
    /// assert_eq!(*m.lock().await, 2);
    /// # });
    /// ```
    #[track_caller]
    pub fn lock_owned(self: Arc<Self>) -> impl Future<Output = OwnedMutexGuard<T>> {
        let at = Location::caller();
        async move {
            self.lock_at(at).await;
            OwnedMutexGuard::new(self)
        }
    }

    /// [`lock_owned`](Mutex::lock_owned) if the mutex is free.
    #[track_caller]
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        let at = Location::caller();
        if self.try_lock_at(at) {
            Ok(OwnedMutexGuard::new(self))
        } else {
            Err(TryLockError::would_block())
        }
    }

    /// The data, through a unique borrow (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    fn unlock(&self) {
        self.track.release_exclusive(|| self.raw.unlock());
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Mutex<T> {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Mutex<T> {
        Mutex::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Ok(guard) => d.field("data", &&*guard),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// A held [`Mutex`]; unlocks when dropped.
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T: ?Sized> {
    lock: &'a Mutex<T>,
    /// Send and Sync like `&mut T`, on top of `&Mutex<T>` (tokio's bounds).
    _data: PhantomData<&'a mut T>,
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    fn new(lock: &'a Mutex<T>) -> MutexGuard<'a, T> {
        MutexGuard {
            lock,
            _data: PhantomData,
        }
    }

    /// The mutex this guard holds.
    pub fn mutex(this: &Self) -> &'a Mutex<T> {
        this.lock
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this guard holds the mutex (the raw mutex is exclusive): no other access
        // exists.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this borrow unique.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// A held [`Mutex`] behind an `Arc`; unlocks when dropped. It may move into another
/// task: the task that dereferences it becomes the mutex's recorded owner.
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct OwnedMutexGuard<T: ?Sized> {
    lock: Arc<Mutex<T>>,
}

// SAFETY: the guard is the unique user of the data; moving it moves that use, which needs
// `T: Send` (as `&mut T` does).
unsafe impl<T: ?Sized + Send> Send for OwnedMutexGuard<T> {}
// SAFETY: `&OwnedMutexGuard` gives `&T` only: `T: Sync` for that, `T: Send` for the rest.
unsafe impl<T: ?Sized + Send + Sync> Sync for OwnedMutexGuard<T> {}

impl<T: ?Sized> OwnedMutexGuard<T> {
    fn new(lock: Arc<Mutex<T>>) -> OwnedMutexGuard<T> {
        OwnedMutexGuard { lock }
    }

    /// The mutex this guard holds.
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.lock
    }
}

impl<T: ?Sized> Deref for OwnedMutexGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.lock.track.touch_owner();
        // SAFETY: this guard holds the mutex (the raw mutex is exclusive): no other access
        // exists.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.lock.track.touch_owner();
        // SAFETY: as in `deref`, and `&mut self` makes this borrow unique.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for OwnedMutexGuard<T> {
    fn drop(&mut self) {
        self.lock.unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
