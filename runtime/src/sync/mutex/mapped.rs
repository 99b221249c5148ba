//! Guards of a part of a [`Mutex`]'s data (`MutexGuard::map`, `OwnedMutexGuard::map`).
//!
//! A mapped guard holds the whole lock: the raw mutex stays locked and its owner record
//! stays as the guard it came from left it, until the mapped guard drops and unlocks (the
//! deadlock walk sees the holder the whole time). A borrowed mapped guard no longer knows
//! the data's type, so it keeps the raw mutex and its track instead of the `Mutex`; an
//! owned one keeps the `Arc<Mutex<T>>` alive and, like [`OwnedMutexGuard`](super::OwnedMutexGuard),
//! records the task that dereferences it as the owner.

use super::{unlock, Mutex, RawMutex, Track};
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// A held [`Mutex`] giving access to a part of its data ([`MutexGuard::map`]); unlocks
/// when dropped.
///
/// [`MutexGuard::map`]: super::MutexGuard::map
///
/// ```
/// use goro::sync::{MappedMutexGuard, Mutex, MutexGuard};
/// # goro::Runtime::new().unwrap().block_on(async {
/// let m = Mutex::new([0u8; 4]);
/// let tail: MappedMutexGuard<'_, [u8]> = MutexGuard::map(m.lock().await, |a| &mut a[2..]);
/// let mut last = MappedMutexGuard::map(tail, |s| &mut s[1]);
/// *last = 9;
/// drop(last);
/// assert_eq!(*m.lock().await, [0, 0, 0, 9]);
/// # });
/// ```
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MappedMutexGuard<'a, T: ?Sized> {
    raw: &'a RawMutex,
    track: &'a Track,
    /// Points into the locked mutex's data, which outlives `'a`.
    data: *mut T,
    _data: PhantomData<&'a mut T>,
}

// SAFETY: the guard is the unique user of `*data` while the lock is held; moving it moves
// that use (`T: Send`, as for `&mut T`). The raw mutex and track are `Sync`.
unsafe impl<T: ?Sized + Send> Send for MappedMutexGuard<'_, T> {}
// SAFETY: `&MappedMutexGuard` gives `&T` only.
unsafe impl<T: ?Sized + Sync> Sync for MappedMutexGuard<'_, T> {}

impl<'a, T: ?Sized> MappedMutexGuard<'a, T> {
    /// Takes over `lock`, which the caller holds and no longer unlocks.
    pub(super) fn new<V: ?Sized>(lock: &'a Mutex<V>, data: *mut T) -> MappedMutexGuard<'a, T> {
        MappedMutexGuard {
            raw: &lock.raw,
            track: lock.track.get(),
            data,
            _data: PhantomData,
        }
    }

    /// A guard of a further part of the data.
    pub fn map<U: ?Sized, F>(mut this: Self, f: F) -> MappedMutexGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let data: *mut U = f(&mut *this);
        this.remap(data)
    }

    /// [`map`](MappedMutexGuard::map) if `f` returns a part; else the guard back.
    pub fn try_map<U: ?Sized, F>(mut this: Self, f: F) -> Result<MappedMutexGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let data: *mut U = match f(&mut *this) {
            Some(data) => data,
            None => return Err(this),
        };
        Ok(this.remap(data))
    }

    /// The same lock guarding `data` (which points into the locked data).
    fn remap<U: ?Sized>(self, data: *mut U) -> MappedMutexGuard<'a, U> {
        let mapped = MappedMutexGuard {
            raw: self.raw,
            track: self.track,
            data,
            _data: PhantomData,
        };
        std::mem::forget(self);
        mapped
    }
}

impl<T: ?Sized> Deref for MappedMutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: `data` points into the data of a mutex this guard holds (the raw mutex is
        // exclusive), which lives for `'a`: no other access exists.
        unsafe { &*self.data }
    }
}

impl<T: ?Sized> DerefMut for MappedMutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this borrow unique.
        unsafe { &mut *self.data }
    }
}

