//! The soak's books: every task it starts, by kind, and what became of it.
//!
//! Every task goes through [`Ledger::spawn`] (or [`Ledger::spawn_blocking`]): that counts
//! it as started, remembers its spawn site, and wraps its future (or closure) in a guard
//! that counts the drop of the future. Every `JoinHandle` is awaited through
//! [`Ledger::settle`], which counts exactly one outcome: completed, panicked or cancelled.
//! [`Ledger::check`] then holds the books to:
//!
//! * `started == completed + panicked + cancelled == dropped` for every kind: each task is
//!   accounted for exactly once, and its future dropped exactly once;
//! * the outcome each kind must have (a panicking task panics, an aborted sleeper is
//!   cancelled, everything else completes), and no wrong value from a task;
//! * goro's own counts: per spawn site, goro's `spawned` and `completed` equal the
//!   ledger's; in total, goro's spawned and completed tasks equal the ledger's, no task is
//!   live and none was orphaned.

use goro::stats::Snapshot;
use goro::task::{JoinError, JoinHandle};
use std::future::Future;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};

/// What a task of the soak does, and so what must become of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A workload's loop (one per workload).
    Driver,
    /// A tiny task that returns a value (spawn churn).
    Churn,
    /// A task that panics.
    Panic,
    /// A task asleep for an hour, aborted.
    AbortSleeping,
    /// A task that yields forever, aborted while it runs.
    AbortRunning,
    /// A task racing a timeout (half of them time out).
    Timeout,
    /// A TCP client: echo a message, or reset the connection.
    EchoClient,
    /// The listener's loop.
    Listener,
    /// The server side of one TCP connection.
    EchoServer,
    /// A call on the blocking pool.
    Blocking,
    /// A task that blocks its thread in one poll for longer than the handoff threshold.
    StuckPoll,
}

impl Kind {
    /// Every kind, in report order.
    pub const ALL: [Kind; 11] = [
        Kind::Driver,
        Kind::Churn,
        Kind::Panic,
        Kind::AbortSleeping,
        Kind::AbortRunning,
        Kind::Timeout,
        Kind::EchoClient,
        Kind::Listener,
        Kind::EchoServer,
        Kind::Blocking,
        Kind::StuckPoll,
    ];

    /// The one outcome a task of this kind may have.
    pub fn expected(self) -> Outcome {
        match self {
            Kind::Panic => Outcome::Panicked,
            Kind::AbortSleeping | Kind::AbortRunning => Outcome::Cancelled,
            _ => Outcome::Completed,
        }
    }
}

/// What became of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It returned its value.
    Completed,
    /// It panicked.
    Panicked,
    /// It was aborted before completing.
    Cancelled,
}

/// One kind's counts.
#[derive(Debug, Default)]
struct Books {
    started: AtomicU64,
    completed: AtomicU64,
    panicked: AtomicU64,
    cancelled: AtomicU64,
    dropped: AtomicU64,
    /// Tasks that completed with a value other than the one expected.
    wrong: AtomicU64,
    /// Where this kind's tasks are spawned (one place per kind).
    site: OnceLock<&'static Location<'static>>,
    /// Spawns from another place than `site` (a bug in the soak).
    other_sites: AtomicU64,
}

/// A plain copy of one kind's counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Tasks spawned.
    pub started: u64,
    /// Tasks that completed.
    pub completed: u64,
    /// Tasks that panicked.
    pub panicked: u64,
    /// Tasks cancelled.
    pub cancelled: u64,
    /// Tasks whose future was dropped (every task, once).
    pub dropped: u64,
    /// Tasks that completed with a value other than the one expected.
    pub wrong: u64,
}

impl Counts {
    /// Tasks with an outcome.
    pub fn settled(&self) -> u64 {
        self.completed + self.panicked + self.cancelled
    }

    fn of(&self, outcome: Outcome) -> u64 {
        match outcome {
            Outcome::Completed => self.completed,
            Outcome::Panicked => self.panicked,
            Outcome::Cancelled => self.cancelled,
        }
    }
}

