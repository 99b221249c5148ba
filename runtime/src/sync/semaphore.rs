//! [`Semaphore`]: tokio's fair counting semaphore, with named waits, known holders and
//! deadlock detection.
//!
//! Permits taken through a borrowed [`SemaphorePermit`] are recorded with the task that
//! took them. Owned permits ([`OwnedSemaphorePermit`]) usually move into the task they
//! admit, unseen, so they count as held by an unknown task. A wait for permits is proved
//! stuck only when every holder is stuck (any of them could give permits back) and no
//! permits were ever added with [`Semaphore::add_permits`] (then anyone could add more).

use super::acquire::{acquire, Request};
use super::track::{Held, Track, Want};
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
    track: Arc<Track>,
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
            track: Track::new(Primitive::Semaphore),
            sem: tokio::sync::Semaphore::new(permits),
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
        self.track.feed(|| self.sem.add_permits(n));
    }

    /// Removes up to `n` available permits; returns how many were removed.
    pub fn forget_permits(&self, n: usize) -> usize {
        self.sem.forget_permits(n)
    }

    /// Closes the semaphore: waiting and future acquires fail with [`AcquireError`].
    pub fn close(&self) {
        self.track.locked(|| self.sem.close());
    }

    /// Whether [`close`](Semaphore::close) was called.
    pub fn is_closed(&self) -> bool {
        self.sem.is_closed()
    }

    fn request(&self, n: u32, at: Site, known: bool) -> Request<'_> {
        Request {
            track: &self.track,
            sem: &self.sem,
            want: Want::Permits(n),
            op: WaitOp::SemaphoreAcquire,
            at,
            known,
        }
    }

    fn try_hold(&self, n: u32, at: Site, known: bool) -> Result<Held, TryAcquireError> {
        match self.track.try_hold(&self.sem, Want::Permits(n), at, known) {
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
        self.track.release(&self.sem, held, n as usize);
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
            self.sem.track.forget(held);
        }
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

    /// The semaphore the permits belong to.
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.0.sem
    }
}
