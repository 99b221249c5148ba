//! [`Semaphore`]: tokio's fair counting semaphore, with named waits, known holders and
//! deadlock detection.
//!
//! Permits taken through a borrowed [`SemaphorePermit`] are recorded with the task that
//! took them. Owned permits ([`OwnedSemaphorePermit`]) usually move into the task they
//! admit, unseen, so they count as held by an unknown task. A wait for permits is proved
//! stuck only when every holder is stuck (any of them could give permits back) and no
//! permits were ever added with [`Semaphore::add_permits`] (then anyone could add more).

use super::acquire::{acquire, Request};
use super::track::{Held, LazyTrack, Want};
use goro_stats::{Primitive, Site, WaitOp};
use std::future::Future;
use std::ops::Deref;
use std::panic::Location;
use std::sync::Arc;

pub use tokio::sync::{AcquireError, TryAcquireError};

/// A counting semaphore with tokio's API: `acquire().await` waits (as
/// `Semaphore::acquire`) for a permit, which goes back when dropped. Waiters are served in
/// order.
///
/// ```
/// use goro::sync::Semaphore;
/// use std::sync::Arc;
///
/// # goro::Runtime::new().unwrap().block_on(async {
/// let sem = Arc::new(Semaphore::new(2));
/// let a = sem.acquire().await.unwrap();
/// let _b = sem.acquire().await.unwrap();
/// assert_eq!(sem.available_permits(), 0);
/// assert!(sem.try_acquire().is_err());
/// drop(a);
/// let owned = sem.clone().acquire_owned().await.unwrap();
/// goro::spawn(async move { drop(owned) }).await.unwrap();
/// assert_eq!(sem.available_permits(), 1);
/// # });
/// ```
#[derive(Debug)]
pub struct Semaphore {
    track: LazyTrack,
    sem: tokio::sync::Semaphore,
}

impl Semaphore {
    /// The most permits a semaphore can hold.
    pub const MAX_PERMITS: usize = tokio::sync::Semaphore::MAX_PERMITS;

    /// A semaphore with `permits` permits.
    ///
    /// # Panics
    /// If `permits` exceeds [`Semaphore::MAX_PERMITS`].
    pub fn new(permits: usize) -> Semaphore {
        Semaphore {
            track: LazyTrack::made(Primitive::Semaphore),
            sem: tokio::sync::Semaphore::new(permits),
        }
    }

    /// A semaphore with `permits` permits, in a `const` (for statics).
    ///
    /// # Panics
    /// If `permits` exceeds [`Semaphore::MAX_PERMITS`] (at compile time in a `const`).
    ///
    /// ```
    /// use goro::sync::Semaphore;
    ///
    /// static CONNECTIONS: Semaphore = Semaphore::const_new(2);
    ///
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let _a = CONNECTIONS.acquire().await.unwrap();
    /// assert_eq!(CONNECTIONS.available_permits(), 1);
    /// # });
    /// ```
    pub const fn const_new(permits: usize) -> Semaphore {
        Semaphore {
            track: LazyTrack::new(Primitive::Semaphore),
            sem: tokio::sync::Semaphore::const_new(permits),
        }
    }

    /// Permits available now.
    pub fn available_permits(&self) -> usize {
        self.sem.available_permits()
    }

    /// Adds `n` permits (waking waiters they satisfy).
    ///
    /// # Panics
    /// If the total would exceed [`Semaphore::MAX_PERMITS`].
    pub fn add_permits(&self, n: usize) {
        self.track.get().feed(|| self.sem.add_permits(n));
    }

    /// Removes up to `n` available permits; returns how many were removed.
    pub fn forget_permits(&self, n: usize) -> usize {
        self.sem.forget_permits(n)
    }

    /// Closes the semaphore: waiting and future acquires fail with [`AcquireError`].
    pub fn close(&self) {
        self.track.get().locked(|| self.sem.close());
    }

    /// Whether [`close`](Semaphore::close) was called.
    pub fn is_closed(&self) -> bool {
        self.sem.is_closed()
    }

