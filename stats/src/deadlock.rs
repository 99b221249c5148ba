//! Deadlocks: cycles of tasks that each hold what the next one waits on.
//!
//! `goro::sync` follows the wait-for edges (a waiting task, the lock it waits on, the
//! tasks holding that lock, what those wait on, ...) the moment a task starts to wait on a
//! lock or semaphore, and proves any cycle it finds before handing it over as a
//! [`Deadlock`]. This module holds the report types and their text form:
//!
//! ```text
//! 2 tasks deadlocked: #12 holds Mutex at src/a.rs:10, waits RwLock at src/a.rs:14; #13 holds RwLock at src/a.rs:20, waits Mutex at src/a.rs:22
//! ```
//!
//! (one line; the leak report follows it with a line a task: its name, wait op, how long it
//! has been idle and its spawn site).

use crate::display::FileLine;
use crate::report::{serialize_site, Site, TaskInfo};
use crate::wait::WaitOp;
use serde::Serialize;
use std::fmt::{self, Display, Formatter};
use std::time::Duration;

/// The kind of a lock-like primitive of `goro::sync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Primitive {
    /// `goro::sync::Mutex`.
    Mutex,
    /// `goro::sync::RwLock`.
    RwLock,
    /// `goro::sync::Semaphore`.
    Semaphore,
}

impl Display for Primitive {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Primitive::Mutex => "Mutex",
            Primitive::RwLock => "RwLock",
            Primitive::Semaphore => "Semaphore",
        })
    }
}

/// A lock (or semaphore permits) a deadlocked task holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hold {
    /// What it is.
    pub primitive: Primitive,
    /// Which one: an id unique among the primitives alive at the time.
    pub lock: u64,
    /// Where the task acquired it.
    #[serde(serialize_with = "serialize_site")]
    pub acquired_at: Site,
}

/// One task of a deadlock: what it holds and what it waits on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadlockLink {
    /// The task's id (the same task as `Deadlock::tasks` at the same index).
    pub task: u64,
    /// The locks of the cycle it holds.
    pub holds: Vec<Hold>,
    /// What it waits on.
    pub waits_on: Primitive,
    /// Which one (see [`Hold::lock`]).
    pub waits_lock: u64,
    /// The operation it waits in.
    pub wait_op: WaitOp,
    /// Where it called that operation.
    #[serde(serialize_with = "serialize_site")]
    pub waits_at: Site,
}

/// Tasks that can never run again: each waits on a lock or semaphore held by another task
/// of the set, and nothing else can wake any of them.
///
/// ```
/// use goro_stats::{Deadlock, DeadlockLink, Hold, Primitive, TaskInfo, TaskState, WaitOp};
/// use std::panic::Location;
/// use std::time::Duration;
///
/// let here = Location::caller();
/// let task = |id| TaskInfo {
///     id,
///     name: None,
///     spawned_at: here,
///     suspended_at: Some(here),
///     wait_op: Some(WaitOp::MutexLock),
///     state: TaskState::Deadlocked,
///     age: Duration::from_secs(1),
///     idle: Duration::ZERO,
///     polls: 2,
///     wakes: 1,
///     wakers: 1,
/// };
/// let link = |task, held, waited| DeadlockLink {
///     task,
///     holds: vec![Hold { primitive: Primitive::Mutex, lock: held, acquired_at: here }],
///     waits_on: Primitive::Mutex,
///     waits_lock: waited,
///     wait_op: WaitOp::MutexLock,
///     waits_at: here,
/// };
/// let d = Deadlock {
///     detected_at: Duration::from_millis(3),
///     tasks: vec![task(12), task(13)],
///     links: vec![link(12, 1, 2), link(13, 2, 1)],
/// };
/// let text = d.to_string();
/// let at = format!("{}:{}", here.file(), here.line());
/// assert_eq!(
///     text,
///     format!("2 tasks deadlocked: #12 holds Mutex at {at}, waits Mutex at {at}; \
///              #13 holds Mutex at {at}, waits Mutex at {at}")
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Deadlock {
    /// When the cycle was found, as time since the runtime started.
    #[serde(serialize_with = "crate::durations::secs")]
    pub detected_at: Duration,
    /// The tasks, in cycle order where the cycle is a simple one: each waits on something
    /// the next one (the last: the first) holds.
    pub tasks: Vec<TaskInfo>,
    /// What each task holds and waits on, index for index with `tasks`.
    pub links: Vec<DeadlockLink>,
}

