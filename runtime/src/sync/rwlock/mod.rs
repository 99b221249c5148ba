//! [`RwLock`]: tokio's fair reader-writer lock, with named waits, known holders and
//! deadlock detection.
//!
//! Like tokio's, it is a semaphore of `max_readers` permits: a reader takes one, a writer
//! all of them. tokio's semaphore is first come, first served and a queued writer drains
//! the permits as they come back, so a reader that arrives after a queued writer waits for
//! it. That is what makes the RWR deadlock (a reader that waits behind a writer which
//! waits for that same reader) possible, and the deadlock walk follows it.

//!
//! * `hold.rs`: a guard's hold on the lock (the holder's record and its permits), which
//!   moves from guard to guard when one is mapped or downgraded;
//! * `guard.rs`: the guards of a borrowed lock; `owned.rs`: those of a lock in an `Arc`;
//! * this file: the lock.

/// `Deref` (and `DerefMut` for a `write` guard), `Debug` and `Display` of the guard `$ty`
/// (generics `$gen`), whose `data` points to its `$target`; `$touch`: a fn called with the
/// guard's hold on each dereference (an owned write guard records its user as the owner).
macro_rules! deref {
    ([$($gen:tt)*] $ty:ty, $target:ident, $mode:ident $(, $touch:ident)?) => {
        impl<$($gen)*> std::ops::Deref for $ty {
            type Target = $target;
            fn deref(&self) -> &$target {
                $($touch(&self.hold);)?
                // SAFETY: `data` points into the data of the lock this guard's hold keeps
                // (borrowed for the guard's lifetime, or in an `Arc` it owns). The hold has
                // a read permit (no writer exists) or all of them (it is the only user).
                unsafe { &*self.data }
            }
        }

        deref!(@$mode [$($gen)*] $ty, $target $(, $touch)?);

        impl<$($gen)*> std::fmt::Debug for $ty
        where
            $target: std::fmt::Debug,
        {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Debug::fmt(&**self, f)
            }
        }

        impl<$($gen)*> std::fmt::Display for $ty
        where
            $target: std::fmt::Display,
        {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(&**self, f)
            }
        }
    };
    (@read [$($gen:tt)*] $ty:ty, $target:ident $(, $touch:ident)?) => {};
    (@write [$($gen:tt)*] $ty:ty, $target:ident $(, $touch:ident)?) => {
        impl<$($gen)*> std::ops::DerefMut for $ty {
            fn deref_mut(&mut self) -> &mut $target {
                $($touch(&self.hold);)?
                // SAFETY: the hold has every permit: this guard is the only user, and
                // `&mut self` makes the borrow unique.
                unsafe { &mut *self.data }
            }
        }
    };
}

mod guard;
mod hold;
mod owned;

use super::acquire::{acquire, Request};
use super::mutex::TryLockError;
use super::track::{Held, LazyTrack, Want};
use goro_stats::{Primitive, Site, WaitOp};
use std::cell::UnsafeCell;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::sync::Arc;
use tokio::sync::Semaphore;

pub use guard::{RwLockMappedWriteGuard, RwLockReadGuard, RwLockWriteGuard};
pub use owned::{OwnedRwLockMappedWriteGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard};

/// A lock's semaphore is private and never closed, so acquiring it cannot fail.
const NEVER_CLOSED: &str = "goro::sync: a lock's semaphore is never closed";

/// The most readers an [`RwLock::new`] admits at once (tokio's limit).
const MAX_READS: u32 = u32::MAX >> 3;

/// An asynchronous reader-writer lock with tokio's API and fairness: many readers or one
/// writer; waiters are served in order, so a writer is not starved by new readers.
///
/// Waits are named (`RwLock::read`, `RwLock::write`), the lock knows its holders, and lock
/// cycles through it are reported as deadlocks (see [`Mutex`](super::Mutex)).
///
/// ```
/// # goro::Runtime::new().unwrap().block_on(async {
/// let lock = goro::sync::RwLock::new(5);
/// {
///     let r1 = lock.read().await;
///     let r2 = lock.read().await;
///     assert_eq!(*r1 + *r2, 10);
/// }
/// *lock.write().await += 1;
/// assert_eq!(*lock.read().await, 6);
/// # });
/// ```
pub struct RwLock<T: ?Sized> {
    max_readers: u32,
    track: LazyTrack,
    sem: Semaphore,
    data: UnsafeCell<T>,
}