    fn request(&self, n: u32, at: Site, known: bool) -> Request<'_> {
        Request {
            track: self.track.get(),
            sem: &self.sem,
            want: Want::Permits(n),
            op: WaitOp::SemaphoreAcquire,
            at,
            known,
        }
    }

    fn try_hold(&self, n: u32, at: Site, known: bool) -> Result<Held, TryAcquireError> {
        match self
            .track
            .get()
            .try_hold(&self.sem, Want::Permits(n), at, known)
        {
            Some(held) => Ok(held),
            None if self.sem.is_closed() => Err(TryAcquireError::Closed),
            None => Err(TryAcquireError::NoPermits),
        }
    }

    /// Waits for one permit.
    #[track_caller]
    pub fn acquire(&self) -> impl Future<Output = Result<SemaphorePermit<'_>, AcquireError>> {
        self.acquire_at(1, Location::caller())
    }

    /// Waits for `n` permits (taken all at once).
    #[track_caller]
    pub fn acquire_many(
        &self,
        n: u32,
    ) -> impl Future<Output = Result<SemaphorePermit<'_>, AcquireError>> {
        self.acquire_at(n, Location::caller())
    }

    fn acquire_at(
        &self,
        n: u32,
        at: Site,
    ) -> impl Future<Output = Result<SemaphorePermit<'_>, AcquireError>> {
        let req = self.request(n, at, true);
        async move {
            let held = acquire(req).await?;
            Ok(SemaphorePermit::new(self, held, n))
        }
    }

    /// Waits for one permit from outside the runtime, blocking this thread (tokio's
    /// `blocking_acquire`; the permit's holder counts as unknown).
    ///
    /// # Panics
    /// When called inside a goro task or `block_on` (see
    /// [`Mutex::blocking_lock`](super::Mutex::blocking_lock)); use `acquire().await` there.
    ///
    /// ```
    /// let sem = goro::sync::Semaphore::new(1);
    /// let permit = sem.blocking_acquire().unwrap();
    /// assert_eq!(sem.available_permits(), 0);
    /// drop(permit);
    /// ```
    #[track_caller]
    pub fn blocking_acquire(&self) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.blocking_acquire_at(1, Location::caller(), "Semaphore::blocking_acquire")
    }

    /// Waits for `n` permits from outside the runtime, blocking this thread.
    ///
    /// # Panics
    /// When called inside a goro task or `block_on`.
    #[track_caller]
    pub fn blocking_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.blocking_acquire_at(n, Location::caller(), "Semaphore::blocking_acquire_many")
    }

    fn blocking_acquire_at(
        &self,
        n: u32,
        at: Site,
        what: &str,
    ) -> Result<SemaphorePermit<'_>, AcquireError> {
        goro_sched::block_thread_on(what, self.acquire_at(n, at))
    }

    /// [`blocking_acquire`](Semaphore::blocking_acquire) of a permit owned through an
    /// `Arc`.
    ///
    /// # Panics
    /// When called inside a goro task or `block_on`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let sem = Arc::new(goro::sync::Semaphore::new(1));
    /// let s2 = sem.clone();
    /// let permit = goro::task::spawn_blocking(move || s2.blocking_acquire_owned().unwrap())
    ///     .await
    ///     .unwrap();
    /// assert_eq!((permit.num_permits(), sem.available_permits()), (1, 0));
    /// # });
    /// ```
    #[track_caller]
    pub fn blocking_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, AcquireError> {
        let at = Location::caller();
        let what = "Semaphore::blocking_acquire_owned";
        goro_sched::block_thread_on(what, self.acquire_many_owned_at(1, at))
    }

    /// [`blocking_acquire_many`](Semaphore::blocking_acquire_many) of permits owned
    /// through an `Arc`.
    ///
    /// # Panics
    /// When called inside a goro task or `block_on`.
    #[track_caller]
    pub fn blocking_acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, AcquireError> {
        let at = Location::caller();
        let what = "Semaphore::blocking_acquire_many_owned";
        goro_sched::block_thread_on(what, self.acquire_many_owned_at(n, at))
    }

    /// Takes one permit if one is available.
    #[track_caller]
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if they are available.
    #[track_caller]
    pub fn try_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        let held = self.try_hold(n, Location::caller(), true)?;
        Ok(SemaphorePermit::new(self, held, n))
    }

    /// Waits for one permit owned through an `Arc` (it can move into another task).
    #[track_caller]
    pub fn acquire_owned(
        self: Arc<Self>,
    ) -> impl Future<Output = Result<OwnedSemaphorePermit, AcquireError>> {
        self.acquire_many_owned_at(1, Location::caller())
    }

    /// Waits for `n` permits owned through an `Arc`.
    #[track_caller]
    pub fn acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> impl Future<Output = Result<OwnedSemaphorePermit, AcquireError>> {
        self.acquire_many_owned_at(n, Location::caller())
    }

    async fn acquire_many_owned_at(
        self: Arc<Self>,
        n: u32,
        at: Site,
    ) -> Result<OwnedSemaphorePermit, AcquireError> {
        let held = acquire(self.request(n, at, false)).await?;
        Ok(OwnedSemaphorePermit::new(self, held, n))
    }

    /// Takes one owned permit if one is available.
    #[track_caller]
    pub fn try_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_acquire_many_owned(1)
    }

    /// Takes `n` owned permits if they are available.
    #[track_caller]
    pub fn try_acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        let held = self.try_hold(n, Location::caller(), false)?;
        Ok(OwnedSemaphorePermit::new(self, held, n))
    }

    fn give_back(&self, held: Held, n: u32) {
        self.track.get().release(&self.sem, held, n as usize);
    }
}

/// Permits taken from the semaphore `S` points to; they go back when dropped.
#[derive(Debug)]
struct Permits<S: Deref<Target = Semaphore>> {
    sem: S,
    /// `None` once forgotten.
    held: Option<Held>,
    permits: u32,
}

impl<S: Deref<Target = Semaphore>> Permits<S> {
    fn new(sem: S, held: Held, permits: u32) -> Permits<S> {
        Permits {
            sem,
            held: Some(held),
            permits,
        }
    }

    fn forget(&mut self) {
        if let Some(held) = self.held.take() {
            self.sem.track.get().forget(held);
        }
    }

