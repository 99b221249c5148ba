//! Wait-for edges: which task waits on which lock, for the deadlock walk.
//!
//! An [`Edge`] says "task `t` waits for `want` of lock `track`, in `op` called at `at`".
//! It exists from the first `Pending` of a contended acquire until the acquire completes or
//! is dropped, and is listed in [`WAITS`], a sharded map from task id to the edges of that
//! task (for the walk, which goes from a holder task to what it waits on); the edges of a
//! lock whose waits are registered under its side mutex (`Track::waits_unlocked` says which)
//! are listed in its side state too.
//!
//! The edge is also the waker the acquire hands tokio, around the task's waker. Whatever
//! wakes the waiter (a grant, a close) sets `woken` first, so an edge that was woken is not
//! a wait any more, even before the task runs again: the walk never trusts it. A `Mutex`
//! edge wakes nothing (tokio has the task's own waker; `acquire.rs` tells why that is
//! enough) and is never woken.
//!
//! A finished wait gives its edge back to this thread ([`Edge::give_back`]) once no one
//! else has it, and the next wait on the thread takes it again: a contended lock allocates
//! nothing, the edge's memory stays in this core's cache, and the edge keeps its lock's
//! `Track` so that the next wait on the same lock clones no `Arc` (whose count other cores
//! touch). An edge given back keeps no task waker (it would count as a waker of that task:
//! the deadlock proof and the orphan check count wakers).

use super::track::{current_task, Track, Want};
use crossbeam_utils::CachePadded;
use goro_stats::{Site, WaitOp};
use parking_lot::Mutex;
use rustc_hash::FxHashMap;
use smallvec::SmallVec;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, LazyLock};
use std::task::{Wake, Waker};

/// One task waiting on one lock, and the waker its acquire gave tokio (see module docs).
pub(crate) struct Edge {
    woken: AtomicBool,
    /// The waiting task's waker; `None` once given back.
    task_waker: Option<Waker>,
    /// The waiting task (0: not a goro task, e.g. inside `block_on`; never in [`WAITS`]).
    pub(crate) task: u64,
    pub(crate) track: Arc<Track>,
    pub(crate) want: Want,
    pub(crate) op: WaitOp,
    pub(crate) at: Site,
}

thread_local! {
    /// An edge no one else has, for the next wait on this thread.
    static SPARE: std::cell::Cell<Option<Arc<Edge>>> = const { std::cell::Cell::new(None) };
}

impl Edge {
    /// The edge of the current task waiting for `want` of `track` in `op` at `at`, waking
    /// `task_waker` (`None`: tokio has the task's waker itself): the spare of this thread,
    /// or a new one.
    pub(crate) fn new(
        task_waker: Option<Waker>,
        track: &Arc<Track>,
        want: Want,
        op: WaitOp,
        at: Site,
    ) -> Arc<Edge> {
        let task = current_task();
        if let Some(mut edge) = SPARE.try_with(|s| s.take()).ok().flatten() {
            if let Some(e) = Arc::get_mut(&mut edge) {
                *e.woken.get_mut() = false;
                e.task_waker = task_waker;
                e.task = task;
                if !Arc::ptr_eq(&e.track, track) {
                    e.track = track.clone();
                }
                (e.want, e.op, e.at) = (want, op, at);
                return edge;
            }
        }
        Arc::new(Edge {
            woken: AtomicBool::new(false),
            task_waker,
            task,
            track: track.clone(),
            want,
            op,
            at,
        })
    }

    /// The wait is over: keeps `edge` as this thread's spare if no one else has it.
    pub(crate) fn give_back(mut edge: Arc<Edge>) {
        if let Some(e) = Arc::get_mut(&mut edge) {
            e.task_waker = None;
            let _ = SPARE.try_with(|s| s.set(Some(edge)));
        }
    }

    /// Whether the waiter was woken since it suspended (it may hold the lock now).
    pub(crate) fn is_woken(&self) -> bool {
        self.woken.load(SeqCst)
    }

    /// Whether the edge still means "waits": its waiter has not been woken.
    pub(crate) fn is_waiting(&self) -> bool {
        !self.is_woken()
    }

    /// Whether waking this edge wakes the task `waker` would wake.
    pub(crate) fn will_wake(&self, waker: &Waker) -> bool {
        self.task_waker.as_ref().is_some_and(|t| t.will_wake(waker))
    }
}

impl Wake for Edge {
    fn wake(self: Arc<Self>) {
        self.woken.store(true, SeqCst);
        // Under a side mutex the edge itself waits in the queue (`defer.rs`), and wakes its
        // task when woken again from there: no clone of the task's waker, whose count
        // lives with the task, likely in another core's cache.
        if super::defer::deferring() {
            super::defer::push(Waker::from(self));
        } else if let Some(task) = &self.task_waker {
            task.wake_by_ref();
        }
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.clone().wake();
    }
}

const SHARDS: usize = 64;

/// The edges of one task: one, but for a task that waits on several locks at once.
type Edges = SmallVec<[Arc<Edge>; 1]>;

type Shard = CachePadded<Mutex<FxHashMap<u64, Edges>>>;

/// Task id -> the edges of that task (almost always one).
static WAITS: LazyLock<Box<[Shard]>> =
    LazyLock::new(|| (0..SHARDS).map(|_| Shard::default()).collect());

fn shard(task: u64) -> &'static Mutex<FxHashMap<u64, Edges>> {
    &WAITS[task as usize % SHARDS]
}

/// Lists `edge` under its task (under its lock's side mutex, but for a `Mutex`).
pub(crate) fn insert(edge: &Arc<Edge>) {
    if edge.task != 0 {
        let mut map = shard(edge.task).lock();
        map.entry(edge.task).or_default().push(edge.clone());
    }
}

/// Unlists `edge` (under its lock's side mutex, but for a `Mutex` granted).
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
