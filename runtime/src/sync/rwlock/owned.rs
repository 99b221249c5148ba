//! The guards of an [`RwLock`] behind an `Arc`: read, write, and a write guard of a part of
//! the data. Each keeps a [`Hold`] of the `Arc` (which keeps the lock alive) and a pointer
//! to (a part of) the data.
//!
//! An owned read guard can move into any task unseen, so its holder counts as unknown to
//! the deadlock walk; an owned write guard records the task that dereferences it as the
//! lock's owner.

use super::hold::{Hold, LockRef};
use super::RwLock;
use crate::sync::track::Held;
use std::sync::Arc;

/// A read lock on an [`RwLock`] behind an `Arc`, giving access to a part `U` of its data
/// `T` (all of it unless [mapped](OwnedRwLockReadGuard::map)); unlocks when dropped.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct OwnedRwLockReadGuard<T: ?Sized, U: ?Sized = T> {
    hold: Hold<Arc<RwLock<T>>>,
    /// Points into the lock's data, which the `Arc` keeps alive.
    data: *const U,
}

/// A write lock on an [`RwLock`] behind an `Arc`; unlocks when dropped. The task that
/// dereferences it becomes the lock's recorded owner.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct OwnedRwLockWriteGuard<T: ?Sized> {
    hold: Hold<Arc<RwLock<T>>>,
    /// Points to the lock's data, which the `Arc` keeps alive.
    data: *mut T,
}

/// A write lock on an [`RwLock`] behind an `Arc`, giving access to a part `U` of its data
/// `T` ([`OwnedRwLockWriteGuard::map`]); unlocks when dropped. The task that dereferences
/// it becomes the lock's recorded owner.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct OwnedRwLockMappedWriteGuard<T: ?Sized, U: ?Sized = T> {
    hold: Hold<Arc<RwLock<T>>>,
    /// Points into the lock's data, which the `Arc` keeps alive.
    data: *mut U,
}

// SAFETY: (this and the five below) as for the borrowed guards (`guard.rs`), and a guard
// may drop the last `Arc`, dropping `T` on its thread (`T: Send`). tokio's bounds.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Sync> Send for OwnedRwLockReadGuard<T, U> {}
// SAFETY: see above.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Send + Sync> Sync for OwnedRwLockReadGuard<T, U> {}
// SAFETY: see above.
unsafe impl<T: ?Sized + Send + Sync> Send for OwnedRwLockWriteGuard<T> {}
// SAFETY: see above.
unsafe impl<T: ?Sized + Send + Sync> Sync for OwnedRwLockWriteGuard<T> {}
// SAFETY: see above.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Send + Sync> Send
    for OwnedRwLockMappedWriteGuard<T, U>
{
}
// SAFETY: see above.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Send + Sync> Sync
    for OwnedRwLockMappedWriteGuard<T, U>
{
}

deref!([T: ?Sized, U: ?Sized] OwnedRwLockReadGuard<T, U>, U, read);
deref!([T: ?Sized] OwnedRwLockWriteGuard<T>, T, write, touch);
deref!([T: ?Sized, U: ?Sized] OwnedRwLockMappedWriteGuard<T, U>, U, write, touch);

impl<T: ?Sized> OwnedRwLockReadGuard<T> {
    pub(super) fn new(lock: Arc<RwLock<T>>, held: Held) -> OwnedRwLockReadGuard<T> {
        let data = lock.data.get();
        OwnedRwLockReadGuard::with(Hold::new(lock, held, 1), data)
    }
}

impl<T: ?Sized, U: ?Sized> OwnedRwLockReadGuard<T, U> {
    fn with(hold: Hold<Arc<RwLock<T>>>, data: *const U) -> OwnedRwLockReadGuard<T, U> {
        OwnedRwLockReadGuard { hold, data }
    }

    /// A read guard of the part of the data `f` picks, holding the same read lock.
    ///
    /// ```
    /// use goro::sync::{OwnedRwLockReadGuard, RwLock};
    /// use std::sync::Arc;
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let lock = Arc::new(RwLock::new((1, 2)));
    /// let second = OwnedRwLockReadGuard::map(lock.clone().read_owned().await, |p| &p.1);
    /// assert_eq!(goro::spawn(async move { *second }).await.unwrap(), 2);
    /// # });
    /// ```
    pub fn map<F, V: ?Sized>(this: Self, f: F) -> OwnedRwLockReadGuard<T, V>
    where
        F: FnOnce(&U) -> &V,
    {
        let data: *const V = f(&*this);
        OwnedRwLockReadGuard::with(this.hold, data)
    }

    /// [`map`](OwnedRwLockReadGuard::map) if `f` returns a part; else the guard back.
    pub fn try_map<F, V: ?Sized>(this: Self, f: F) -> Result<OwnedRwLockReadGuard<T, V>, Self>
    where
        F: FnOnce(&U) -> Option<&V>,
    {
        let data: *const V = match f(&*this) {
            Some(data) => data,
            None => return Err(this),
        };
        Ok(OwnedRwLockReadGuard::with(this.hold, data))
    }

    /// The lock this guard holds.
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.hold.lock
    }
}

impl<T: ?Sized> OwnedRwLockWriteGuard<T> {
    pub(super) fn new(lock: Arc<RwLock<T>>, held: Held) -> OwnedRwLockWriteGuard<T> {
        let (data, permits) = (lock.data.get(), lock.max_readers);
        OwnedRwLockWriteGuard {
            hold: Hold::new(lock, held, permits),
            data,
        }
    }

