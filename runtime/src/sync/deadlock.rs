//! Deadlocks, found exactly at the moment they close.
//!
//! When a task's poll ends suspended on a lock, the scheduler calls [`on_lock_wait`] with
//! the task's id (the task is idle then, so its waker count is final). The walk has two
//! phases.
//!
//! **Explore** (no lock held for long). From the task, follow the wait-for edges: a
//! waiting task has one edge (`edge.rs`) to a lock; the lock's `Track` names what keeps it
//! waiting ([`Blockers`]): for a `Mutex` or a writer, the tasks holding the lock (any one of
//! them stuck keeps it stuck); for a reader, the writer holding the lock or, if readers
//! hold it, the queued writers (tokio's `RwLock` is fair, so a reader queues behind them:
//! this is the RWR cycle); for semaphore permits, the holders, *all* of which must be stuck
//! (any of them could give permits back), and nothing if permits may come from elsewhere.
//! A task with no edge, a woken edge, or several edges at once (`join!` over two locks) is
//! not provably waiting and ends the path.
//!
//! The explored tasks that are stuck are the greatest set in which every task is justified
//! by members (any / all of its blockers inside). If the starting task is in it and on a
//! cycle of it, the candidate is every member it reaches.
//!
//! **Prove** (under the locks). Phase one read each lock at a different moment, so it only
//! proposes. The candidate is then checked again with the side mutex of every lock involved
//! held at once (taken in address order) and every such lock watched (`owner.rs`): every
//! edge still the same and not woken, every task still justified inside the candidate, and
//! every task idle with exactly one waker in existence: the one its edge gave tokio. While
//! those side mutexes are held and the locks watched, nothing the
//! check reads can change (see `track.rs`), so the check sees one real moment of the
//! program. At that moment each task waits for a task of the set and nothing outside the
//! set holds a waker of any of them: no timer, socket or other task can wake one, so none
//! will ever run again. That is the deadlock reported; there are no false positives by
//! construction, and a cycle another thread still could break (a `timeout` around the
//! lock, which holds a waker for its timer) is not one.
//!
//! Tasks waiting *behind* a deadlock (on a lock a deadlocked task holds) are stuck too, but
//! are not reported as part of it: the cycle is.

use super::edge::{self, Edge};
use super::track::{Blockers, SideGuard, Track, Watch};
use goro_stats::{Deadlock, DeadlockLink, Hold, Primitive, TaskInfo, TaskState};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

/// The walk stops after this many tasks (a larger cycle is not proved).
const MAX_TASKS: usize = 4096;

/// The scheduler's lock-wait hook: looks for a deadlock that closed on `task`.
pub(crate) fn on_lock_wait(task: goro_sched::task::Id) {
    let start = task.as_u64();
    if !blocked_by_a_waiter(start) {
        return;
    }
    let graph = Graph::explore(start);
    let Some(candidate) = graph.candidate(start) else {
        return;
    };
    let Some(handle) = goro_sched::Handle::try_current() else {
        return;
    };
    if let Some(deadlock) = prove(&graph, &candidate, &handle) {
        handle.record_deadlock(deadlock);
    }
}

/// A waiting task as the exploration found it.
struct Node {
    edge: Arc<Edge>,
    blockers: Blockers,
}

/// The waiting tasks reachable from the start, by id.
struct Graph {
    nodes: HashMap<u64, Node>,
}

/// A proposed deadlock: `cycle` (the start first, each waiting on the next) and every task
/// it reaches (`members`, a superset).
struct Candidate {
    cycle: Vec<u64>,
    members: Vec<u64>,
}

fn tasks_of(blockers: &Blockers) -> &[u64] {
    match blockers {
        Blockers::Any(tasks) | Blockers::All(tasks) => tasks,
        Blockers::Unknown => &[],
    }
}

/// Whether `blockers` keep their waiter stuck if exactly the tasks of `stuck` are.
fn justified(blockers: &Blockers, stuck: &HashSet<u64>) -> bool {
    match blockers {
        Blockers::Any(tasks) => tasks.iter().any(|t| stuck.contains(t)),
        Blockers::All(tasks) => !tasks.is_empty() && tasks.iter().all(|t| stuck.contains(t)),
        Blockers::Unknown => false,
    }
}

/// The one edge of `task` that still means "waits", if it has exactly one.
fn sole_edge(task: u64) -> Option<Arc<Edge>> {
    edge::sole(task)
}

/// Whether some task keeping `start` waiting waits itself: without that there is no cycle,
/// and the common case (the holder is running) costs two map looks and no allocation
/// beyond the blocker list.
fn blocked_by_a_waiter(start: u64) -> bool {
    let Some(edge) = sole_edge(start) else {
        return false;
    };
    if edge.track.kind == Primitive::Mutex {
        // Only the owner holds a mutex: read it without the side mutex, and without
        // writing its cache line. A hint, which cannot miss a cycle closing now: the owner
        // of a lock in a cycle cannot change.
        return edge::is_waiting(edge.track.owner_hint());
    }
    let blockers = edge.track.blockers(&edge.track.side(), edge.want);
    tasks_of(&blockers).iter().any(|&t| edge::is_waiting(t))
}

