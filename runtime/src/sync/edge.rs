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

/// Which edge an acquire listed: its task, and its address (only compared, never
/// dereferenced): the map keeps the edge itself, so listing and unlisting it write no
/// reference count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EdgeId {
    task: u64,
    addr: usize,
}

impl Edge {
    /// This edge's id.
    pub(crate) fn id(self: &Arc<Self>) -> EdgeId {
        EdgeId {
            task: self.task,
            addr: Arc::as_ptr(self) as usize,
        }
    }

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

/// Shards of the edge map: a power of two, so that a task's shard is its id's low bits.
const SHARDS: usize = 256;

/// The edges of the tasks of one shard, each with its task: inline, next to the shard's
/// lock, so that listing and unlisting an edge touches one cache line (a hash map's table
/// is more lines, which a contended lock's waiters pull from core to core). A look scans
/// the shard: few tasks wait on locks at once in most programs, and when thousands do,
/// a look scans the waits of one task in 256.
type Shard = CachePadded<Mutex<Edges>>;

/// A shard's edges, each with its task.
type Edges = SmallVec<[(u64, Arc<Edge>); 3]>;

/// Task id -> the edges of that task (almost always one).
static WAITS: LazyLock<Box<[Shard]>> =
    LazyLock::new(|| (0..SHARDS).map(|_| Shard::default()).collect());

fn shard(task: u64) -> &'static Mutex<Edges> {
    &WAITS[task as usize % SHARDS]
}

/// Lists `edge` under its task (under its lock's side mutex, but for a `Mutex`); the map
/// keeps it, its waiter keeps its [`EdgeId`].
pub(crate) fn insert(edge: Arc<Edge>) {
    if edge.task != 0 {
        shard(edge.task).lock().push((edge.task, edge));
    }
}

/// Unlists the edge `id` (under its lock's side mutex, but for a `Mutex` granted), and
/// returns it.
pub(crate) fn remove(id: EdgeId) -> Option<Arc<Edge>> {
    if id.task == 0 {
        return None;
    }
    let mut edges = shard(id.task).lock();
    let i = edges.iter().position(|(_, e)| e.id() == id)?;
    Some(edges.swap_remove(i).1)
}

/// Whether `task` has an edge whose waiter was not woken (a cheap look, no copy).
pub(crate) fn is_waiting(task: u64) -> bool {
    task != 0
        && shard(task)
            .lock()
            .iter()
            .any(|(t, e)| *t == task && e.is_waiting())
}

/// The edge of `task` now, if it has exactly one and its waiter was not woken.
pub(crate) fn sole(task: u64) -> Option<Arc<Edge>> {
    let edges = shard(task).lock();
    let mut of_task = edges.iter().filter(|(t, _)| *t == task).map(|(_, e)| e);
    match (of_task.next(), of_task.next()) {
        (Some(edge), None) if edge.is_waiting() => Some(edge.clone()),
        _ => None,
    }
}