    /// A write guard of the part of the data `f` picks, holding the same write lock.
    ///
    /// ```
    /// use goro::sync::{OwnedRwLockWriteGuard, RwLock};
    /// use std::sync::Arc;
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let lock = Arc::new(RwLock::new((1, 2)));
    /// let mut first = OwnedRwLockWriteGuard::map(lock.clone().write_owned().await, |p| &mut p.0);
    /// goro::spawn(async move { *first = 7 }).await.unwrap();
    /// assert_eq!(*lock.read().await, (7, 2));
    /// # });
    /// ```
    pub fn map<F, U: ?Sized>(mut this: Self, f: F) -> OwnedRwLockMappedWriteGuard<T, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let data: *mut U = f(&mut *this);
        OwnedRwLockMappedWriteGuard::with(this.hold, data)
    }

    /// [`map`](OwnedRwLockWriteGuard::map) if `f` returns a part; else the guard back.
    pub fn try_map<F, U: ?Sized>(
        mut this: Self,
        f: F,
    ) -> Result<OwnedRwLockMappedWriteGuard<T, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let data: *mut U = match f(&mut *this) {
            Some(data) => data,
            None => return Err(this),
        };
        Ok(OwnedRwLockMappedWriteGuard::with(this.hold, data))
    }

    /// This guard as a mapped one of the whole data.
    pub fn into_mapped(this: Self) -> OwnedRwLockMappedWriteGuard<T> {
        OwnedRwLockMappedWriteGuard::with(this.hold, this.data)
    }

    /// [`RwLockWriteGuard::downgrade`](super::RwLockWriteGuard::downgrade) for an owned
    /// guard (the read guard's holder counts as unknown, like every owned read guard's).
    ///
    /// ```
    /// use std::sync::Arc;
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let lock = Arc::new(goro::sync::RwLock::new(1));
    /// let r = lock.clone().write_owned().await.downgrade();
    /// assert_eq!((*r, *lock.try_read().unwrap()), (1, 1));
    /// # });
    /// ```
    pub fn downgrade(self) -> OwnedRwLockReadGuard<T> {
        let OwnedRwLockWriteGuard { mut hold, data } = self;
        hold.downgrade(false);
        OwnedRwLockReadGuard::with(hold, data)
    }

    /// [`downgrade`](OwnedRwLockWriteGuard::downgrade) to a read guard of the part of the
    /// data `f` picks.
    ///
    /// ```
    /// use goro::sync::{OwnedRwLockWriteGuard, RwLock};
    /// use std::sync::Arc;
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let lock = Arc::new(RwLock::new((1, 2)));
    /// let w = lock.clone().write_owned().await;
    /// let first = OwnedRwLockWriteGuard::downgrade_map(w, |p| &p.0);
    /// assert_eq!((*first, lock.try_read().unwrap().1), (1, 2));
    /// # });
    /// ```
    pub fn downgrade_map<F, U: ?Sized>(this: Self, f: F) -> OwnedRwLockReadGuard<T, U>
    where
        F: FnOnce(&T) -> &U,
    {
        let data: *const U = f(&*this);
        let mut hold = this.hold;
        hold.downgrade(false);
        OwnedRwLockReadGuard::with(hold, data)
    }

    /// [`downgrade_map`](OwnedRwLockWriteGuard::downgrade_map) if `f` returns a part; else
    /// the write guard back.
    pub fn try_downgrade_map<F, U: ?Sized>(
        this: Self,
        f: F,
    ) -> Result<OwnedRwLockReadGuard<T, U>, Self>
    where
        F: FnOnce(&T) -> Option<&U>,
    {
        let data: *const U = match f(&*this) {
            Some(data) => data,
            None => return Err(this),
        };
        let mut hold = this.hold;
        hold.downgrade(false);
        Ok(OwnedRwLockReadGuard::with(hold, data))
    }

    /// The lock this guard holds.
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.hold.lock
    }
}

impl<T: ?Sized, U: ?Sized> OwnedRwLockMappedWriteGuard<T, U> {
    fn with(hold: Hold<Arc<RwLock<T>>>, data: *mut U) -> OwnedRwLockMappedWriteGuard<T, U> {
        OwnedRwLockMappedWriteGuard { hold, data }
    }

    /// A write guard of a further part of the data.
    pub fn map<F, V: ?Sized>(mut this: Self, f: F) -> OwnedRwLockMappedWriteGuard<T, V>
    where
        F: FnOnce(&mut U) -> &mut V,
    {
        let data: *mut V = f(&mut *this);
        OwnedRwLockMappedWriteGuard::with(this.hold, data)
    }

    /// [`map`](OwnedRwLockMappedWriteGuard::map) if `f` returns a part; else the guard back.
    pub fn try_map<F, V: ?Sized>(
        mut this: Self,
        f: F,
    ) -> Result<OwnedRwLockMappedWriteGuard<T, V>, Self>
    where
        F: FnOnce(&mut U) -> Option<&mut V>,
    {
        let data: *mut V = match f(&mut *this) {
            Some(data) => data,
            None => return Err(this),
        };
        Ok(OwnedRwLockMappedWriteGuard::with(this.hold, data))
    }

    /// The lock this guard holds.
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.hold.lock
    }
}

/// The owner record of a write guard's lock: the task using the guard holds it now.
pub(super) fn touch<T: ?Sized>(hold: &Hold<Arc<RwLock<T>>>) {
    hold.lock.track().touch_owner();
}