// SAFETY: the data is reached through guards only; a write guard is unique, read guards
// share `&T` (hence `T: Sync`), and the data may be used from any thread (`T: Send`).
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

impl<T> RwLock<T> {
    /// A new unlocked lock holding `value`.
    pub fn new(value: T) -> RwLock<T> {
        RwLock::with_max_readers(value, MAX_READS)
    }

    /// A new unlocked lock that admits at most `max_reads` readers at once.
    ///
    /// # Panics
    /// If `max_reads` is 0 or more than `u32::MAX >> 3` (tokio's limits).
    pub fn with_max_readers(value: T, max_reads: u32) -> RwLock<T> {
        assert!(
            (1..=MAX_READS).contains(&max_reads),
            "goro::sync::RwLock::with_max_readers: max_reads must be in 1..={MAX_READS}, not \
             {max_reads}"
        );
        RwLock {
            max_readers: max_reads,
            track: LazyTrack::made(Primitive::RwLock),
            sem: Semaphore::new(max_reads as usize),
            data: UnsafeCell::new(value),
        }
    }

    /// A new unlocked lock holding `value`, in a `const` (for statics).
    ///
    /// ```
    /// use goro::sync::RwLock;
    ///
    /// static ROUTES: RwLock<Vec<&str>> = RwLock::const_new(Vec::new());
    ///
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// ROUTES.write().await.push("/");
    /// assert_eq!(*ROUTES.read().await, ["/"]);
    /// # });
    /// ```
    pub const fn const_new(value: T) -> RwLock<T> {
        RwLock::const_with_max_readers(value, MAX_READS)
    }

    /// [`with_max_readers`](RwLock::with_max_readers) in a `const` (for statics).
    ///
    /// # Panics
    /// If `max_reads` is 0 or more than `u32::MAX >> 3` (at compile time in a `const`).
    pub const fn const_with_max_readers(value: T, max_reads: u32) -> RwLock<T> {
        assert!(
            max_reads >= 1 && max_reads <= MAX_READS,
            "goro::sync::RwLock::const_with_max_readers: max_reads must be in 1..=u32::MAX >> 3"
        );
        RwLock {
            max_readers: max_reads,
            track: LazyTrack::new(Primitive::RwLock),
            sem: Semaphore::const_new(max_reads as usize),
            data: UnsafeCell::new(value),
        }
    }