/// Counts the drop of the future (or closure) it travels with.
struct DropCount(Arc<Ledger>, Kind);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.books(self.1).dropped.fetch_add(1, Relaxed);
    }
}

/// The books of every kind.
#[derive(Debug, Default)]
pub struct Ledger {
    books: [Books; Kind::ALL.len()],
}

impl Ledger {
    fn books(&self, kind: Kind) -> &Books {
        &self.books[kind as usize]
    }

    #[track_caller]
    fn start(self: &Arc<Ledger>, kind: Kind) -> DropCount {
        let books = self.books(kind);
        let here = Location::caller();
        if *books.site.get_or_init(|| here) != here {
            books.other_sites.fetch_add(1, Relaxed);
        }
        books.started.fetch_add(1, Relaxed);
        DropCount(self.clone(), kind)
    }

    /// Spawns `future` as a task of `kind` on the current runtime.
    #[track_caller]
    pub fn spawn<F>(self: &Arc<Ledger>, kind: Kind, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let guard = self.start(kind);
        goro::spawn(async move {
            let _guard = guard;
            future.await
        })
    }

    /// Runs `f` on the current runtime's blocking pool as a task of `kind`.
    #[track_caller]
    pub fn spawn_blocking<R: Send + 'static>(
        self: &Arc<Ledger>,
        kind: Kind,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> JoinHandle<R> {
        let guard = self.start(kind);
        goro::task::spawn_blocking(move || {
            let _guard = guard;
            f()
        })
    }

    /// Awaits `handle` of a task of `kind` and books its outcome; `Some(value)` if it
    /// completed.
    pub async fn settle<T>(&self, kind: Kind, handle: JoinHandle<T>) -> Option<T> {
        let result: Result<T, JoinError> = handle.await;
        let books = self.books(kind);
        match result {
            Ok(value) => {
                books.completed.fetch_add(1, Relaxed);
                Some(value)
            }
            Err(e) if e.is_panic() => {
                books.panicked.fetch_add(1, Relaxed);
                None
            }
            Err(_) => {
                books.cancelled.fetch_add(1, Relaxed);
                None
            }
        }
    }

    /// Books a task of `kind` that completed with a value other than the one expected.
    pub fn wrong_value(&self, kind: Kind) {
        self.books(kind).wrong.fetch_add(1, Relaxed);
    }

    /// A copy of `kind`'s counts.
    pub fn counts(&self, kind: Kind) -> Counts {
        let b = self.books(kind);
        Counts {
            started: b.started.load(Relaxed),
            completed: b.completed.load(Relaxed),
            panicked: b.panicked.load(Relaxed),
            cancelled: b.cancelled.load(Relaxed),
            dropped: b.dropped.load(Relaxed),
            wrong: b.wrong.load(Relaxed),
        }
    }

    /// Every disagreement between the books, what each kind must come to, and goro's own
    /// `stats` (taken after every task of the soak has been settled). Empty: all agree.
    pub fn check(&self, stats: &Snapshot, orphaned: u64) -> Vec<String> {
        let mut problems = Vec::new();
        let mut total = Counts::default();
        for kind in Kind::ALL {
            let c = self.counts(kind);
            total.started += c.started;
            total.completed += c.completed;
            total.panicked += c.panicked;
            total.cancelled += c.cancelled;
            let name = format!("{kind:?}");
            if c.settled() != c.started {
                problems.push(format!(
                    "{name}: {} started, {} settled",
                    c.started,
                    c.settled()
                ));
            }
            if c.dropped != c.started {
                problems.push(format!(
                    "{name}: {} started, {} futures dropped",
                    c.started, c.dropped
                ));
            }
            let expected = kind.expected();
            if c.of(expected) != c.settled() {
                problems.push(format!("{name}: not every task {expected:?}: {c:?}"));
            }
            if c.wrong > 0 {
                problems.push(format!("{name}: {} tasks returned a wrong value", c.wrong));
            }
            problems.extend(self.check_site(kind, c, stats));
        }
        let goro = &stats.tasks;
        if goro.spawned != total.started || goro.completed != total.settled() {
            problems.push(format!(
                "goro counts {} spawned and {} completed tasks; the soak started {} and settled {}",
                goro.spawned,
                goro.completed,
                total.started,
                total.settled()
            ));
        }
        if goro.live != 0 {
            problems.push(format!("goro counts {} live tasks at the end", goro.live));
        }
        if orphaned != 0 {
            problems.push(format!("goro found {orphaned} orphaned tasks"));
        }
        problems
    }

