//! Synchronization for tasks: [`Mutex`], [`RwLock`], [`Semaphore`], [`Notify`],
//! [`Barrier`], [`OnceCell`], [`SetOnce`], and the channels [`mpsc`], [`oneshot`],
//! [`watch`] and [`broadcast`].
//!
//! The API is tokio's (`tokio::sync`), names, signatures and semantics, owned guards and
//! permits included: moving over is a change of path. Underneath it *is* tokio's `sync`
//! (its fair semaphore for `RwLock` and `Semaphore`, its channels), with one exception:
//! [`Mutex`] is Go's mutex (`mutex/raw.rs`). tokio's hands the lock to the longest waiter at
//! every unlock, so under contention every lock costs a task switch (a lock convoy); goro's
//! lets a running task take a just-freed lock ahead of the woken waiter, and hands the lock
//! to waiters in order only once one has waited 1 ms (Go's starvation mode), so no waiter
//! starves. What goro adds:
//!
//! * **Named waits.** Every wait is a goro leaf future: it takes the cooperative budget,
//!   and while it is pending the task's suspension point is the operation and the line
//!   that called it (`Mutex::lock`, `mpsc::Receiver::recv`, `mpsc::Sender::send` on a full
//!   channel, `Notify::notified`, ...), in task dumps and leak reports.
//! * **Holders.** Locks and semaphores know which tasks hold them and where they were
//!   acquired, and which tasks wait (`track.rs`). An uncontended `Mutex` lock and unlock
//!   store and clear the owner in two atomics; nothing is allocated and no extra lock is
//!   taken. A wait adds the listing of its wait-for edge (one cache line, no allocation:
//!   `edge.rs`), its unlisting once the lock is taken, and the look whether the holder
//!   waits itself (`deadlock.rs`); an unlock takes no extra lock while no deadlock walk is
//!   proving a cycle through it (`owner.rs`). The `sync` bench measures both against
//!   tokio's.
//! * **Deadlocks, exact and at once.** When a task starts to wait on a lock or semaphore,
//!   the wait-for edges are followed from it (`deadlock.rs`); a cycle back to it is proved
//!   under the locks involved and recorded in
//!   [`LeakReport::deadlocked`](crate::stats::LeakReport::deadlocked): each task with what
//!   it holds (and where it acquired it) and what it waits on (and where). It covers a task
//!   waiting on a lock it holds, AB-BA and longer cycles, and a reader waiting behind a
//!   queued writer that waits for that same reader. A task that something outside the
//!   cycle can still wake (a `timeout` around the lock holds a waker for its timer) is not
//!   deadlocked, and is not reported. Nothing is cancelled: a deadlock is a bug to report,
//!   and `#[goro::test]` fails on one.
//!
//! ```
//! use goro::sync::Mutex;
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! let rt = goro::Runtime::builder().processors(1).build().unwrap();
//! rt.block_on(async {
//!     let m = Arc::new(Mutex::new(()));
//!     let m2 = m.clone();
//!     goro::spawn(async move {
//!         let _held = m2.lock().await;
//!         let _again = m2.lock().await; // waits on itself forever
//!     });
//!     goro::time::sleep(Duration::from_millis(50)).await;
//!     let report = goro::stats::leak_report();
//!     assert_eq!(report.deadlocked.len(), 1);
//!     println!("{}", report.deadlocked[0]); // "1 task deadlocked: #.. holds Mutex at ..."
//! });
//! ```
//!
//! ## Limits
//!
//! A guard or permit can move to another task without goro seeing it. Borrowed guards
//! stay with the task that locked (they borrow a lock that outlives it). An owned `Mutex` or
//! `RwLock` write guard is attributed to the last task that dereferenced it; owned read
//! guards and owned permits, which are commonly handed to the task they admit and never
//! touched, count as held by an unknown task, which never closes a cycle. Mapped guards
//! (`MutexGuard::map`, ...) hold the whole lock and keep its holder record until they drop.
//!
//! The `blocking_*` methods (`Mutex::blocking_lock`, `oneshot::Receiver::blocking_recv`,
//! ...) block a thread outside the runtime (a plain thread, `spawn_blocking`,
//! `block_in_place`); inside a goro task or `block_on` they panic, as tokio's do inside a
//! runtime. The thread is not a task: as a holder it counts as unknown.
//!
//! Locks made in a `const` (`Mutex::const_new`, ...) make their holder record on first
//! use.

mod acquire;
mod barrier;
pub mod broadcast;
mod deadlock;
mod defer;
mod edge;
mod leaf;
pub mod mpsc;
mod mutex;
mod notify;
mod once_cell;
pub mod oneshot;
mod owner;
mod rwlock;
mod semaphore;
mod set_once;
mod track;
pub mod watch;

/// The atomics the protocol files `owner.rs` and `mutex/raw.rs` use (`goro-loom-tests`
/// compiles them against loom's instead).
pub(crate) mod atomic {
    pub(crate) use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
}

/// The blocking mutex `mutex/raw.rs` keeps its queue behind (loom's, in `goro-loom-tests`).
pub(crate) mod blocking {
    pub(crate) use parking_lot::Mutex;
}

/// The futures of `Notify` under tokio's path (`tokio::sync::futures`).
pub mod futures {
    pub use super::notify::{Notified, OwnedNotified};
}

pub use barrier::{Barrier, BarrierWaitResult};
pub use leaf::Leaf;
pub use mutex::{
    MappedMutexGuard, Mutex, MutexGuard, OwnedMappedMutexGuard, OwnedMutexGuard, TryLockError,
};
pub use notify::{Notified, Notify, OwnedNotified};
pub use once_cell::{OnceCell, SetError};
pub use rwlock::{
    OwnedRwLockMappedWriteGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock,
    RwLockMappedWriteGuard, RwLockReadGuard, RwLockWriteGuard,
};
pub use semaphore::{
    AcquireError, OwnedSemaphorePermit, Semaphore, SemaphorePermit, TryAcquireError,
};
pub use set_once::{SetOnce, SetOnceError};
