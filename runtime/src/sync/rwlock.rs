//! [`RwLock`]: tokio's fair reader-writer lock, with named waits, known holders and
//! deadlock detection.
//!
//! Like tokio's, it is a semaphore of `max_readers` permits: a reader takes one, a writer
//! all of them. tokio's semaphore is first come, first served and a queued writer drains
//! the permits as they come back, so a reader that arrives after a queued writer waits for
//! it. That is what makes the RWR deadlock (a reader that waits behind a writer which
//! waits for that same reader) possible, and the deadlock walk follows it.

use super::acquire::{acquire, Request};
use super::mutex::TryLockError;
use super::track::{Held, Track, Want};
use goro_stats::{Primitive, Site, WaitOp};
use std::cell::UnsafeCell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::sync::Arc;
use tokio::sync::Semaphore;

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
    track: Arc<Track>,
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
            track: Track::new(Primitive::RwLock),
            sem: Semaphore::new(max_reads as usize),
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
            track: &self.track,
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
            .try_hold(&self.sem, req.want, req.at, req.known)
            .ok_or(TryLockError::would_block())
    }

    fn unlock(&self, held: Held) {
        let permits = match held {
            Held::Exclusive => self.max_readers,
            Held::Shared(_) => 1,
        };
        self.track.release(&self.sem, held, permits as usize);
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

macro_rules! guard {
    ($(#[$doc:meta])* $name:ident<$($lt:lifetime,)? T>, $lock:ty, $marker:ty, write: $write:tt, owned: $owned:tt) => {
        $(#[$doc])*
        #[must_use = "if unused the RwLock will immediately unlock"]
        pub struct $name<$($lt,)? T: ?Sized> {
            lock: $lock,
            held: Held,
            _data: PhantomData<$marker>,
        }

        impl<$($lt,)? T: ?Sized> $name<$($lt,)? T> {
            fn new(lock: $lock, held: Held) -> Self {
                $name { lock, held, _data: PhantomData }
            }
        }

        impl<$($lt,)? T: ?Sized> Deref for $name<$($lt,)? T> {
            type Target = T;
            fn deref(&self) -> &T {
                guard!(@touch $owned $write self);
                // SAFETY: this guard holds a read permit (no writer exists) or all of them
                // (it is the only user).
                unsafe { &*self.lock.data.get() }
            }
        }

        guard!(@mut $write $name<$($lt,)? T>, $owned);

        impl<$($lt,)? T: ?Sized> Drop for $name<$($lt,)? T> {
            fn drop(&mut self) {
                self.lock.unlock(self.held);
            }
        }

        impl<$($lt,)? T: ?Sized + fmt::Debug> fmt::Debug for $name<$($lt,)? T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&**self, f)
            }
        }
    };
    (@touch true true $self:ident) => { $self.lock.track.touch_owner() };
    (@touch $owned:tt $write:tt $self:ident) => {};
    (@mut true $name:ident<$($lt:lifetime,)? T>, $owned:tt) => {
        impl<$($lt,)? T: ?Sized> DerefMut for $name<$($lt,)? T> {
            fn deref_mut(&mut self) -> &mut T {
                guard!(@touch $owned true self);
                // SAFETY: this guard holds every permit: it is the only user, and
                // `&mut self` makes the borrow unique.
                unsafe { &mut *self.lock.data.get() }
            }
        }
    };
    (@mut false $name:ident<$($lt:lifetime,)? T>, $owned:tt) => {};
}

guard!(
    /// A read lock on an [`RwLock`]; unlocks when dropped.
    RwLockReadGuard<'a, T>, &'a RwLock<T>, &'a T, write: false, owned: false
);
guard!(
    /// A write lock on an [`RwLock`]; unlocks when dropped.
    RwLockWriteGuard<'a, T>, &'a RwLock<T>, &'a mut T, write: true, owned: false
);
guard!(
    /// A read lock on an [`RwLock`] behind an `Arc`; unlocks when dropped.
    OwnedRwLockReadGuard<T>, Arc<RwLock<T>>, Arc<T>, write: false, owned: true
);
guard!(
    /// A write lock on an [`RwLock`] behind an `Arc`; unlocks when dropped. The task that
    /// dereferences it becomes the lock's recorded owner.
    OwnedRwLockWriteGuard<T>, Arc<RwLock<T>>, Box<T>, write: true, owned: true
);

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    /// Turns the write lock into a read lock without letting a writer in between; waiting
    /// readers may then read too.
    ///
    /// ```
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let lock = goro::sync::RwLock::new(1);
    /// let mut w = lock.write().await;
    /// *w += 1;
    /// let r = w.downgrade();
    /// assert_eq!((*r, *lock.try_read().unwrap()), (2, 2));
    /// # });
    /// ```
    pub fn downgrade(self) -> RwLockReadGuard<'a, T> {
        let lock = self.lock;
        std::mem::forget(self);
        let held = lock
            .track
            .downgrade(&lock.sem, lock.max_readers as usize - 1, true);
        RwLockReadGuard::new(lock, held)
    }
}

impl<T: ?Sized> OwnedRwLockWriteGuard<T> {
    /// [`RwLockWriteGuard::downgrade`] for an owned guard (the read guard's holder counts as
    /// unknown, like every owned read guard's).
    pub fn downgrade(self) -> OwnedRwLockReadGuard<T> {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped nor used again, so the `Arc` is moved out of it
        // exactly once and the write guard's `Drop` (which would unlock) never runs.
        let lock = unsafe { std::ptr::read(&this.lock) };
        let held = lock
            .track
            .downgrade(&lock.sem, lock.max_readers as usize - 1, false);
        OwnedRwLockReadGuard::new(lock, held)
    }
}
