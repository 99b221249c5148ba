//! A lock's holders and waiters, kept next to the lock itself.
//!
//! Every `RwLock` and `Semaphore` of `goro::sync` is a tokio semaphore plus a [`Track`]; a
//! `Mutex` is goro's own lock (`mutex/raw.rs`) plus a `Track`. The track knows:
//!
//! * the **owner**: the task holding it exclusively (a `Mutex`, an `RwLock` writer) and
//!   where it acquired it, in two atomics. A lock stores them, an unlock clears the owner
//!   and reads one counter: no lock, no allocation.
//! * the **shared holders** (`RwLock` readers, semaphore permits) and the **waiters**, in
//!   the side state behind a `parking_lot` mutex. Shared acquires and releases, and every
//!   change of a waiter, happen under it.
//!
//! Task id 0 means "not known": the holder is not a goro task (inside `block_on`), or the
//! guard is an owned one whose possessor cannot be known (owned read guards and owned
//! permits can be moved into other tasks unseen). An unknown holder never closes a cycle.
//!
//! ## Why the walk can trust what it reads
//!
//! The deadlock walk (`deadlock.rs`) proves a cycle with every involved side mutex held.
//! While they are held, nothing it reads can change:
//!
//! * A shared holder is added and removed (and its permits given back to tokio, which hands
//!   them to waiters and wakes them) under the side mutex, so the shared holders are exact
//!   and no grant happens.
//! * The owner is recorded after the lock was granted and cleared before it is given
//!   back, so a recorded owner really holds it; if the walk sees the owner, the owner's
//!   unlock will give the lock back under the side mutex (`owner.rs` tells why), so no
//!   grant happens behind the walk's back.
//! * A waiter's edge is added, replaced and removed under the side mutex; a wake (a grant
//!   from a release elsewhere, a close) sets the edge's `woken` flag before the wake, and
//!   an edge that was woken does not count.
//! * Except on a `Mutex` ([`Track::waits_unlocked`]), whose contended lock takes no side
//!   mutex: it queues on its own lock, then lists its edge (in the edge map only: no
//!   `Mutex` walk reads the side state's waiters), and unlists it once it holds the lock;
//!   and its unlock takes the side mutex only while a walk watches the lock (`owner.rs`).
//!   What the walk relies on still holds. A grant on a lock whose owner the walk read comes from that
//!   owner's unlock, which sees the walk's watch and waits for the side mutex: not during
//!   the proof. A grant from an unlock before that read leaves the lock without a known
//!   owner until the new owner records itself after its edge is gone, and a lock without
//!   a known owner keeps no one waiting in a walk: so a `Mutex` edge needs no `woken` flag
//!   (it is never woken: the lock's queue wakes the task's own waker). An edge goes away
//!   only once its task holds the lock, or when the lock future is dropped.
//!
//! `loom-tests/src/models/lock_owner.rs` checks the unlock-versus-walk protocol (`owner.rs`).

use super::defer;
use super::edge::{self, Edge, EdgeId};
use super::owner::OwnerWord;
use goro_stats::{Primitive, Site};
use parking_lot::{Mutex, MutexGuard};
use std::panic::Location;
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering::Relaxed};
use std::sync::{Arc, Once, OnceLock};
use tokio::sync::Semaphore;

/// What an acquire asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Want {
    /// The whole lock, which is this many permits: `Mutex::lock` (1), `RwLock::write`
    /// (its maximum of readers).
    Exclusive(u32),
    /// One read permit: `RwLock::read`.
    Read,
    /// This many permits of a `Semaphore`.
    Permits(u32),
}

/// A shared holder: a read guard or semaphore permits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Holder {
    token: u64,
    pub(crate) task: u64,
    pub(crate) site: Site,
}

/// The side state, behind the side mutex.
#[derive(Default)]
pub(crate) struct Side {
    pub(crate) shared: Vec<Holder>,
    next_token: u64,
    pub(crate) waiters: Vec<Arc<Edge>>,
    /// Permits were added by `Semaphore::add_permits`: holders are not the only source of
    /// permits, so a semaphore wait is never proved stuck.
    pub(crate) fed: bool,
}

/// The side mutex held (see [`Track::side`]). Fields drop in order: the mutex is
/// unlocked before the deferred wakes run.
pub(crate) struct SideGuard<'a> {
    guard: MutexGuard<'a, Side>,
    _deferring: defer::Deferring,
}

