//! The guards of a borrowed [`RwLock`]: read, write, and a write guard of a part of the
//! data. Each keeps a [`Hold`] of the lock and a pointer to (a part of) the data.

use super::hold::{Hold, Parts};
use super::RwLock;
use crate::sync::track::Held;
use std::marker::PhantomData;

/// A read lock on an [`RwLock`] (or a part of its data, after [`map`](RwLockReadGuard::map));
/// unlocks when dropped.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    hold: Hold<Parts<'a>>,
    /// Points into the lock's data, which outlives `'a`.
    data: *const T,
    _data: PhantomData<&'a T>,
}

/// A write lock on an [`RwLock`]; unlocks when dropped.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    hold: Hold<Parts<'a>>,
    /// Points to the lock's data, which outlives `'a`.
    data: *mut T,
    _data: PhantomData<&'a mut T>,
}

/// A write lock on an [`RwLock`] giving access to a part of its data
/// ([`RwLockWriteGuard::map`]); unlocks when dropped. Like the write guard it came from,
/// it holds the whole lock.
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockMappedWriteGuard<'a, T: ?Sized> {
    hold: Hold<Parts<'a>>,
    /// Points into the lock's data, which outlives `'a`.
    data: *mut T,
    _data: PhantomData<&'a mut T>,
}

// SAFETY: (this and the five below) a read guard shares `&T` with other readers (sending
// it needs `T: Sync`); a write guard is the unique user of the data, which it may hand to
// another thread mutably (`T: Send`) and shares as `&T` (`T: Sync`). tokio's bounds.
unsafe impl<T: ?Sized + Sync> Send for RwLockReadGuard<'_, T> {}
// SAFETY: see above.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLockReadGuard<'_, T> {}
// SAFETY: see above.
unsafe impl<T: ?Sized + Send + Sync> Send for RwLockWriteGuard<'_, T> {}
// SAFETY: see above.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLockWriteGuard<'_, T> {}
// SAFETY: see above.
unsafe impl<T: ?Sized + Send + Sync> Send for RwLockMappedWriteGuard<'_, T> {}
// SAFETY: see above.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLockMappedWriteGuard<'_, T> {}

