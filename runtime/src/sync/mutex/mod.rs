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
//! * `mapped.rs`: the guards of a part of the data (`MutexGuard::map`), which hold the
//!   whole lock: its owner stays recorded until they drop.
//! * this file: the public types, which guard an `UnsafeCell` with the lock.

mod lock;
mod mapped;
pub(crate) mod raw;
#[cfg(test)]
mod tests;

use super::track::{LazyTrack, Track};
use goro_stats::{Primitive, Site};
use lock::Lock;
pub use mapped::{MappedMutexGuard, OwnedMappedMutexGuard};
use raw::{Queue, RawMutex};
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
    track: LazyTrack,
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
            track: LazyTrack::made(Primitive::Mutex),
            raw: RawMutex::new(),
            data: UnsafeCell::new(value),
        }
    }

    /// A new unlocked mutex holding `value`, in a `const` (for statics). Its holder
    /// record is made when it is first used.
    ///
    /// ```
    /// use goro::sync::Mutex;
    ///
    /// static HITS: Mutex<u64> = Mutex::const_new(0);
    ///
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// *HITS.lock().await += 1;
    /// assert_eq!(*HITS.lock().await, 1);
    /// # });
    /// ```
    pub const fn const_new(value: T) -> Mutex<T> {
        let queue = crate::sync::blocking::Mutex::new(Queue::new());
        let state = crate::sync::atomic::AtomicUsize::new(0);
        Mutex {
            track: LazyTrack::new(Primitive::Mutex),
            raw: RawMutex::from_parts(state, queue),
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
        Lock::new(&self.raw, self.track.get(), at)
    }

    /// Takes the lock if it is free, recording the caller's task as its owner.
    fn try_lock_at(&self, at: Site) -> bool {
        let locked = self.raw.try_lock();
        if locked {
            self.track.get().set_owner(super::track::current_task(), at);
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

    /// Locks the mutex from outside the runtime, blocking this thread until it gets the
    /// lock (tokio's `blocking_lock`): for code on plain threads, `spawn_blocking` threads
    /// or inside `block_in_place` that shares data with tasks. While it waits, the thread
    /// is not a task: it holds no processor, and as the lock's owner it counts as unknown.
    ///
    /// # Panics
    /// When called on a thread that drives the runtime: inside a goro task (it would stop
    /// the processor's other tasks, and could wait on one of them forever) or inside
    /// `block_on`. Use `lock().await` there.
    ///
    /// ```
    /// use std::sync::Arc;
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let m = Arc::new(goro::sync::Mutex::new(1));
    /// let m2 = m.clone();
    /// goro::task::spawn_blocking(move || *m2.blocking_lock() += 1)
    ///     .await
    ///     .unwrap();
    /// assert_eq!(*m.lock().await, 2);
    /// # });
    /// ```
    #[track_caller]
    pub fn blocking_lock(&self) -> MutexGuard<'_, T> {
        let lock = self.lock_at(Location::caller());
        goro_sched::block_thread_on("Mutex::blocking_lock", lock);
        MutexGuard::new(self)
    }

    /// [`blocking_lock`](Mutex::blocking_lock) through an `Arc`; the guard keeps the mutex
    /// alive.
    ///
    /// # Panics
    /// As [`blocking_lock`](Mutex::blocking_lock): inside a goro task or `block_on`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let m = Arc::new(goro::sync::Mutex::new(1));
    /// let m2 = m.clone();
    /// std::thread::spawn(move || *m2.blocking_lock_owned() += 1)
    ///     .join()
    ///     .unwrap();
    /// assert_eq!(*m.try_lock().unwrap(), 2);
    /// ```
    #[track_caller]
    pub fn blocking_lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        let lock = self.lock_at(Location::caller());
        goro_sched::block_thread_on("Mutex::blocking_lock_owned", lock);
        OwnedMutexGuard::new(self)
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
        unlock(&self.raw, self.track.get());
    }
}

