//! The check `#[goro::test]` runs after a test's body: a test that left orphaned tasks
//! behind (tasks that nothing can ever wake again, see [`stats`](crate::stats)) fails, and
//! the failure names where each orphan was spawned and where it was waiting.
//! `#[goro::test(allow_orphans)]` leaves the check out. A test during which a deadlock was
//! found fails too ([`check_deadlocks`]).

use crate::stats::TaskInfo;
use crate::Handle;
use std::fmt::Write;

/// Panics if the runtime of `handle` has found orphaned tasks.
///
/// ```should_panic
/// let rt = goro::Runtime::builder().processors(1).build().unwrap();
/// rt.block_on(async {
///     goro::spawn(std::future::poll_fn(|_cx| std::task::Poll::<()>::Pending));
///     goro::time::sleep(std::time::Duration::from_millis(20)).await;
/// });
/// goro::__private::check_orphans(rt.handle()); // panics: "test left 1 orphaned task: ..."
/// ```
#[track_caller]
pub fn check_orphans(handle: &Handle) {
    let report = handle.leak_report();
    if report.orphaned_total > 0 {
        panic!("{}", message(report.orphaned_total, &report.orphaned));
    }
}

/// Panics if the runtime of `handle` has found deadlocked tasks (`goro::sync` lock cycles).
///
/// ```should_panic
/// use std::sync::Arc;
/// let rt = goro::Runtime::builder().processors(1).build().unwrap();
/// rt.block_on(async {
///     let m = Arc::new(goro::sync::Mutex::new(()));
///     goro::spawn(async move {
///         let _a = m.lock().await;
///         let _b = m.lock().await;
///     });
///     goro::time::sleep(std::time::Duration::from_millis(20)).await;
/// });
/// goro::__private::check_deadlocks(rt.handle()); // panics: "test left 1 deadlock: ..."
/// ```
#[track_caller]
pub fn check_deadlocks(handle: &Handle) {
    let report = handle.leak_report();
    if !report.deadlocked.is_empty() {
        let n = report.deadlocked.len();
        let noun = if n == 1 { "deadlock" } else { "deadlocks" };
        let mut out = format!("test left {n} {noun} (tasks that can never run again):");
        for d in &report.deadlocked {
            let _ = write!(out, "\n    {d}");
            for task in &d.tasks {
                let _ = write!(out, "\n      {task}");
            }
        }
        panic!("{out}");
    }
}

/// "test left N orphaned tasks: ..." with one line per listed orphan.
fn message(total: u64, listed: &[TaskInfo]) -> String {
    let noun = if total == 1 { "task" } else { "tasks" };
    let mut out = format!(
        "test left {total} orphaned {noun} (idle with no waker left, so nothing can ever wake \
         them):"
    );
    for task in listed {
        let _ = write!(out, "\n    task #{}", task.id);
        if let Some(name) = &task.name {
            let _ = write!(out, " {name:?}");
        }
        let _ = write!(out, " spawned at {}", task.spawned_at);
        match (task.suspended_at, task.wait_op) {
            (Some(at), Some(op)) => {
                let _ = write!(out, ", suspended at {at} ({op})");
            }
            (Some(at), None) => {
                let _ = write!(out, ", suspended at {at}");
            }
            _ => out.push_str(", not waiting on a goro future"),
        }
    }
    if (listed.len() as u64) < total {
        let _ = write!(out, "\n    ... and {} more", total - listed.len() as u64);
    }
    out.push_str(
        "\n(a future returned Pending without keeping its waker; use \
         #[goro::test(allow_orphans)] if this is intended)",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{TaskState, WaitOp};
    use std::panic::Location;
    use std::time::Duration;

    fn orphan(id: u64, suspended: bool) -> TaskInfo {
        TaskInfo {
            id,
            name: None,
            spawned_at: Location::caller(),
            suspended_at: suspended.then(Location::caller),
            wait_op: suspended.then_some(WaitOp::TcpRead),
            state: TaskState::Orphaned,
            age: Duration::from_millis(5),
            idle: Duration::from_millis(5),
            polls: 1,
            wakes: 0,
            wakers: 0,
        }
    }

    #[test]
    fn names_every_listed_orphan_and_the_rest() {
        let msg = message(3, &[orphan(4, true), orphan(9, false)]);
        assert!(msg.starts_with("test left 3 orphaned tasks"), "{msg}");
        let here = Location::caller().file();
        assert_eq!(
            msg.matches(&format!("spawned at {here}")).count(),
            2,
            "{msg}"
        );
        assert!(msg.contains("(TcpStream::read)"), "{msg}");
        assert!(msg.contains("not waiting on a goro future"), "{msg}");
        assert!(msg.contains("and 1 more"), "{msg}");
        assert!(msg.contains("allow_orphans"), "{msg}");
    }
}