impl Display for Deadlock {
    /// "2 tasks deadlocked: #12 holds Mutex at X, waits RwLock at Y; #13 holds ...", on one
    /// line (a task holding several locks of the cycle: "holds Mutex at X, holds ...").
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let n = self.links.len();
        let noun = if n == 1 { "task" } else { "tasks" };
        write!(f, "{n} {noun} deadlocked:")?;
        for (i, link) in self.links.iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            write!(f, " #{}", link.task)?;
            for hold in &link.holds {
                write!(
                    f,
                    " holds {} at {},",
                    hold.primitive,
                    FileLine(hold.acquired_at)
                )?;
            }
            write!(f, " waits {} at {}", link.waits_on, FileLine(link.waits_at))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{LeakReport, TaskState};
    use serde_json::Value;
    use std::panic::Location;

    fn deadlock() -> Deadlock {
        let here = Location::caller();
        let task = TaskInfo {
            id: 5,
            name: Some("worker".into()),
            spawned_at: here,
            suspended_at: Some(here),
            wait_op: Some(WaitOp::MutexLock),
            state: TaskState::Deadlocked,
            age: Duration::from_secs(3),
            idle: Duration::from_secs(2),
            polls: 2,
            wakes: 0,
            wakers: 1,
        };
        Deadlock {
            detected_at: Duration::from_millis(1500),
            tasks: vec![task],
            links: vec![DeadlockLink {
                task: 5,
                holds: vec![Hold {
                    primitive: Primitive::Mutex,
                    lock: 77,
                    acquired_at: here,
                }],
                waits_on: Primitive::Mutex,
                waits_lock: 77,
                wait_op: WaitOp::MutexLock,
                waits_at: here,
            }],
        }
    }

    #[test]
    fn a_self_deadlock_reads_as_one_line_then_its_task_as_in_a_dump() {
        let d = deadlock();
        let here = d.links[0].waits_at;
        let at = format!("{}:{}", here.file(), here.line());
        assert_eq!(
            d.to_string(),
            format!("1 task deadlocked: #5 holds Mutex at {at}, waits Mutex at {at}")
        );
        let report = LeakReport {
            deadlocked: vec![d],
            ..LeakReport::default()
        };
        let text = report.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "deadlocked: 1 cycle", "{text}");
        assert_eq!(
            lines[2],
            format!("  1 task deadlocked: #5 holds Mutex at {at}, waits Mutex at {at}")
        );
        assert_eq!(
            lines[3],
            format!("    #5 \"worker\" [Mutex::lock, 2 s] at {at}, spawned at {at}")
        );
    }

    #[test]
    fn json_names_sites_ops_and_states() {
        let report = LeakReport {
            deadlocked: vec![deadlock()],
            ..LeakReport::default()
        };
        let v: Value = serde_json::from_str(&report.to_json()).unwrap();
        let d = &v["deadlocked"][0];
        assert_eq!(d["detected_at"], 1.5);
        assert_eq!(d["tasks"][0]["state"], "deadlocked");
        assert_eq!(d["links"][0]["wait_op"], "Mutex::lock");
        assert_eq!(d["links"][0]["waits_on"], "Mutex");
        assert_eq!(d["links"][0]["holds"][0]["lock"], 77);
        let site = Location::caller().file();
        assert!(d["links"][0]["waits_at"]
            .as_str()
            .unwrap()
            .starts_with(site));
    }
}