impl std::ops::Deref for SideGuard<'_> {
    type Target = Side;
    fn deref(&self) -> &Side {
        &self.guard
    }
}

impl std::ops::DerefMut for SideGuard<'_> {
    fn deref_mut(&mut self) -> &mut Side {
        &mut self.guard
    }
}

/// How a lock is held by one guard: which record to clear when it is released.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Held {
    /// The owner record.
    Exclusive,
    /// The shared holder with this token.
    Shared(u64),
}

/// What blocks a waiter, as the walk sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Blockers {
    /// The waiter is stuck if any of these tasks is.
    Any(Vec<u64>),
    /// The waiter is stuck if all of these (at least one) are.
    All(Vec<u64>),
    /// Cannot be proved stuck.
    Unknown,
}

/// The holders and waiters of one lock; see the module docs.
pub(crate) struct Track {
    owner: Owner,
    pub(crate) kind: Primitive,
    side: Mutex<Side>,
}

/// The exclusive owner and where it acquired the lock (see the module docs).
struct Owner {
    word: OwnerWord,
    site: AtomicPtr<Location<'static>>,
}

/// A watch of a lock's owner (`owner.rs`), for as long as it lives.
pub(crate) struct Watch<'a>(&'a Track);

impl Drop for Watch<'_> {
    fn drop(&mut self) {
        self.0.owner.word.unwatch();
    }
}

impl std::fmt::Debug for Track {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Track")
            .field("kind", &self.kind)
            .field("owner", &self.owner())
            .finish_non_exhaustive()
    }
}

/// The id of the task being polled on this thread, 0 outside a goro task.
#[inline]
pub(crate) fn current_task() -> u64 {
    goro_sched::current_task_id().map_or(0, |id| id.as_u64())
}

/// A lock's [`Track`], made on first use, so that the lock can be made in a `const`
/// (`Semaphore::const_new`, `RwLock::const_new`); a lock made by `new` makes it at once.
pub(crate) struct LazyTrack {
    kind: Primitive,
    track: OnceLock<Arc<Track>>,
}

impl LazyTrack {
    /// A track not made yet.
    pub(crate) const fn new(kind: Primitive) -> LazyTrack {
        LazyTrack {
            kind,
            track: OnceLock::new(),
        }
    }

    /// A track made now.
    pub(crate) fn made(kind: Primitive) -> LazyTrack {
        LazyTrack {
            kind,
            track: OnceLock::from(Track::new(kind)),
        }
    }

    /// The track, made now if it was not yet.
    #[inline]
    pub(crate) fn get(&self) -> &Arc<Track> {
        self.track.get_or_init(|| Track::new(self.kind))
    }
}

impl std::fmt::Debug for LazyTrack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.get(), f)
    }
}

impl Track {
    pub(crate) fn new(kind: Primitive) -> Arc<Track> {
        static HOOK: Once = Once::new();
        HOOK.call_once(|| {
            goro_sched::task::set_lock_wait_hook(super::deadlock::on_lock_wait);
        });
        Arc::new(Track {
            owner: Owner {
                word: OwnerWord::new(),
                site: AtomicPtr::new(ptr::null_mut()),
            },
            kind,
            side: Mutex::new(Side::default()),
        })
    }

    /// This lock's id in reports.
    pub(crate) fn id(self: &Arc<Self>) -> u64 {
        Arc::as_ptr(self) as u64
    }