    /// The data, consuming the lock.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    fn request(&self, want: Want, op: WaitOp, at: Site, known: bool) -> Request<'_> {
        Request {
            track: self.track.get(),
            sem: &self.sem,
            want,
            op,
            at,
            known,
        }
    }

    fn reading(&self, at: Site, known: bool) -> Request<'_> {
        self.request(Want::Read, WaitOp::RwLockRead, at, known)
    }

    fn writing(&self, at: Site) -> Request<'_> {
        self.request(
            Want::Exclusive(self.max_readers),
            WaitOp::RwLockWrite,
            at,
            true,
        )
    }

    /// Locks for reading, waiting (as `RwLock::read`) while a writer holds the lock or is
    /// queued.
    #[track_caller]
    pub fn read(&self) -> impl Future<Output = RwLockReadGuard<'_, T>> {
        let req = self.reading(Location::caller(), true);
        async move {
            let held = acquire(req).await.expect(NEVER_CLOSED);
            RwLockReadGuard::new(self, held)
        }
    }

    /// Locks for writing, waiting (as `RwLock::write`) while anyone holds the lock.
    ///
    /// ```
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let lock = goro::sync::RwLock::new(vec![1]);
    /// lock.write().await.push(2);
    /// assert_eq!(*lock.read().await, [1, 2]);
    /// # });
    /// ```
    #[track_caller]
    pub fn write(&self) -> impl Future<Output = RwLockWriteGuard<'_, T>> {
        let req = self.writing(Location::caller());
        async move {
            let held = acquire(req).await.expect(NEVER_CLOSED);
            RwLockWriteGuard::new(self, held)
        }
    }

    /// Locks for reading from outside the runtime, blocking this thread until it may read
    /// (tokio's `blocking_read`; the reader counts as an unknown holder).
    ///
    /// # Panics
    /// When called inside a goro task or `block_on` (see
    /// [`Mutex::blocking_lock`](super::Mutex::blocking_lock)); use `read().await` there.
    ///
    /// ```
    /// use std::sync::Arc;
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let lock = Arc::new(goro::sync::RwLock::new(1));
    /// let l2 = lock.clone();
    /// let read = goro::task::spawn_blocking(move || *l2.blocking_read());
    /// assert_eq!(read.await.unwrap(), 1);
    /// # });
    /// ```
    #[track_caller]
    pub fn blocking_read(&self) -> RwLockReadGuard<'_, T> {
        let req = self.reading(Location::caller(), true);
        let held = goro_sched::block_thread_on("RwLock::blocking_read", acquire(req));
        RwLockReadGuard::new(self, held.expect(NEVER_CLOSED))
    }

    /// Locks for writing from outside the runtime, blocking this thread until it may write
    /// (tokio's `blocking_write`).
    ///
    /// # Panics
    /// When called inside a goro task or `block_on`; use `write().await` there.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let lock = Arc::new(goro::sync::RwLock::new(1));
    /// let l2 = lock.clone();
    /// std::thread::spawn(move || *l2.blocking_write() += 1)
    ///     .join()
    ///     .unwrap();
    /// assert_eq!(*lock.try_read().unwrap(), 2);
    /// ```
    #[track_caller]
    pub fn blocking_write(&self) -> RwLockWriteGuard<'_, T> {
        let req = self.writing(Location::caller());
        let held = goro_sched::block_thread_on("RwLock::blocking_write", acquire(req));
        RwLockWriteGuard::new(self, held.expect(NEVER_CLOSED))
    }

    /// Locks for reading if no writer holds or waits for the lock.
    #[track_caller]
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        let req = self.reading(Location::caller(), true);
        self.try_hold(req)
            .map(|held| RwLockReadGuard::new(self, held))
    }

    /// Locks for writing if the lock is free.
    #[track_caller]
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        let req = self.writing(Location::caller());
        self.try_hold(req)
            .map(|held| RwLockWriteGuard::new(self, held))
    }

    /// [`read`](RwLock::read) through an `Arc`; the guard keeps the lock alive. An owned
    /// read guard can move into any task unseen, so its holder counts as unknown to the
    /// deadlock walk.
    #[track_caller]
    pub fn read_owned(self: Arc<Self>) -> impl Future<Output = OwnedRwLockReadGuard<T>> {
        let at = Location::caller();
        async move {
            let held = acquire(self.reading(at, false)).await.expect(NEVER_CLOSED);
            OwnedRwLockReadGuard::new(self, held)
        }
    }

    /// [`write`](RwLock::write) through an `Arc`; the guard keeps the lock alive (the
    /// task that dereferences it becomes the recorded owner).
    #[track_caller]
    pub fn write_owned(self: Arc<Self>) -> impl Future<Output = OwnedRwLockWriteGuard<T>> {
        let at = Location::caller();
        async move {
            let held = acquire(self.writing(at)).await.expect(NEVER_CLOSED);
            OwnedRwLockWriteGuard::new(self, held)
        }
    }

    /// [`try_read`](RwLock::try_read) through an `Arc`.
    #[track_caller]
    pub fn try_read_owned(self: Arc<Self>) -> Result<OwnedRwLockReadGuard<T>, TryLockError> {
        let req = self.reading(Location::caller(), false);
        let held = self.try_hold(req)?;
        Ok(OwnedRwLockReadGuard::new(self, held))
    }

    /// [`try_write`](RwLock::try_write) through an `Arc`.
    #[track_caller]
    pub fn try_write_owned(self: Arc<Self>) -> Result<OwnedRwLockWriteGuard<T>, TryLockError> {
        let req = self.writing(Location::caller());
        let held = self.try_hold(req)?;
        Ok(OwnedRwLockWriteGuard::new(self, held))
    }

    /// The data, through a unique borrow (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    fn try_hold(&self, req: Request<'_>) -> Result<Held, TryLockError> {
        self.track
            .get()
            .try_hold(&self.sem, req.want, req.at, req.known)
            .ok_or(TryLockError::would_block())
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> RwLock<T> {
        RwLock::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(value: T) -> RwLock<T> {
        RwLock::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Ok(guard) => d.field("data", &&*guard),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}