    /// Takes over `other`'s permits (of the same semaphore).
    #[track_caller]
    fn merge(&mut self, mut other: Permits<S>) {
        assert!(
            std::ptr::eq(&*self.sem, &*other.sem),
            "goro::sync: merging permits of different semaphores"
        );
        let total = self.permits.checked_add(other.permits);
        let total = total.expect("goro::sync: merged permits would exceed u32::MAX");
        if let Some(held) = other.held.take() {
            self.sem.track.get().forget(held);
            self.permits = total;
        }
    }

    /// `n` of these permits as separate ones (recorded with the same holder), if there are
    /// that many.
    fn split(&mut self, n: usize) -> Option<Permits<S>>
    where
        S: Clone,
    {
        let n = u32::try_from(n).ok().filter(|&n| n <= self.permits)?;
        let held = self.sem.track.get().split(self.held?);
        self.permits -= n;
        Some(Permits::new(self.sem.clone(), held, n))
    }
}

impl<S: Deref<Target = Semaphore>> Drop for Permits<S> {
    fn drop(&mut self) {
        if let Some(held) = self.held.take() {
            self.sem.give_back(held, self.permits);
        }
    }
}

/// Permits of a [`Semaphore`]; they go back when dropped.
#[must_use = "permits go back to the semaphore at once if unused"]
#[derive(Debug)]
pub struct SemaphorePermit<'a>(Permits<&'a Semaphore>);

impl<'a> SemaphorePermit<'a> {
    fn new(sem: &'a Semaphore, held: Held, permits: u32) -> SemaphorePermit<'a> {
        SemaphorePermit(Permits::new(sem, held, permits))
    }

    /// Keeps the permits out of the semaphore for good.
    pub fn forget(mut self) {
        self.0.forget();
    }

    /// How many permits this holds.
    pub fn num_permits(&self) -> usize {
        self.0.permits as usize
    }

    /// Takes over `other`'s permits: both go back together when this drops.
    ///
    /// # Panics
    /// If `other` is of another semaphore, or the two hold more than `u32::MAX` permits.
    ///
    /// ```
    /// let sem = goro::sync::Semaphore::new(3);
    /// let mut a = sem.try_acquire().unwrap();
    /// a.merge(sem.try_acquire_many(2).unwrap());
    /// assert_eq!(a.num_permits(), 3);
    /// drop(a);
    /// assert_eq!(sem.available_permits(), 3);
    /// ```
    #[track_caller]
    pub fn merge(&mut self, other: Self) {
        self.0.merge(other.0);
    }

    /// Splits `n` permits off into a permit of their own; `None` if this holds fewer.
    ///
    /// ```
    /// let sem = goro::sync::Semaphore::new(3);
    /// let mut a = sem.try_acquire_many(3).unwrap();
    /// let b = a.split(1).unwrap();
    /// assert!(a.split(5).is_none());
    /// drop(b);
    /// assert_eq!((a.num_permits(), sem.available_permits()), (2, 1));
    /// ```
    pub fn split(&mut self, n: usize) -> Option<Self> {
        self.0.split(n).map(SemaphorePermit)
    }

    /// The semaphore the permits belong to.
    pub fn semaphore(&self) -> &Semaphore {
        self.0.sem
    }
}

/// Permits of a [`Semaphore`] behind an `Arc`; they go back when dropped.
#[must_use = "permits go back to the semaphore at once if unused"]
#[derive(Debug)]
pub struct OwnedSemaphorePermit(Permits<Arc<Semaphore>>);

impl OwnedSemaphorePermit {
    fn new(sem: Arc<Semaphore>, held: Held, permits: u32) -> OwnedSemaphorePermit {
        OwnedSemaphorePermit(Permits::new(sem, held, permits))
    }

    /// Keeps the permits out of the semaphore for good.
    pub fn forget(mut self) {
        self.0.forget();
    }

    /// How many permits this holds.
    pub fn num_permits(&self) -> usize {
        self.0.permits as usize
    }

    /// Takes over `other`'s permits: both go back together when this drops.
    ///
    /// # Panics
    /// If `other` is of another semaphore, or the two hold more than `u32::MAX` permits.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(goro::sync::Semaphore::new(2));
    /// let mut a = sem.clone().try_acquire_owned().unwrap();
    /// a.merge(sem.clone().try_acquire_owned().unwrap());
    /// assert_eq!((a.num_permits(), sem.available_permits()), (2, 0));
    /// ```
    #[track_caller]
    pub fn merge(&mut self, other: Self) {
        self.0.merge(other.0);
    }

    /// Splits `n` permits off into a permit of their own; `None` if this holds fewer.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(goro::sync::Semaphore::new(2));
    /// let mut a = sem.clone().try_acquire_many_owned(2).unwrap();
    /// drop(a.split(1).unwrap());
    /// assert_eq!((a.num_permits(), sem.available_permits()), (1, 1));
    /// ```
    pub fn split(&mut self, n: usize) -> Option<Self> {
        self.0.split(n).map(OwnedSemaphorePermit)
    }

    /// The semaphore the permits belong to.
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.0.sem
    }
}