    /// Locks the side mutex; wakes of waiters are deferred until it is unlocked
    /// (`defer.rs`).
    #[inline]
    pub(crate) fn side(&self) -> SideGuard<'_> {
        let deferring = defer::enter();
        SideGuard {
            guard: self.side.lock(),
            _deferring: deferring,
        }
    }

    /// The exclusive owner (0: none or unknown) and where it acquired the lock.
    pub(crate) fn owner(&self) -> (u64, Option<Site>) {
        let task = self.owner.word.get();
        // SAFETY: a non-null pointer here was stored from a `&'static Location`.
        let site = unsafe { self.owner.site.load(Relaxed).as_ref() };
        (task, site)
    }

    /// The exclusive owner as a hint, read without writing (0: none or unknown).
    #[inline]
    pub(crate) fn owner_hint(&self) -> u64 {
        self.owner.word.peek()
    }

    /// Watches the owner (`owner.rs`) until the returned guard is dropped: an unlock then
    /// gives the lock back under the side mutex. Before reading the owner under it.
    pub(crate) fn watch(&self) -> Watch<'_> {
        self.owner.word.watch();
        Watch(self)
    }

    /// Records the owner of a lock just granted exclusively.
    #[inline]
    pub(crate) fn set_owner(&self, task: u64, at: Site) {
        self.owner.site.store(ptr::from_ref(at).cast_mut(), Relaxed);
        self.owner.word.set(task);
    }

    /// An owned guard is used by a task: it holds the lock now (the guard may have moved).
    #[inline]
    pub(crate) fn touch_owner(&self) {
        self.owner.word.touch(current_task());
    }

    /// Takes `want` without waiting if tokio has it free, recording the holder.
    #[inline]
    pub(crate) fn try_hold(
        &self,
        sem: &Semaphore,
        want: Want,
        at: Site,
        known: bool,
    ) -> Option<Held> {
        match want {
            Want::Exclusive(n) => {
                sem.try_acquire_many(n).ok()?.forget();
                self.set_owner(if known { current_task() } else { 0 }, at);
                Some(Held::Exclusive)
            }
            Want::Read | Want::Permits(_) => {
                let mut side = self.side();
                sem.try_acquire_many(want.permits()).ok()?.forget();
                Some(self.add_shared(&mut side, known, at))
            }
        }
    }

    fn add_shared(&self, side: &mut Side, known: bool, at: Site) -> Held {
        let task = if known { current_task() } else { 0 };
        Self::push_shared(side, task, at)
    }

    fn push_shared(side: &mut Side, task: u64, site: Site) -> Held {
        side.next_token += 1;
        let token = side.next_token;
        side.shared.push(Holder { token, task, site });
        Held::Shared(token)
    }

    /// Records the holder of a lock tokio granted to a waiter, and unregisters the
    /// waiter's edge, in one step under the side mutex (`side` is its guard).
    pub(crate) fn granted(
        &self,
        side: &mut Side,
        edge: Option<EdgeId>,
        want: Want,
        at: Site,
        known: bool,
    ) -> Held {
        if let Some(edge) = edge {
            self.unregister(Some(side), edge);
        }
        match want {
            Want::Exclusive(_) => {
                self.set_owner(if known { current_task() } else { 0 }, at);
                Held::Exclusive
            }
            Want::Read | Want::Permits(_) => self.add_shared(side, known, at),
        }
    }

    /// Gives `permits` back to `sem` and clears the record of `held`.
    #[inline]
    pub(crate) fn release(&self, sem: &Semaphore, held: Held, permits: usize) {
        match held {
            Held::Exclusive => self.release_exclusive(|| sem.add_permits(permits)),
            Held::Shared(token) => {
                let mut side = self.side();
                side.shared.retain(|h| h.token != token);
                sem.add_permits(permits);
            }
        }
    }

    /// Clears the owner, then runs `give_back` (which gives the lock back and may grant it
    /// to a waiter): under the side mutex while a walk watches the lock (`owner.rs`).
    #[inline]
    pub(crate) fn release_exclusive(&self, give_back: impl FnOnce()) {
        if self.owner.word.clear() {
            let _side = self.side();
            give_back();
        } else {
            give_back();
        }
    }

    /// An exclusive hold becomes a shared one (`RwLockWriteGuard::downgrade`): the owner
    /// becomes a shared holder (acquired where it locked) and `give_back` permits go back,
    /// in one step under the side mutex.
    pub(crate) fn downgrade(&self, sem: &Semaphore, give_back: usize, known: bool) -> Held {
        let mut side = self.side();
        let (_, site) = self.owner();
        let _ = self.owner.word.clear();
        let held = self.add_shared(&mut side, known, site.unwrap_or(Location::caller()));
        sem.add_permits(give_back);
        held
    }

    /// Clears the record of `held` without giving its permits back (a forgotten permit).
    pub(crate) fn forget(&self, held: Held) {
        match held {
            Held::Exclusive => {
                // No permit goes back, so no waiter can be granted: nothing to order.
                let _ = self.owner.word.clear();
            }
            Held::Shared(token) => self.side().shared.retain(|h| h.token != token),
        }
    }

    /// A second record of the holder of `held` (permits split off a permit), for the same
    /// task and site.
    #[track_caller]
    pub(crate) fn split(&self, held: Held) -> Held {
        let Held::Shared(token) = held else {
            unreachable!("goro::sync: only semaphore permits, shared holds, are split");
        };
        let mut side = self.side();
        let holder = side.shared.iter().find(|h| h.token == token).copied();
        // The record lives as long as the permits: the fallback is never taken.
        let (task, site) = holder.map_or((0, Location::caller()), |h| (h.task, h.site));
        Self::push_shared(&mut side, task, site)
    }

    /// Permits are added from outside any holder (`Semaphore::add_permits`): `add` runs
    /// under the side mutex, and the semaphore's waits are never proved stuck from now on.
    pub(crate) fn feed(&self, add: impl FnOnce()) {
        let mut side = self.side();
        side.fed = true;
        add();
    }

    /// Runs `f`, which may wake waiters (a close), under the side mutex.
    pub(crate) fn locked<R>(&self, f: impl FnOnce() -> R) -> R {
        let _side = self.side();
        f()
    }

    /// Whether waits on this lock are registered without the side mutex (a `Mutex`: see
    /// the module docs): its waiters are not listed in the side state, only in the edge map,
    /// and they do not watch the owner.
    #[inline]
    pub(crate) fn waits_unlocked(&self) -> bool {
        self.kind == Primitive::Mutex
    }

    /// Makes `edge` the waiter's current edge, replacing `old` (its edge of an earlier
    /// poll): under the side mutex (`side`), or, for a lock whose waits are registered
    /// without it, with `side` `None`. The edge map keeps the edge; the waiter keeps its id.
    pub(crate) fn register(
        &self,
        mut side: Option<&mut Side>,
        old: Option<EdgeId>,
        edge: Arc<Edge>,
    ) -> EdgeId {
        match old {
            Some(old) => {
                if let Some(side) = side.as_deref_mut() {
                    side.waiters.retain(|e| e.id() != old);
                }
                drop(edge::remove(old));
            }
            None if !self.waits_unlocked() => self.owner.word.watch(),
            None => {}
        }
        if let Some(side) = side {
            side.waiters.push(edge.clone());
        }
        let id = edge.id();
        edge::insert(edge);
        id
    }

    /// Removes a waiter's edge, under the side mutex or as [`register`](Track::register)
    /// says, and gives it back to this thread if no one else has it ([`Edge::give_back`]).
    pub(crate) fn unregister(&self, side: Option<&mut Side>, edge: EdgeId) {
        if let Some(side) = side {
            side.waiters.retain(|e| e.id() != edge);
        }
        if let Some(edge) = edge::remove(edge) {
            Edge::give_back(edge);
        }
        if !self.waits_unlocked() {
            self.owner.word.unwatch();
        }
    }

    /// Which tasks keep a waiter wanting `want` waiting, read under the side mutex.
    pub(crate) fn blockers(&self, side: &Side, want: Want) -> Blockers {
        let (owner, _) = self.owner();
        let known = |t: &u64| *t != 0;
        match want {
            Want::Exclusive(_) => Blockers::Any(
                std::iter::once(owner)
                    .chain(side.shared.iter().map(|h| h.task))
                    .filter(known)
                    .collect(),
            ),
            // A reader waits only while a writer holds the lock, or a queued writer has
            // drained the permits (tokio's RwLock is fair): the queued writers block it.
            Want::Read if owner != 0 => Blockers::Any(vec![owner]),
            Want::Read => Blockers::Any(
                side.waiters
                    .iter()
                    .filter(|e| matches!(e.want, Want::Exclusive(_)) && e.is_waiting())
                    .map(|e| e.task)
                    .filter(known)
                    .collect(),
            ),
            // Permits come back from any holder: stuck only if every holder is, and no one
            // else can add permits or is being granted some right now.
            Want::Permits(_) => {
                let unsure = side.fed
                    || side.shared.is_empty()
                    || side.shared.iter().any(|h| h.task == 0)
                    || side.waiters.iter().any(|e| !e.is_waiting());
                if unsure {
                    Blockers::Unknown
                } else {
                    Blockers::All(side.shared.iter().map(|h| h.task).collect())
                }
            }
        }
    }

    /// The holders of this lock, with where they acquired it, read under the side mutex.
    pub(crate) fn holders(&self, side: &Side) -> Vec<(u64, Site)> {
        let mut holders: Vec<(u64, Site)> = side.shared.iter().map(|h| (h.task, h.site)).collect();
        if let (owner, Some(site)) = self.owner() {
            if owner != 0 {
                holders.push((owner, site));
            }
        }
        holders
    }
}

impl Want {
    /// The permits this takes of the semaphore.
    pub(crate) fn permits(self) -> u32 {
        match self {
            Want::Exclusive(n) | Want::Permits(n) => n,
            Want::Read => 1,
        }
    }
}