deref!(['a, T: ?Sized] RwLockReadGuard<'a, T>, T, read);
deref!(['a, T: ?Sized] RwLockWriteGuard<'a, T>, T, write);
deref!(['a, T: ?Sized] RwLockMappedWriteGuard<'a, T>, T, write);

fn parts<T: ?Sized>(lock: &RwLock<T>) -> Parts<'_> {
    Parts {
        track: lock.track.get(),
        sem: &lock.sem,
    }
}

impl<'a, T: ?Sized> RwLockReadGuard<'a, T> {
    pub(super) fn new(lock: &'a RwLock<T>, held: Held) -> RwLockReadGuard<'a, T> {
        RwLockReadGuard::with(Hold::new(parts(lock), held, 1), lock.data.get())
    }

    fn with(hold: Hold<Parts<'a>>, data: *const T) -> RwLockReadGuard<'a, T> {
        RwLockReadGuard {
            hold,
            data,
            _data: PhantomData,
        }
    }

    /// A read guard of the part of the data `f` picks, holding the same read lock.
    ///
    /// ```
    /// use goro::sync::{RwLock, RwLockReadGuard};
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let lock = RwLock::new((1, "one"));
    /// let name = RwLockReadGuard::map(lock.read().await, |p| &p.1);
    /// assert_eq!(*name, "one");
    /// assert!(lock.try_write().is_err());
    /// # });
    /// ```
    pub fn map<F, U: ?Sized>(this: Self, f: F) -> RwLockReadGuard<'a, U>
    where
        F: FnOnce(&T) -> &U,
    {
        let data: *const U = f(&*this);
        RwLockReadGuard::with(this.hold, data)
    }

    /// [`map`](RwLockReadGuard::map) if `f` returns a part; else the guard back.
    ///
    /// ```
    /// use goro::sync::{RwLock, RwLockReadGuard};
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let lock = RwLock::new(vec![1, 2]);
    /// let guard = RwLockReadGuard::try_map(lock.read().await, |v| v.get(9)).unwrap_err();
    /// let last = RwLockReadGuard::try_map(guard, |v| v.last()).unwrap();
    /// assert_eq!(*last, 2);
    /// # });
    /// ```
    pub fn try_map<F, U: ?Sized>(this: Self, f: F) -> Result<RwLockReadGuard<'a, U>, Self>
    where
        F: FnOnce(&T) -> Option<&U>,
    {
        let data: *const U = match f(&*this) {
            Some(data) => data,
            None => return Err(this),
        };
        Ok(RwLockReadGuard::with(this.hold, data))
    }
}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    pub(super) fn new(lock: &'a RwLock<T>, held: Held) -> RwLockWriteGuard<'a, T> {
        let hold = Hold::new(parts(lock), held, lock.max_readers);
        RwLockWriteGuard {
            hold,
            data: lock.data.get(),
            _data: PhantomData,
        }
    }

    /// A write guard of the part of the data `f` picks, holding the same write lock.
    ///
    /// ```
    /// use goro::sync::{RwLock, RwLockWriteGuard};
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let lock = RwLock::new((1, 2));
    /// *RwLockWriteGuard::map(lock.write().await, |p| &mut p.0) = 5;
    /// assert_eq!(*lock.read().await, (5, 2));
    /// # });
    /// ```
    pub fn map<F, U: ?Sized>(mut this: Self, f: F) -> RwLockMappedWriteGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let data: *mut U = f(&mut *this);
        RwLockMappedWriteGuard::with(this.hold, data)
    }

    /// [`map`](RwLockWriteGuard::map) if `f` returns a part; else the guard back.
    ///
    /// ```
    /// use goro::sync::{RwLock, RwLockWriteGuard};
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let lock = RwLock::new(Some(1));
    /// *RwLockWriteGuard::try_map(lock.write().await, Option::as_mut).unwrap() = 3;
    /// assert_eq!(*lock.read().await, Some(3));
    /// # });
    /// ```
    pub fn try_map<F, U: ?Sized>(
        mut this: Self,
        f: F,
    ) -> Result<RwLockMappedWriteGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let data: *mut U = match f(&mut *this) {
            Some(data) => data,
            None => return Err(this),
        };
        Ok(RwLockMappedWriteGuard::with(this.hold, data))
    }

    /// This guard as a mapped one of the whole data.
    pub fn into_mapped(this: Self) -> RwLockMappedWriteGuard<'a, T> {
        RwLockMappedWriteGuard::with(this.hold, this.data)
    }

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
        let RwLockWriteGuard { mut hold, data, .. } = self;
        hold.downgrade(true);
        RwLockReadGuard::with(hold, data)
    }

    /// [`downgrade`](RwLockWriteGuard::downgrade) to a read guard of the part of the data
    /// `f` picks.
    ///
    /// ```
    /// use goro::sync::{RwLock, RwLockWriteGuard};
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let lock = RwLock::new((1, 2));
    /// let second = RwLockWriteGuard::downgrade_map(lock.write().await, |p| &p.1);
    /// assert_eq!((*second, lock.try_read().unwrap().0), (2, 1));
    /// # });
    /// ```
    pub fn downgrade_map<F, U: ?Sized>(this: Self, f: F) -> RwLockReadGuard<'a, U>
    where
        F: FnOnce(&T) -> &U,
    {
        let data: *const U = f(&*this);
        let mut hold = this.hold;
        hold.downgrade(true);
        RwLockReadGuard::with(hold, data)
    }

    /// [`downgrade_map`](RwLockWriteGuard::downgrade_map) if `f` returns a part; else the
    /// write guard back.
    pub fn try_downgrade_map<F, U: ?Sized>(this: Self, f: F) -> Result<RwLockReadGuard<'a, U>, Self>
    where
        F: FnOnce(&T) -> Option<&U>,
    {
        let data: *const U = match f(&*this) {
            Some(data) => data,
            None => return Err(this),
        };
        let mut hold = this.hold;
        hold.downgrade(true);
        Ok(RwLockReadGuard::with(hold, data))
    }
}

impl<'a, T: ?Sized> RwLockMappedWriteGuard<'a, T> {
    fn with(hold: Hold<Parts<'a>>, data: *mut T) -> RwLockMappedWriteGuard<'a, T> {
        RwLockMappedWriteGuard {
            hold,
            data,
            _data: PhantomData,
        }
    }

    /// A write guard of a further part of the data.
    pub fn map<F, U: ?Sized>(mut this: Self, f: F) -> RwLockMappedWriteGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let data: *mut U = f(&mut *this);
        RwLockMappedWriteGuard::with(this.hold, data)
    }

    /// [`map`](RwLockMappedWriteGuard::map) if `f` returns a part; else the guard back.
    pub fn try_map<F, U: ?Sized>(
        mut this: Self,
        f: F,
    ) -> Result<RwLockMappedWriteGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let data: *mut U = match f(&mut *this) {
            Some(data) => data,
            None => return Err(this),
        };
        Ok(RwLockMappedWriteGuard::with(this.hold, data))
    }
}