impl Graph {
    fn explore(start: u64) -> Graph {
        let mut nodes = HashMap::new();
        let mut seen = HashSet::new();
        let mut queue = vec![start];
        while let Some(task) = queue.pop() {
            if seen.len() >= MAX_TASKS || !seen.insert(task) {
                continue;
            }
            let Some(edge) = sole_edge(task) else {
                continue;
            };
            let blockers = edge.track.blockers(&edge.track.side(), edge.want);
            queue.extend_from_slice(tasks_of(&blockers));
            nodes.insert(task, Node { edge, blockers });
        }
        Graph { nodes }
    }

    /// The greatest set of explored tasks in which every task is justified by members.
    fn stuck(&self) -> HashSet<u64> {
        let mut stuck: HashSet<u64> = self.nodes.keys().copied().collect();
        loop {
            let free: Vec<u64> = stuck
                .iter()
                .copied()
                .filter(|t| !justified(&self.nodes[t].blockers, &stuck))
                .collect();
            if free.is_empty() {
                return stuck;
            }
            for t in free {
                stuck.remove(&t);
            }
        }
    }

    /// The members of `stuck` that keep `task` stuck.
    fn successors<'a>(
        &'a self,
        task: u64,
        stuck: &'a HashSet<u64>,
    ) -> impl Iterator<Item = u64> + 'a {
        tasks_of(&self.nodes[&task].blockers)
            .iter()
            .copied()
            .filter(|t| stuck.contains(t))
    }

    /// A deadlock through `start`, if the exploration suggests one.
    fn candidate(&self, start: u64) -> Option<Candidate> {
        let stuck = self.stuck();
        if !stuck.contains(&start) {
            return None;
        }
        // Breadth first from start: the first path back to start is the cycle.
        let mut parent: HashMap<u64, u64> = HashMap::new();
        let mut queue = VecDeque::from([start]);
        let mut members = vec![start];
        let mut closing = None;
        while let Some(task) = queue.pop_front() {
            for next in self.successors(task, &stuck) {
                if next == start {
                    closing.get_or_insert(task);
                } else if let std::collections::hash_map::Entry::Vacant(e) = parent.entry(next) {
                    e.insert(task);
                    members.push(next);
                    queue.push_back(next);
                }
            }
        }
        let mut cycle = vec![closing?];
        while let Some(&p) = parent.get(cycle.last()?) {
            cycle.push(p);
        }
        if *cycle.last()? != start {
            cycle.push(start);
        }
        cycle.reverse();
        Some(Candidate { cycle, members })
    }
}

/// Checks `candidate` with every involved lock's side mutex held; see the module docs.
fn prove(graph: &Graph, candidate: &Candidate, handle: &goro_sched::Handle) -> Option<Deadlock> {
    let mut tracks: Vec<&Arc<Track>> = candidate
        .members
        .iter()
        .map(|t| &graph.nodes[t].edge.track)
        .collect();
    tracks.sort_by_key(|t| Arc::as_ptr(t));
    tracks.dedup_by(|a, b| Arc::ptr_eq(a, b));
    let sides: Vec<SideGuard<'_>> = tracks.iter().map(|t| t.side()).collect();
    // Before any owner is read: from now on an unlock of these locks waits for the side
    // mutex (`owner.rs`), so no grant happens behind the proof's back.
    let _watches: Vec<Watch<'_>> = tracks.iter().map(|t| t.watch()).collect();
    let side_of = |track: &Arc<Track>| {
        let i = tracks.iter().position(|t| Arc::ptr_eq(t, track))?;
        Some(&*sides[i])
    };

    let members: HashSet<u64> = candidate.members.iter().copied().collect();
    for task in &candidate.members {
        let node = &graph.nodes[task];
        let edge = sole_edge(*task)?;
        if !Arc::ptr_eq(&edge, &node.edge) {
            return None;
        }
        let blockers = edge.track.blockers(side_of(&edge.track)?, edge.want);
        if !justified(&blockers, &members) {
            return None;
        }
    }
    let infos = handle.task_infos(&candidate.members);
    let only_waker_is_the_edge = |t: &TaskInfo| t.state == TaskState::Idle && t.wakers == 1;
    if infos.len() != candidate.members.len() || !infos.iter().all(only_waker_is_the_edge) {
        return None;
    }

    let holds = |task: u64| -> Vec<Hold> {
        tracks
            .iter()
            .zip(&sides)
            .flat_map(|(track, side)| {
                track
                    .holders(side)
                    .into_iter()
                    .filter(move |(holder, _)| *holder == task)
                    .map(|(_, site)| Hold {
                        primitive: track.kind,
                        lock: track.id(),
                        acquired_at: site,
                    })
            })
            .collect()
    };
    let mut tasks = Vec::with_capacity(candidate.cycle.len());
    let mut links = Vec::with_capacity(candidate.cycle.len());
    for &task in &candidate.cycle {
        let edge = &graph.nodes[&task].edge;
        let mut info = infos.iter().find(|i| i.id == task)?.clone();
        info.state = TaskState::Deadlocked;
        info.suspended_at = Some(edge.at);
        info.wait_op = Some(edge.op);
        tasks.push(info);
        links.push(DeadlockLink {
            task,
            holds: holds(task),
            waits_on: edge.track.kind,
            waits_lock: edge.track.id(),
            wait_op: edge.op,
            waits_at: edge.at,
        });
    }
    drop(sides);
    Some(Deadlock {
        detected_at: handle.uptime(),
        tasks,
        links,
    })
}