/// Clears the owner of `raw` (tracked by `track`) and unlocks it.
fn unlock(raw: &RawMutex, track: &Track) {
    track.release_exclusive(|| raw.unlock());
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

    /// A guard of the part of the data `f` picks, holding the whole lock (the lock's
    /// owner stays recorded until it drops).
    ///
    /// ```
    /// use goro::sync::{Mutex, MutexGuard};
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let m = Mutex::new((1, String::from("a")));
    /// let mut name = MutexGuard::map(m.lock().await, |pair| &mut pair.1);
    /// name.push('b');
    /// assert!(m.try_lock().is_err());
    /// drop(name);
    /// assert_eq!(m.lock().await.1, "ab");
    /// # });
    /// ```
    pub fn map<U: ?Sized, F>(mut this: Self, f: F) -> MappedMutexGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let data: *mut U = f(&mut *this);
        MappedMutexGuard::new(Self::into_mutex(this), data)
    }

    /// [`map`](MutexGuard::map) if `f` returns a part; else the guard back.
    ///
    /// ```
    /// use goro::sync::{Mutex, MutexGuard};
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let m = Mutex::new(vec![1, 2]);
    /// let guard = MutexGuard::try_map(m.lock().await, |v| v.get_mut(5)).unwrap_err();
    /// let mut first = MutexGuard::try_map(guard, |v| v.first_mut()).unwrap();
    /// *first = 7;
    /// drop(first);
    /// assert_eq!(*m.lock().await, [7, 2]);
    /// # });
    /// ```
    pub fn try_map<U: ?Sized, F>(mut this: Self, f: F) -> Result<MappedMutexGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let data: *mut U = match f(&mut *this) {
            Some(data) => data,
            None => return Err(this),
        };
        Ok(MappedMutexGuard::new(Self::into_mutex(this), data))
    }

    /// The mutex, which stays locked: the guard's unlock is skipped.
    fn into_mutex(this: Self) -> &'a Mutex<T> {
        let lock = this.lock;
        std::mem::forget(this);
        lock
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

    /// A guard of the part of the data `f` picks, holding the whole lock and keeping the
    /// mutex alive (the task that dereferences it is the lock's recorded owner).
    ///
    /// ```
    /// use goro::sync::{Mutex, OwnedMutexGuard};
    /// use std::sync::Arc;
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let m = Arc::new(Mutex::new((1, 2)));
    /// let mut second = OwnedMutexGuard::map(m.clone().lock_owned().await, |p| &mut p.1);
    /// goro::spawn(async move { *second += 40 }).await.unwrap();
    /// assert_eq!(*m.lock().await, (1, 42));
    /// # });
    /// ```
    pub fn map<U: ?Sized, F>(mut this: Self, f: F) -> OwnedMappedMutexGuard<T, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let data: *mut U = f(&mut *this);
        OwnedMappedMutexGuard::new(Self::into_mutex(this), data)
    }

    /// [`map`](OwnedMutexGuard::map) if `f` returns a part; else the guard back.
    ///
    /// ```
    /// use goro::sync::{Mutex, OwnedMutexGuard};
    /// use std::sync::Arc;
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let m = Arc::new(Mutex::new(Some(1)));
    /// let mut inner = OwnedMutexGuard::try_map(m.clone().lock_owned().await, Option::as_mut)
    ///     .unwrap();
    /// *inner = 2;
    /// drop(inner);
    /// assert_eq!(*m.lock().await, Some(2));
    /// # });
    /// ```
    pub fn try_map<U: ?Sized, F>(mut this: Self, f: F) -> Result<OwnedMappedMutexGuard<T, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let data: *mut U = match f(&mut *this) {
            Some(data) => data,
            None => return Err(this),
        };
        Ok(OwnedMappedMutexGuard::new(Self::into_mutex(this), data))
    }

    /// The mutex, which stays locked: the guard's unlock is skipped.
    fn into_mutex(this: Self) -> Arc<Mutex<T>> {
        let this = std::mem::ManuallyDrop::new(this);
        // SAFETY: `this` is never dropped nor used again, so the `Arc` is moved out of it
        // exactly once and the guard's `Drop` (which would unlock) never runs.
        unsafe { std::ptr::read(&this.lock) }
    }
}

impl<T: ?Sized> Deref for OwnedMutexGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.lock.track.get().touch_owner();
        // SAFETY: this guard holds the mutex (the raw mutex is exclusive): no other access
        // exists.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.lock.track.get().touch_owner();
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

impl<T: ?Sized + fmt::Display> fmt::Display for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}