impl<T: ?Sized> Drop for MappedMutexGuard<'_, T> {
    fn drop(&mut self) {
        unlock(self.raw, self.track);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MappedMutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MappedMutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// A held [`Mutex`] behind an `Arc`, giving access to a part `U` of its data `T`
/// ([`OwnedMutexGuard::map`]); unlocks when dropped. The task that dereferences it becomes
/// the mutex's recorded owner.
///
/// [`OwnedMutexGuard::map`]: super::OwnedMutexGuard::map
///
/// ```
/// use goro::sync::{Mutex, OwnedMappedMutexGuard, OwnedMutexGuard};
/// use std::sync::Arc;
/// # goro::Runtime::new().unwrap().block_on(async {
/// let m = Arc::new(Mutex::new(vec![(1, 'a')]));
/// let first = OwnedMutexGuard::map(m.clone().lock_owned().await, |v| &mut v[0]);
/// let mut letter = OwnedMappedMutexGuard::map(first, |pair| &mut pair.1);
/// *letter = 'b';
/// drop(letter);
/// assert_eq!(m.lock().await[0], (1, 'b'));
/// # });
/// ```
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct OwnedMappedMutexGuard<T: ?Sized, U: ?Sized = T> {
    lock: Arc<Mutex<T>>,
    /// Points into `lock`'s data, which the `Arc` keeps alive.
    data: *mut U,
}

// SAFETY: the guard is the unique user of the data while the lock is held; moving it moves
// that use (`U: Send`) and may drop the last `Arc` of the mutex, dropping `T` (`T: Send`).
unsafe impl<T: ?Sized + Send, U: ?Sized + Send> Send for OwnedMappedMutexGuard<T, U> {}
// SAFETY: `&OwnedMappedMutexGuard` gives `&U` only; tokio's bounds.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Send + Sync> Sync for OwnedMappedMutexGuard<T, U> {}

impl<T: ?Sized, U: ?Sized> OwnedMappedMutexGuard<T, U> {
    /// Takes over `lock`, which the caller holds and no longer unlocks.
    pub(super) fn new(lock: Arc<Mutex<T>>, data: *mut U) -> OwnedMappedMutexGuard<T, U> {
        OwnedMappedMutexGuard { lock, data }
    }

    /// A guard of a further part of the data.
    pub fn map<S: ?Sized, F>(mut this: Self, f: F) -> OwnedMappedMutexGuard<T, S>
    where
        F: FnOnce(&mut U) -> &mut S,
    {
        let data: *mut S = f(&mut *this);
        OwnedMappedMutexGuard::new(this.into_mutex(), data)
    }

    /// [`map`](OwnedMappedMutexGuard::map) if `f` returns a part; else the guard back.
    pub fn try_map<S: ?Sized, F>(mut this: Self, f: F) -> Result<OwnedMappedMutexGuard<T, S>, Self>
    where
        F: FnOnce(&mut U) -> Option<&mut S>,
    {
        let data: *mut S = match f(&mut *this) {
            Some(data) => data,
            None => return Err(this),
        };
        Ok(OwnedMappedMutexGuard::new(this.into_mutex(), data))
    }

    /// The mutex, which stays locked: the guard's unlock is skipped.
    fn into_mutex(self) -> Arc<Mutex<T>> {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped nor used again, so the `Arc` is moved out of it
        // exactly once and the guard's `Drop` (which would unlock) never runs.
        unsafe { std::ptr::read(&this.lock) }
    }
}

impl<T: ?Sized, U: ?Sized> Deref for OwnedMappedMutexGuard<T, U> {
    type Target = U;
    fn deref(&self) -> &U {
        self.lock.track.get().touch_owner();
        // SAFETY: `data` points into the data of the mutex this guard holds (exclusive) and
        // keeps alive: no other access exists.
        unsafe { &*self.data }
    }
}

impl<T: ?Sized, U: ?Sized> DerefMut for OwnedMappedMutexGuard<T, U> {
    fn deref_mut(&mut self) -> &mut U {
        self.lock.track.get().touch_owner();
        // SAFETY: as in `deref`, and `&mut self` makes this borrow unique.
        unsafe { &mut *self.data }
    }
}

impl<T: ?Sized, U: ?Sized> Drop for OwnedMappedMutexGuard<T, U> {
    fn drop(&mut self) {
        self.lock.unlock();
    }
}

impl<T: ?Sized, U: ?Sized + fmt::Debug> fmt::Debug for OwnedMappedMutexGuard<T, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized, U: ?Sized + fmt::Display> fmt::Display for OwnedMappedMutexGuard<T, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}
