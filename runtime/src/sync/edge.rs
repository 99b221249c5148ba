//! Wait-for edges: which task waits on which lock, for the deadlock walk.
//!
//! An [`Edge`] says "task `t` waits for `want` of lock `track`, in `op` called at `at`".
//! It exists from the first `Pending` of a contended acquire until the acquire completes or
//! is dropped, and is listed twice: in its lock's side state (`Track`, for the lock's own
//! view of its waiters) and in [`WAITS`], a sharded map from task id to the edges of that
//! task (for the walk, which goes from a holder task to what it waits on). Both are changed
//! under the lock's side mutex only, the map's shard locked inside it.
//!
//! Each edge carries a [`WaitCell`]: the waker the acquire handed to tokio, which wraps the
//! task's waker. Whatever wakes the waiter (a grant, a close) sets `woken` first, so an
//! edge whose cell is woken is not a wait any more, even before the task runs again: the
//! walk never trusts it.

use super::track::{Track, Want};
use crossbeam_utils::CachePadded;
use goro_stats::{Site, WaitOp};
use parking_lot::Mutex;
use smallvec::SmallVec;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, LazyLock};
use std::task::{Wake, Waker};

/// The waker an acquire gives tokio: notes that the waiter was woken, then wakes its task.
///
/// A finished wait gives its cell back to this thread ([`WaitCell::give_back`]) once no
/// one else has it, and the next wait on the thread takes it again: a contended lock
/// allocates no cell, and the cell's memory stays in this core's cache. A cell given back
/// keeps no task waker (it would count as a waker of that task: the deadlock proof and
/// the orphan check count wakers).
pub(crate) struct WaitCell {
    woken: AtomicBool,
    task: Option<Waker>,
}

thread_local! {
    /// A cell no one else has, for the next wait on this thread.
    static SPARE: std::cell::Cell<Option<Arc<WaitCell>>> = const { std::cell::Cell::new(None) };
}

impl WaitCell {
    /// A cell that wakes `task`: the spare of this thread, or a new one.
    pub(crate) fn new(task: Waker) -> Arc<WaitCell> {
        if let Some(mut cell) = SPARE.try_with(|s| s.take()).ok().flatten() {
            if let Some(c) = Arc::get_mut(&mut cell) {
                *c.woken.get_mut() = false;
                c.task = Some(task);
                return cell;
            }
        }
        Arc::new(WaitCell {
            woken: AtomicBool::new(false),
            task: Some(task),
        })
    }

    /// The wait is over: keeps `cell` as this thread's spare if no one else has it.
    pub(crate) fn give_back(mut cell: Arc<WaitCell>) {
        if let Some(c) = Arc::get_mut(&mut cell) {
            c.task = None;
            let _ = SPARE.try_with(|s| s.set(Some(cell)));
        }
    }

    /// Whether the waiter was woken since it suspended (it may hold the lock now).
    pub(crate) fn is_woken(&self) -> bool {
        self.woken.load(SeqCst)
    }

    /// Whether waking this cell wakes the task `waker` would wake.
    pub(crate) fn will_wake(&self, waker: &Waker) -> bool {
        self.task.as_ref().is_some_and(|t| t.will_wake(waker))
    }
}

impl Wake for WaitCell {
    fn wake(self: Arc<Self>) {
        self.woken.store(true, SeqCst);
        // Under a side mutex the cell itself waits in the queue (`defer.rs`), and wakes its
        // task when woken again from there: no clone of the task's waker, whose count
        // lives with the task, likely in another core's cache.
        if super::defer::deferring() {
            super::defer::push(Waker::from(self));
        } else if let Some(task) = &self.task {
            task.wake_by_ref();
        }
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.clone().wake();
    }
}

/// One task waiting on one lock.
pub(crate) struct Edge {
    /// The waiting task (0: not a goro task, e.g. inside `block_on`; never in [`WAITS`]).
    pub(crate) task: u64,
    pub(crate) track: Arc<Track>,
    pub(crate) want: Want,
    pub(crate) cell: Arc<WaitCell>,
    pub(crate) op: WaitOp,
    pub(crate) at: Site,
}

impl Edge {
    /// Whether the edge still means "waits": its waiter has not been woken.
    pub(crate) fn is_waiting(&self) -> bool {
        !self.cell.is_woken()
    }
}

const SHARDS: usize = 64;

/// The edges of one task: one, but for a task that waits on several locks at once.
type Edges = SmallVec<[Arc<Edge>; 1]>;

type Shard = CachePadded<Mutex<HashMap<u64, Edges>>>;

/// Task id -> the edges of that task (almost always one).
static WAITS: LazyLock<Box<[Shard]>> =
    LazyLock::new(|| (0..SHARDS).map(|_| Shard::default()).collect());

fn shard(task: u64) -> &'static Mutex<HashMap<u64, Edges>> {
    &WAITS[task as usize % SHARDS]
}

/// Lists `edge` under its task. Caller holds the edge's lock's side mutex.
pub(crate) fn insert(edge: &Arc<Edge>) {
    if edge.task != 0 {
        let mut map = shard(edge.task).lock();
        map.entry(edge.task).or_default().push(edge.clone());
    }
}

/// Unlists `edge`. Caller holds the edge's lock's side mutex.
pub(crate) fn remove(edge: &Arc<Edge>) {
    if edge.task == 0 {
        return;
    }
    let mut map = shard(edge.task).lock();
    if let Some(edges) = map.get_mut(&edge.task) {
        edges.retain(|e| !Arc::ptr_eq(e, edge));
        if edges.is_empty() {
            map.remove(&edge.task);
        }
    }
}

/// Whether `task` has an edge whose waiter was not woken (a cheap look, no copy).
pub(crate) fn is_waiting(task: u64) -> bool {
    task != 0
        && shard(task)
            .lock()
            .get(&task)
            .is_some_and(|edges| edges.iter().any(|e| e.is_waiting()))
}

/// The edge of `task` now, if it has exactly one and its waiter was not woken.
pub(crate) fn sole(task: u64) -> Option<Arc<Edge>> {
    let map = shard(task).lock();
    match map.get(&task)?.as_slice() {
        [edge] if edge.is_waiting() => Some(edge.clone()),
        _ => None,
    }
}