    /// goro's counts for `kind`'s spawn site against the ledger's.
    fn check_site(&self, kind: Kind, c: Counts, stats: &Snapshot) -> Option<String> {
        let books = self.books(kind);
        if books.other_sites.load(Relaxed) > 0 {
            return Some(format!("{kind:?}: spawned from more than one place"));
        }
        let site = books.site.get()?;
        let goro = stats
            .sites
            .iter()
            .find(|s| std::ptr::eq(s.spawned_at, *site));
        let (spawned, completed) = goro.map_or((0, 0), |s| (s.spawned, s.completed));
        (spawned != c.started || completed != c.settled()).then(|| {
            format!(
                "{kind:?} at {site}: goro counts {spawned} spawned and {completed} completed, \
                 the soak {} and {}",
                c.started,
                c.settled()
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `work` on a fresh runtime and checks the books against its stats.
    fn books_after<F>(work: impl FnOnce(Arc<Ledger>) -> F) -> Vec<String>
    where
        F: Future<Output = ()>,
    {
        let rt = goro::Builder::new().processors(1).build().unwrap();
        let ledger = Arc::new(Ledger::default());
        rt.block_on(work(ledger.clone()));
        // Let detached tasks finish (a panic's backtrace can take a while to print).
        let stats = super::super::quiesce(rt.handle(), std::time::Duration::from_secs(10));
        let orphaned = rt.handle().leak_report().orphaned_total;
        ledger.check(&stats, orphaned)
    }

    /// Spawns and settles a task of three kinds.
    async fn three_kinds(l: Arc<Ledger>) {
        let h = l.spawn(Kind::Churn, async { 2 });
        assert_eq!(l.settle(Kind::Churn, h).await, Some(2));
        let h = l.spawn(Kind::Panic, async {
            panic!("soak ledger test: deliberate")
        });
        assert_eq!(l.settle(Kind::Panic, h).await, None);
        let h = l.spawn(Kind::AbortSleeping, std::future::pending::<()>());
        h.abort();
        assert_eq!(l.settle(Kind::AbortSleeping, h).await, None);
    }

    #[test]
    fn settled_tasks_of_the_right_outcome_agree_with_goro() {
        let problems = books_after(|l| async move {
            let driver = l.spawn(Kind::Driver, three_kinds(l.clone()));
            l.settle(Kind::Driver, driver).await;
        });
        assert!(problems.is_empty(), "{problems:#?}");
    }

    #[test]
    fn an_unsettled_task_is_reported() {
        let problems = books_after(|l| async move {
            drop(l.spawn(Kind::Driver, three_kinds(l.clone())));
        });
        let text = problems.join("\n");
        assert!(text.contains("Driver: 1 started, 0 settled"), "{text}");
        // goro counts the detached driver as spawned and completed; the soak did not settle it.
        assert!(
            text.contains("goro counts 4 spawned and 4 completed"),
            "{text}"
        );
    }

    #[test]
    fn a_wrong_outcome_is_reported() {
        let problems = books_after(|l| async move {
            let h = l.spawn(Kind::Panic, async { 1 });
            l.settle(Kind::Panic, h).await;
        });
        let text = problems.join("\n");
        assert!(text.contains("Panic: not every task Panicked"), "{text}");
    }
}
