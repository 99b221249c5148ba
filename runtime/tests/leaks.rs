//! Leak detection, scenario by scenario, each asserting exactly what the reports say:
//!
//! 1. futures that return `Pending` without keeping the waker are orphaned (count, spawn
//!    site, state, suspension point);
//! 2. wakers dropped by a data structure orphan their tasks at that moment, not before;
//! 3. `reclaim_orphans` on (join handles yield orphaned errors, the futures are dropped) and
//!    off (the tasks stay, their join handles stay pending);
//! 4. tasks stuck on a channel nobody sends to (its sender kept alive) are suspected, not
//!    orphaned, with the right site and count;
//! 5. a site leaking one task every few ms among 100 000 short tasks of other sites ranks
//!    first within a few cycles, and no other site is flagged;
//! 6. stable pools (idle keep-alive connections, long sleepers, busy workers) are not flagged;
//! 7. a task blocking its processor makes a pause and fires the stall alarm;
//! 8. ordinary load makes no orphans at all.
//!
//! Sites are compared as (file, line): every spawn or suspension whose site a test checks
//! sits on the same line as the `line!()` that names it. Stats cycles run every 20 ms and the
//! leak threshold is 200 ms (the churn scenario: 50 ms cycles and the default threshold, so
//! that only the growth rule is at work), so each test takes well under a few seconds; each
//! runs under a time limit.

mod common;

use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::io::Write as _;
use std::panic::Location;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use common::*;
use goro::net::{TcpListener, TcpStream};
use goro::stats::{LeakReport, SuspectReason, TaskDump, TaskInfo, TaskState, WaitOp};
use goro::task::{yield_now, JoinHandle};
use goro::time::{sleep, timeout};
use goro::{Handle, Runtime};

/// The stats interval of most scenarios.
const INTERVAL: Duration = Duration::from_millis(20);
/// The leak threshold of every scenario.
const THRESHOLD: Duration = Duration::from_millis(200);
/// Idle times come from the runtime's coarse clock, which the monitor refreshes every round
/// (up to 10 ms apart): a reported idle time may exceed the true one by that much.
const COARSE: Duration = Duration::from_millis(20);
/// The time limit of one scenario at one processor count.
const LIMIT: Duration = Duration::from_secs(20);

/// A runtime with `n` processors, stats cycles every [`INTERVAL`], leak threshold
/// [`THRESHOLD`], and reclaiming as asked.
fn runtime(n: usize, reclaim: bool) -> Runtime {
    goro::Builder::new()
        .processors(n)
        .stats_interval(INTERVAL)
        .leak_threshold(THRESHOLD)
        .reclaim_orphans(reclaim)
        .build()
        .expect("build a runtime with stats")
}

/// Asserts that `site` is `file!()`:`line`.
#[track_caller]
fn assert_site(site: &Location<'_>, line: u32, what: &str) {
    assert_eq!(
        (site.file(), site.line()),
        (file!(), line),
        "{what}: wrong site {site}"
    );
}

/// Whether `site` is `file!()`:`line`.
fn is_site(site: &Location<'_>, line: u32) -> bool {
    site.file() == file!() && site.line() == line
}

/// Waits (polling every millisecond) until the leak report satisfies `cond`; returns it.
#[track_caller]
fn wait_report(
    h: &Handle,
    limit: Duration,
    what: &str,
    mut cond: impl FnMut(&LeakReport) -> bool,
) -> LeakReport {
    let deadline = Instant::now() + limit;
    loop {
        let report = h.leak_report();
        if cond(&report) {
            return report;
        }
        if Instant::now() > deadline {
            panic!("timed out after {limit:?} waiting for: {what}\nlast report:\n{report:#?}");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Waits until `n` more stats cycles than `since` have run.
fn wait_cycles(h: &Handle, since: u64, n: u64) {
    wait_until(Duration::from_secs(5), "stats cycles", || {
        h.pauses().num_cycles >= since + n
    });
}

/// The tasks of a dump spawned at `file!()`:`line`.
fn tasks_spawned_at(dump: &TaskDump, line: u32) -> Vec<TaskInfo> {
    dump.groups
        .iter()
        .flat_map(|g| g.tasks.iter())
        .filter(|t| is_site(t.spawned_at, line))
        .cloned()
        .collect()
}

/// Waits until `n` tasks spawned at `line` are idle (returned `Pending`, not scheduled).
fn wait_idle(h: &Handle, line: u32, n: usize) {
    wait_until(Duration::from_secs(5), "tasks idle", || {
        let tasks = tasks_spawned_at(&h.tasks(), line);
        tasks.len() == n && tasks.iter().all(|t| t.state == TaskState::Idle)
    });
}

/// Sorted task ids.
fn ids(tasks: &[TaskInfo]) -> Vec<u64> {
    let mut v: Vec<u64> = tasks.iter().map(|t| t.id).collect();
    v.sort_unstable();
    v
}

fn sorted(mut v: Vec<u64>) -> Vec<u64> {
    v.sort_unstable();
    v
}

/// Pending forever, and never even looks at its waker: orphaned after its first poll.
async fn never_woken(guard: DropGuard) {
    let _guard = guard;
    poll_fn(|_cx| Poll::<()>::Pending).await
}

// ---------------------------------------------------------------------------------------
// Small synchronisation primitives written for the tests (not goro's: a task waiting on
// them has no goro suspension point).

/// A one-shot channel. Dropping the sender (after `send` or without) wakes the receiver,
/// which then yields the value or `None`.
struct Slot<T> {
    value: Option<T>,
    closed: bool,
    waker: Option<Waker>,
}

struct Sender<T>(Arc<Mutex<Slot<T>>>);
struct Receiver<T>(Arc<Mutex<Slot<T>>>);

fn oneshot<T>() -> (Sender<T>, Receiver<T>) {
    let slot = Arc::new(Mutex::new(Slot {
        value: None,
        closed: false,
        waker: None,
    }));
    (Sender(slot.clone()), Receiver(slot))
}

impl<T> Sender<T> {
    fn send(self, value: T) {
        self.0.lock().unwrap().value = Some(value);
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let waker = {
            let mut slot = self.0.lock().unwrap();
            slot.closed = true;
            slot.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = Option<T>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut slot = self.0.lock().unwrap();
        if let Some(v) = slot.value.take() {
            return Poll::Ready(Some(v));
        }
        if slot.closed {
            return Poll::Ready(None);
        }
        slot.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// A multi-producer multi-consumer queue; a send wakes every waiting receiver.
struct Chan<T>(Arc<Mutex<(VecDeque<T>, Vec<Waker>)>>);

impl<T> Clone for Chan<T> {
    fn clone(&self) -> Self {
        Chan(self.0.clone())
    }
}

impl<T> Chan<T> {
    fn new() -> Self {
        Chan(Arc::new(Mutex::new((VecDeque::new(), Vec::new()))))
    }

    fn send(&self, value: T) {
        let waiters = {
            let mut inner = self.0.lock().unwrap();
            inner.0.push_back(value);
            std::mem::take(&mut inner.1)
        };
        for w in waiters {
            w.wake();
        }
    }

    fn recv(&self) -> impl Future<Output = T> + '_ {
        poll_fn(move |cx| {
            let mut inner = self.0.lock().unwrap();
            match inner.0.pop_front() {
                Some(v) => Poll::Ready(v),
                None => {
                    if !inner.1.iter().any(|w| w.will_wake(cx.waker())) {
                        inner.1.push(cx.waker().clone());
                    }
                    Poll::Pending
                }
            }
        })
    }
}

/// Wakers parked by [`Park`] futures, with the id of the task each belongs to.
type Bag = Arc<Mutex<Vec<(u64, Waker)>>>;

/// Registers its task's waker in a bag once, then is pending until `open` is set.
struct Park {
    bag: Bag,
    open: Arc<AtomicBool>,
    registered: bool,
}

impl Future for Park {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.open.load(SeqCst) {
            return Poll::Ready(());
        }
        if !self.registered {
            let id = goro::task::try_id().expect("polled in a task").as_u64();
            self.bag.lock().unwrap().push((id, cx.waker().clone()));
            self.registered = true;
        }
        Poll::Pending
    }
}

/// `count` tasks spawned at one line, each parked on a [`Park`] in one bag that holds their
/// wakers. Returned once every waker is in the bag.
struct Parked {
    bag: Bag,
    open: Arc<AtomicBool>,
    handles: Vec<goro::task::JoinHandle<()>>,
    line: u32,
}

fn spawn_parked(rt: &Runtime, count: usize) -> Parked {
    let bag: Bag = Arc::default();
    let open = Arc::new(AtomicBool::new(false));
    let mut handles = Vec::new();
    let mut line = 0;
    for _ in 0..count {
        let park = Park {
            bag: bag.clone(),
            open: open.clone(),
            registered: false,
        };
        let (jh, at) = (rt.spawn(park), line!());
        handles.push(jh);
        line = at;
    }
    wait_until(Duration::from_secs(5), "the parked wakers", || {
        bag.lock().unwrap().len() == count
    });
    Parked {
        bag,
        open,
        handles,
        line,
    }
}

// ---------------------------------------------------------------------------------------
// 1. Futures that return Pending without keeping the waker.

#[test]
fn pending_without_keeping_the_waker_is_orphaned() {
    each_procs(LIMIT, |n| {
        const N: usize = 5;
        let rt = runtime(n, false);
        let h = rt.handle().clone();
        let clean = h.leak_report();
        assert!(clean.orphaned.is_empty(), "{clean:#?}");
        assert_eq!((clean.orphaned_total, clean.reclaimed), (0, 0));

        // A legitimately idle task (its waker is kept in a slot): never orphaned.
        let slot = WakerSlot::default();
        let flag = Arc::new(AtomicBool::new(false));
        let until = UntilFlag {
            flag: flag.clone(),
            slot: slot.clone(),
        };
        let decoy = rt.spawn(until);

        let drops = counter();
        let mut handles = Vec::new();
        let mut line = 0;
        for _ in 0..N {
            let fut = never_woken(DropGuard(drops.clone()));
            let (jh, at) = (rt.spawn(fut), line!());
            handles.push(jh);
            line = at;
        }
        let report = wait_report(&h, Duration::from_secs(5), "5 orphans", |r| {
            r.orphaned_total >= N as u64
        });
        wait_until(Duration::from_secs(1), "the decoy parks its waker", || {
            slot.is_set()
        });
        let report_ids = ids(&report.orphaned);
        let handle_ids = sorted(handles.iter().map(|jh| jh.id().as_u64()).collect());
        assert_eq!(report_ids, handle_ids, "{report:#?}");
        assert_eq!(report.orphaned.len(), N);
        assert_eq!(report.orphaned_total, N as u64);
        assert_eq!(report.reclaimed, 0);
        for t in &report.orphaned {
            assert_site(t.spawned_at, line, "orphan spawn site");
            assert_eq!(t.state, TaskState::Orphaned, "{t:#?}");
            assert_eq!(t.suspended_at, None, "{t:#?}");
            assert_eq!(t.wait_op, None, "{t:#?}");
            assert_eq!((t.polls, t.wakes, t.wakers), (1, 0, 0), "{t:#?}");
            assert!(t.idle <= t.age, "{t:#?}");
        }
        // The orphans are still alive (reclaim is off) and their futures are not dropped.
        assert_eq!(report.live_tasks, N as u64 + 1, "{report:#?}");
        assert_eq!(h.stats().tasks.orphaned, N as u64);
        let current = rt.block_on(async { goro::stats::leak_report() });
        assert_eq!(current.orphaned_total, N as u64);
        assert!(handles.iter().all(|jh| !jh.is_finished()));
        assert_eq!(drops.load(SeqCst), 0);

        // Waking the decoy completes it; it never shows up as orphaned.
        flag.store(true, SeqCst);
        assert!(slot.wake());
        rt.block_on(decoy).unwrap();
        let after = h.leak_report();
        assert_eq!(after.orphaned_total, N as u64, "{after:#?}");
        assert_eq!(ids(&after.orphaned), handle_ids);

        // Shutting down drops the orphans' futures.
        drop(handles);
        drop(rt);
        assert_eq!(drops.load(SeqCst), N);
    });
}

#[test]
fn orphan_polled_a_goro_sleep_with_a_foreign_waker() {
    // The task polls a goro sleep with a waker of its own making: the timer holds that
    // waker, not the task's, so the task is orphaned, suspended at the sleep.
    each_procs(LIMIT, |n| {
        let rt = runtime(n, false);
        let h = rt.handle().clone();
        let sleep_line = Arc::new(AtomicU64::new(0));
        let sl = sleep_line.clone();
        let fut = async move {
            let (s, at) = (sleep(Duration::from_secs(60)), line!());
            sl.store(u64::from(at), SeqCst);
            let mut s = Box::pin(s);
            let foreign = noop_waker();
            poll_fn(|_cx| s.as_mut().poll(&mut Context::from_waker(&foreign))).await
        };
        let (jh, line) = (rt.spawn(fut), line!());
        let report = wait_report(&h, Duration::from_secs(5), "the orphan", |r| {
            r.orphaned_total == 1
        });
        assert_eq!(report.orphaned.len(), 1);
        let t = &report.orphaned[0];
        assert_eq!(t.id, jh.id().as_u64());
        assert_site(t.spawned_at, line, "spawn site");
        let at = t.suspended_at.expect("suspended at the goro sleep");
        assert_site(at, sleep_line.load(SeqCst) as u32, "suspension point");
        assert_eq!(t.wait_op, Some(WaitOp::Sleep));
        assert_eq!((t.state, t.polls, t.wakers), (TaskState::Orphaned, 1, 0));
        assert!(!jh.is_finished());
    });
}

// ---------------------------------------------------------------------------------------
// 2. Wakers dropped by a data structure.

#[test]
fn wakers_dropped_by_a_data_structure_orphan_their_tasks_then() {
    each_procs(LIMIT, |n| {
        const N: usize = 6;
        let rt = runtime(n, false);
        let h = rt.handle().clone();
        let Parked {
            bag,
            open,
            handles,
            line,
        } = spawn_parked(&rt, N);
        wait_idle(&h, line, N);
        // Parked with their wakers held: nothing is orphaned, however long they wait.
        wait_cycles(&h, h.pauses().num_cycles, 2);
        let before = h.leak_report();
        assert!(before.orphaned.is_empty(), "{before:#?}");
        assert_eq!(before.orphaned_total, 0);

        // Another task drops three of the wakers: those three are orphaned right then.
        let b = bag.clone();
        let dropped: Vec<u64> = rt
            .block_on(rt.spawn(async move {
                let gone: Vec<(u64, Waker)> = b.lock().unwrap().drain(..3).collect();
                gone.into_iter().map(|(id, _waker)| id).collect()
            }))
            .unwrap();
        let report = h.leak_report();
        assert_eq!(
            report.orphaned_total, 3,
            "not orphaned at once: {report:#?}"
        );
        assert_eq!(ids(&report.orphaned), sorted(dropped.clone()));
        for t in &report.orphaned {
            assert_site(t.spawned_at, line, "orphan spawn site");
            assert_eq!(t.state, TaskState::Orphaned);
            assert_eq!((t.suspended_at, t.wait_op), (None, None));
            assert_eq!((t.polls, t.wakes, t.wakers), (1, 0, 0), "{t:#?}");
        }

        // A thread outside the runtime drops one more.
        let b = bag.clone();
        let last = std::thread::spawn(move || b.lock().unwrap().pop().unwrap().0)
            .join()
            .unwrap();
        let report = h.leak_report();
        assert_eq!(report.orphaned_total, 4, "{report:#?}");
        let mut expected = dropped.clone();
        expected.push(last);
        assert_eq!(ids(&report.orphaned), sorted(expected.clone()));

        // The other two are woken and complete; the orphans stay pending.
        open.store(true, SeqCst);
        let woken: Vec<(u64, Waker)> = bag.lock().unwrap().drain(..).collect();
        assert_eq!(woken.len(), 2);
        let woken_ids: Vec<u64> = woken.iter().map(|(id, _)| *id).collect();
        for (_, w) in woken {
            w.wake();
        }
        for jh in handles {
            let id = jh.id().as_u64();
            if woken_ids.contains(&id) {
                rt.block_on(jh).unwrap();
            } else {
                assert!(expected.contains(&id));
                assert!(!jh.is_finished());
            }
        }
        // (A join handle yields the output a moment before the task leaves the registry.)
        wait_until(Duration::from_secs(1), "4 live tasks", || {
            h.live_tasks() == 4
        });
        let report = h.leak_report();
        assert_eq!(report.orphaned_total, 4, "{report:#?}");
        assert_eq!(report.live_tasks, 4);
    });
}

// ---------------------------------------------------------------------------------------
// 3. Reclaim on and off.

#[test]
fn reclaim_on_cancels_orphans_and_their_join_handles_say_so() {
    each_procs(LIMIT, |n| {
        const N: usize = 4;
        const M: usize = 3;
        let rt = runtime(n, true);
        let h = rt.handle().clone();
        let drops = counter();
        let mut never = Vec::new();
        let mut line = 0;
        for _ in 0..N {
            let fut = never_woken(DropGuard(drops.clone()));
            let (jh, at) = (rt.spawn(fut), line!());
            never.push(jh);
            line = at;
        }
        for jh in never {
            let err = rt.block_on(jh).expect_err("an orphan cannot complete");
            assert!(err.is_orphaned(), "{err:?}");
            assert!(err.is_cancelled() && !err.is_panic(), "{err:?}");
        }
        assert_eq!(drops.load(SeqCst), N, "the orphans' futures are dropped");

        // Tasks orphaned later, by a data structure dropping their wakers.
        let Parked {
            bag,
            handles: parked,
            line: park_line,
            ..
        } = spawn_parked(&rt, M);
        wait_idle(&h, park_line, M);
        assert_eq!(h.leak_report().orphaned_total, N as u64);
        bag.lock().unwrap().clear();
        for jh in parked {
            let err = rt.block_on(jh).expect_err("an orphan cannot complete");
            assert!(err.is_orphaned() && err.is_cancelled(), "{err:?}");
        }

        wait_until(Duration::from_secs(2), "live tasks drop to 0", || {
            h.live_tasks() == 0
        });
        let report = h.leak_report();
        assert_eq!(report.orphaned_total, (N + M) as u64, "{report:#?}");
        assert_eq!(report.reclaimed, (N + M) as u64, "{report:#?}");
        assert_eq!(report.live_tasks, 0);
        assert_eq!(report.orphaned.len(), N + M);
        let at_line = report
            .orphaned
            .iter()
            .filter(|t| is_site(t.spawned_at, line))
            .count();
        let at_park = report
            .orphaned
            .iter()
            .filter(|t| is_site(t.spawned_at, park_line))
            .count();
        assert_eq!((at_line, at_park), (N, M), "{report:#?}");
        assert!(
            report
                .orphaned
                .iter()
                .all(|t| t.state == TaskState::Reclaimed && t.wakers == 0),
            "{report:#?}"
        );
        let tasks = h.stats().tasks;
        assert_eq!((tasks.orphaned, tasks.reclaimed, tasks.live), (7, 7, 0));
    });
}

#[test]
fn reclaim_off_keeps_orphans_alive_and_their_join_handles_pending() {
    each_procs(LIMIT, |n| {
        const N: usize = 4;
        let rt = runtime(n, false);
        let h = rt.handle().clone();
        let drops = counter();
        let mut handles = Vec::new();
        let mut line = 0;
        for _ in 0..N {
            let fut = never_woken(DropGuard(drops.clone()));
            let (jh, at) = (rt.spawn(fut), line!());
            handles.push(jh);
            line = at;
        }
        wait_report(&h, Duration::from_secs(5), "4 orphans", |r| {
            r.orphaned_total == N as u64
        });
        // The join handles stay pending.
        let mut first = handles.remove(0);
        let waited = rt.block_on(async { timeout(Duration::from_millis(100), &mut first).await });
        assert!(
            waited.is_err(),
            "an orphan's join handle completed: {waited:?}"
        );
        handles.insert(0, first);
        assert!(handles.iter().all(|jh| !jh.is_finished()));
        // Several cycles later the orphans are still there, still live, not reclaimed.
        wait_cycles(&h, h.pauses().num_cycles, 3);
        let report = h.leak_report();
        assert_eq!(report.orphaned_total, N as u64, "{report:#?}");
        assert_eq!(report.orphaned.len(), N);
        assert_eq!(report.reclaimed, 0);
        assert_eq!(report.live_tasks, N as u64);
        assert_eq!(h.live_tasks(), N);
        for t in &report.orphaned {
            assert_site(t.spawned_at, line, "orphan spawn site");
            assert_eq!((t.state, t.wakers), (TaskState::Orphaned, 0));
        }
        // An orphan is not a suspect: it is reported once, as what it is.
        assert!(report.suspected.is_empty(), "{report:#?}");
        assert_eq!(drops.load(SeqCst), 0, "reclaim is off: nothing dropped");
        drop(handles);
        drop(rt);
        assert_eq!(drops.load(SeqCst), N, "shutdown drops the orphans' futures");
    });
}

// ---------------------------------------------------------------------------------------
// 4. Tasks stuck on a channel nobody sends to (the sender is kept alive).

#[test]
fn tasks_stuck_on_a_channel_are_suspected_not_orphaned() {
    each_procs(LIMIT, |n| {
        const N: usize = 7;
        let rt = runtime(n, false);
        let h = rt.handle().clone();
        let mut senders: Vec<Sender<u32>> = Vec::new();
        let mut handles = Vec::new();
        let start = Instant::now();
        let mut line = 0;
        for _ in 0..N {
            let (tx, rx) = oneshot::<u32>();
            senders.push(tx);
            let (jh, at) = (rt.spawn(rx), line!());
            handles.push(jh);
            line = at;
        }
        wait_idle(&h, line, N);
        // Before anything has been idle for the threshold, nothing is suspected.
        let early = h.leak_report();
        if start.elapsed() + COARSE < THRESHOLD {
            assert!(early.suspected.is_empty(), "{early:#?}");
        }

        let report = wait_report(&h, Duration::from_secs(5), "a suspect", |r| {
            !r.suspected.is_empty()
        });
        let elapsed = start.elapsed();
        assert!(
            elapsed + COARSE > THRESHOLD,
            "suspected after {elapsed:?}: {report:#?}"
        );
        assert_eq!(report.suspected.len(), 1, "{report:#?}");
        assert!(report.orphaned.is_empty() && report.orphaned_total == 0);
        let s = &report.suspected[0];
        assert_site(s.spawned_at, line, "suspect");
        assert_eq!((s.suspended_at, s.wait_op), (None, None));
        assert_eq!(s.live, N as u64, "{report:#?}");
        assert_eq!(s.reason, SuspectReason::StuckInProcess, "{report:#?}");
        assert!(
            s.oldest_idle > THRESHOLD && s.oldest_idle < elapsed + COARSE,
            "elapsed {elapsed:?}: {s:#?}"
        );
        // It stays suspected, with the same count, cycle after cycle.
        wait_cycles(&h, report.cycles, 3);
        let again = h.leak_report();
        assert_eq!(again.suspected.len(), 1, "{again:#?}");
        assert_eq!(again.suspected[0].live, N as u64);
        assert!(again.suspected[0].oldest_idle > s.oldest_idle);

        // Once they are sent to, they complete and nothing is suspected any more.
        for (i, tx) in senders.drain(..).enumerate() {
            tx.send(i as u32);
        }
        for (i, jh) in handles.into_iter().enumerate() {
            assert_eq!(rt.block_on(jh).unwrap(), Some(i as u32));
        }
        let cleared = wait_report(&h, Duration::from_secs(2), "no suspects", |r| {
            r.suspected.is_empty()
        });
        assert_eq!(cleared.orphaned_total, 0);
    });
}

/// Returns `v`, noting `line` in `slot` first.
fn noting<T>(slot: &AtomicU64, line: u32, v: T) -> T {
    slot.store(u64::from(line), SeqCst);
    v
}

#[test]
fn a_task_joining_a_stuck_task_is_suspected_at_its_await() {
    each_procs(LIMIT, |n| {
        let rt = runtime(n, false);
        let h = rt.handle().clone();
        let (tx, rx) = oneshot::<u32>();
        let (child_line, join_line) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (cl, jl) = (child_line.clone(), join_line.clone());
        let parent = async move {
            let child = noting(&cl, line!(), goro::spawn(rx));
            noting(&jl, line!(), child).await.unwrap()
        };
        let (parent, parent_line) = (rt.spawn(parent), line!());
        let report = wait_report(&h, Duration::from_secs(5), "2 suspects", |r| {
            r.suspected.len() >= 2
        });
        assert_eq!(report.suspected.len(), 2, "{report:#?}");
        assert_eq!(report.orphaned_total, 0);
        let child_line = child_line.load(SeqCst) as u32;
        let child = report
            .suspected
            .iter()
            .find(|s| is_site(s.spawned_at, child_line))
            .unwrap_or_else(|| panic!("the child is not suspected: {report:#?}"));
        assert_eq!(
            (child.live, child.suspended_at, child.wait_op),
            (1, None, None)
        );
        assert_eq!(child.reason, SuspectReason::StuckInProcess);
        let joining = report
            .suspected
            .iter()
            .find(|s| is_site(s.spawned_at, parent_line))
            .unwrap_or_else(|| panic!("the parent is not suspected: {report:#?}"));
        assert_eq!((joining.live, joining.wait_op), (1, Some(WaitOp::Join)));
        assert_eq!(joining.reason, SuspectReason::StuckInProcess);
        let at = joining.suspended_at.expect("suspended at the .await");
        assert_site(at, join_line.load(SeqCst) as u32, "join suspension point");

        tx.send(5);
        assert_eq!(rt.block_on(parent).unwrap(), Some(5));
        wait_report(&h, Duration::from_secs(2), "no suspects", |r| {
            r.suspected.is_empty()
        });
    });
}

// ---------------------------------------------------------------------------------------
// 5. One leaking site among 100 000 short tasks.

#[test]
fn leaking_site_ranks_first_among_100k_short_tasks() {
    each_procs(Duration::from_secs(30), |n| {
        const TOTAL: usize = 100_000;
        const BATCH: usize = 1_000;
        let interval = Duration::from_millis(50);
        let rt = goro::Builder::new()
            .processors(n)
            .stats_interval(interval)
            // The default threshold: only the growth rule can flag a site here, which is
            // what this scenario is about (a starved leaker would also be stuck past a
            // 200 ms threshold, and flagged for that instead).
            .leak_threshold(Duration::from_secs(30))
            .build()
            .unwrap();
        let h = rt.handle().clone();
        let stop = Arc::new(AtomicBool::new(false));
        let leaked = Arc::new(AtomicUsize::new(0));
        let kept: Arc<Mutex<Vec<Sender<()>>>> = Arc::default();
        let leak_line = Arc::new(AtomicU64::new(0));
        let churn_lines = Arc::new(Mutex::new(Vec::<u32>::new()));
        let churned = Arc::new(AtomicUsize::new(0));

        // The leaker: one task every 3 ms, each waiting on a channel whose sender is kept.
        let (s, l, k, ll) = (
            stop.clone(),
            leaked.clone(),
            kept.clone(),
            leak_line.clone(),
        );
        let leaker = rt.spawn(async move {
            while !s.load(SeqCst) {
                let (tx, rx) = oneshot::<()>();
                k.lock().unwrap().push(tx);
                let (_jh, at) = (goro::spawn(rx), line!());
                ll.store(u64::from(at), SeqCst);
                l.fetch_add(1, SeqCst);
                sleep(Duration::from_millis(3)).await;
            }
        });

        // The churn: batches of short tasks from four other sites, paced over many cycles.
        let (cl, c) = (churn_lines.clone(), churned.clone());
        let churn = rt.spawn(async move {
            let mut handles = Vec::with_capacity(BATCH);
            for _ in 0..TOTAL / BATCH {
                for i in 0..BATCH / 4 {
                    let (a, la) = (goro::spawn(async { yield_now().await }), line!());
                    let d = Duration::from_micros(200 * (i as u64 % 5));
                    let (b, lb) = (goro::spawn(async move { sleep(d).await }), line!());
                    let (tx, rx) = oneshot::<usize>();
                    let recv = async move { assert_eq!(rx.await, Some(i)) };
                    let (r, lr) = (goro::spawn(recv), line!());
                    let send = async move {
                        yield_now().await;
                        tx.send(i)
                    };
                    let (s, ls) = (goro::spawn(send), line!());
                    let mut lines = cl.lock().unwrap();
                    if lines.is_empty() {
                        *lines = vec![la, lb, lr, ls];
                    }
                    drop(lines);
                    handles.extend([a, b, r, s]);
                }
                for jh in handles.drain(..) {
                    jh.await.unwrap();
                }
                c.fetch_add(BATCH, SeqCst);
                sleep(Duration::from_millis(4)).await;
            }
        });

        // Watch every report while it runs: nothing but the leaking site may be flagged.
        let start_cycles = h.pauses().num_cycles;
        let mut ranked_first_at: Option<u64> = None;
        let mut churned_then = 0;
        let mut reports = 0;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let report = h.leak_report();
            reports += 1;
            let line = leak_line.load(SeqCst) as u32;
            for s in &report.suspected {
                assert!(
                    is_site(s.spawned_at, line),
                    "a site other than the leaking one is flagged after {} cycles: {report:#?}",
                    report.cycles - start_cycles
                );
            }
            if let Some(first) = report.suspected.first() {
                assert_eq!((first.suspended_at, first.wait_op), (None, None));
                assert_eq!(first.reason, SuspectReason::Growing, "{report:#?}");
                assert!(first.growth >= 3, "{report:#?}");
                assert!(first.live <= leaked.load(SeqCst) as u64, "{report:#?}");
                if ranked_first_at.is_none() {
                    ranked_first_at = Some(report.cycles);
                    churned_then = churned.load(SeqCst);
                }
            }
            if ranked_first_at.is_some() && churn.is_finished() {
                break;
            }
            assert!(Instant::now() < deadline, "timed out: {report:#?}");
            std::thread::sleep(Duration::from_millis(5));
        }
        let detected = ranked_first_at.unwrap() - start_cycles;
        assert!(
            detected <= 10,
            "the leaking site ranked first only after {detected} cycles"
        );
        assert!(
            churned_then < TOTAL,
            "the churn was over before the leak was found"
        );
        assert!(reports > 10);
        assert_eq!(churned.load(SeqCst), TOTAL);
        rt.block_on(churn).unwrap();

        // The churn sites completed every task they spawned.
        let stats = h.stats();
        for line in churn_lines.lock().unwrap().iter() {
            let site = stats
                .sites
                .iter()
                .find(|s| is_site(s.spawned_at, *line))
                .unwrap_or_else(|| panic!("no stats for site line {line}"));
            assert_eq!(
                (site.spawned, site.completed, site.live),
                ((TOTAL / 4) as u64, (TOTAL / 4) as u64, 0)
            );
        }
        // The leaked tasks are held by their channels: none is orphaned.
        stop.store(true, SeqCst);
        rt.block_on(leaker).unwrap();
        let report = h.leak_report();
        assert_eq!(report.orphaned_total, 0, "{report:#?}");
        let line = leak_line.load(SeqCst) as u32;
        let leaking = stats
            .sites
            .iter()
            .find(|s| is_site(s.spawned_at, line))
            .expect("the leaking site");
        assert_eq!(leaking.completed, 0);
        assert_eq!(leaking.live, leaking.spawned);
        eprintln!(
            "leaking site ranked first after {detected} cycles ({churned_then} short tasks \
             done), {} leaked",
            leaked.load(SeqCst)
        );
        drop(kept);
    });
}

// ---------------------------------------------------------------------------------------
// 6. Stable idle pools and long sleepers.

#[test]
fn stable_pools_and_long_sleepers_are_not_flagged() {
    each_procs(LIMIT, |n| {
        const CONNS: usize = 50;
        const SLEEPERS: usize = 20;
        const WORKERS: usize = 8;
        let rt = runtime(n, false);
        let h = rt.handle().clone();
        let lines = Arc::new(Mutex::new((0u32, 0u32)));

        // Keep-alive connections: a reader per accepted connection, idle on its socket.
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).expect("bind");
        let addr = listener.local_addr().unwrap();
        let l = lines.clone();
        let server = rt.spawn(async move {
            for _ in 0..CONNS {
                let (mut s, _) = listener.accept().await.expect("accept");
                let reader = async move {
                    let mut buf = [0u8; 64];
                    loop {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(k) => s.write_all(&buf[..k]).await.unwrap(),
                        }
                    }
                };
                let (_jh, at) = (goro::spawn(reader), line!());
                l.lock().unwrap().0 = at;
            }
        });
        let mut clients = Vec::new();
        for i in 0..CONNS {
            let mut c = std::net::TcpStream::connect(addr).expect("connect");
            c.write_all(&[i as u8]).unwrap();
            clients.push(c);
        }
        for c in &mut clients {
            let mut b = [0u8; 1];
            std::io::Read::read_exact(c, &mut b).unwrap();
        }
        rt.block_on(server).unwrap();

        // Long sleepers.
        let sleep_line = Arc::new(AtomicU64::new(0));
        let mut sleeper_line = 0;
        for _ in 0..SLEEPERS {
            let sl = sleep_line.clone();
            let long = async move {
                noting(&sl, line!(), sleep(Duration::from_secs(60))).await;
            };
            let (_jh, at) = (rt.spawn(long), line!());
            sleeper_line = at;
        }

        // Workers on a channel that gets a message for each every 10 ms.
        let chan: Chan<u32> = Chan::new();
        let done = counter();
        let mut worker_line = 0;
        for _ in 0..WORKERS {
            let (c, d) = (chan.clone(), done.clone());
            let work = async move {
                while c.recv().await != u32::MAX {
                    d.fetch_add(1, SeqCst);
                }
            };
            let (_jh, at) = (rt.spawn(work), line!());
            worker_line = at;
        }
        let c = chan.clone();
        let producer = rt.spawn(async move {
            let mut tick = goro::time::interval(Duration::from_millis(10));
            loop {
                tick.tick().await;
                for i in 0..WORKERS {
                    c.send(i as u32);
                }
            }
        });

        // Watch for longer than the threshold: nothing suspected, nothing orphaned.
        let start = Instant::now();
        let start_cycles = h.pauses().num_cycles;
        let watch = THRESHOLD * 3;
        while start.elapsed() < watch {
            let report = h.leak_report();
            assert!(report.suspected.is_empty(), "{report:#?}");
            assert!(report.orphaned.is_empty() && report.orphaned_total == 0);
            std::thread::sleep(INTERVAL / 2);
        }
        let report = h.leak_report();
        assert!(report.suspected.is_empty(), "{report:#?}");
        assert_eq!(report.orphaned_total, 0);
        assert!(report.cycles >= start_cycles + 15, "{report:#?}");
        assert!(
            done.load(SeqCst) >= 20 * WORKERS,
            "the workers got messages"
        );

        // The pools really were there and idle past the threshold.
        let dump = h.tasks();
        let reader_line = lines.lock().unwrap().0;
        let readers = tasks_spawned_at(&dump, reader_line);
        assert_eq!(readers.len(), CONNS, "{dump:#?}");
        for t in &readers {
            assert_eq!(t.state, TaskState::Idle);
            assert_eq!(t.wait_op, Some(WaitOp::TcpRead), "{t:#?}");
            assert!(t.idle > THRESHOLD, "{t:#?}");
        }
        let sleepers = tasks_spawned_at(&dump, sleeper_line);
        assert_eq!(sleepers.len(), SLEEPERS);
        for t in &sleepers {
            assert_eq!((t.state, t.wait_op), (TaskState::Idle, Some(WaitOp::Sleep)));
            let sleep_line = sleep_line.load(SeqCst) as u32;
            assert_site(t.suspended_at.expect("at the sleep"), sleep_line, "sleep");
            assert!(t.idle > THRESHOLD, "{t:#?}");
        }
        let workers = tasks_spawned_at(&dump, worker_line);
        assert_eq!(workers.len(), WORKERS);
        assert!(workers.iter().all(|t| t.wait_op.is_none()));

        producer.abort();
        drop(clients);
    });
}

// ---------------------------------------------------------------------------------------
// 7. A task blocking its processor.

#[test]
fn a_blocked_processor_makes_a_pause_and_fires_the_stall_alarm() {
    within(LIMIT, || {
        const WINDOW: usize = 5;
        let rt = goro::Builder::new()
            .processors(1)
            .stats_interval(INTERVAL)
            .leak_threshold(THRESHOLD)
            .stall_alarm(3.2, WINDOW)
            .build()
            .unwrap();
        let h = rt.handle().clone();
        // Quiet cycles first, enough for a baseline (2 x window).
        wait_cycles(&h, 0, 2 * WINDOW as u64 + 2);
        let quiet = h.pauses();
        assert_eq!(quiet.stall_alarms, 0, "a quiet runtime alarmed: {quiet:#?}");
        assert_eq!(h.leak_report().stall_alarms, 0);

        let ran = Arc::new(Mutex::new(None::<Instant>));
        let r = ran.clone();
        let blocker = rt.spawn(async move {
            goro::spawn(async move {
                *r.lock().unwrap() = Some(Instant::now());
            });
            // Hogging the CPU: the processor is handed off after `handoff_after` (10 ms). A
            // poll asleep in the kernel would lose it within a fraction of a millisecond.
            let start = Instant::now();
            while start.elapsed() < Duration::from_millis(200) {
                std::hint::spin_loop();
            }
            (start, Instant::now())
        });
        let (blocked_at, unblocked_at) = rt.block_on(blocker).unwrap();
        let ran_at = ran.lock().unwrap().expect("the other task ran");
        // The monitor handed the processor off: the other task did not wait for the sleep.
        assert!(
            ran_at < unblocked_at,
            "the runnable task waited {:?} for the blocked one",
            ran_at - blocked_at
        );

        let before = quiet.num_cycles;
        wait_cycles(&h, h.pauses().num_cycles, 3);
        let p = h.pauses();
        let new = (p.num_cycles - before) as usize;
        let longest = p.pauses[..new.min(p.pauses.len())]
            .iter()
            .max()
            .copied()
            .unwrap_or_default();
        assert!(longest >= Duration::from_millis(5), "{p:#?}");
        assert!(
            p.pause_total >= quiet.pause_total + Duration::from_millis(5),
            "{p:#?}"
        );
        assert!(p.quantiles.max >= Duration::from_millis(5), "{p:#?}");
        assert!(p.stall_alarms >= 1, "no stall alarm: {p:#?}");
        assert!(h.leak_report().stall_alarms >= 1);
        assert_eq!(h.stats().pauses.stall_alarms, h.pauses().stall_alarms);
    });
}

/// Work that is not queued yet is runnable work too: with one processor, tasks whose timers
/// are due behind a poll that hogs the CPU make a pause (about `handoff_after`, when the
/// monitor hands the processor off), though no task sits in the run queue.
#[test]
fn due_timers_behind_a_hog_make_a_pause() {
    within(LIMIT, || {
        let rt = goro::Builder::new()
            .processors(1)
            .stats_interval(Duration::from_millis(50))
            .build()
            .unwrap();
        let h = rt.handle().clone();
        let stop = Arc::new(AtomicBool::new(false));
        for _ in 0..4 {
            let stop = stop.clone();
            rt.spawn(async move {
                while !stop.load(SeqCst) {
                    sleep(Duration::from_millis(1)).await;
                }
            });
        }
        rt.block_on(async { sleep(Duration::from_millis(20)).await });
        let before = h.pauses().num_cycles;
        rt.block_on(rt.spawn(async {
            let start = Instant::now();
            while start.elapsed() < Duration::from_millis(300) {
                std::hint::spin_loop();
            }
        }))
        .unwrap();
        wait_cycles(&h, h.pauses().num_cycles, 2);
        stop.store(true, SeqCst);
        let p = h.pauses();
        let new = (p.num_cycles - before) as usize;
        let longest = p.pauses[..new.min(p.pauses.len())].iter().max().copied();
        assert!(
            longest >= Some(Duration::from_millis(5)),
            "due timers waited behind the hog, yet the longest pause was {longest:?}"
        );
    });
}

// ---------------------------------------------------------------------------------------
// 8. Ordinary load makes no orphans.

/// Echoes until end-of-stream.
async fn echo(mut s: TcpStream) {
    let mut buf = [0u8; 1024];
    while let Ok(n @ 1..) = s.read(&mut buf).await {
        if s.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
}

/// A mix of sleeps, timeouts, joins, yields, aborts, foreign wakes, channels, blocking
/// calls and TCP echo.
async fn ordinary_load() {
    let mut handles: Vec<JoinHandle<()>> = Vec::new();
    // Sleeps and yields.
    for i in 0..200u64 {
        handles.push(goro::spawn(async move {
            for j in 0..5 {
                sleep(Duration::from_micros((i * 37 + j * 11) % 1500)).await;
                yield_now().await;
            }
        }));
    }
    // Timeouts, elapsed and not: the inner futures are dropped or complete.
    for _ in 0..100 {
        handles.push(goro::spawn(async {
            let slow = timeout(Duration::from_millis(1), sleep(Duration::from_secs(5))).await;
            assert!(slow.is_err());
            let fast = timeout(Duration::from_secs(5), sleep(Duration::from_millis(1))).await;
            assert!(fast.is_ok());
            let parked = WakerSlot::default();
            let never = UntilFlag {
                flag: Arc::new(AtomicBool::new(false)),
                slot: parked.clone(),
            };
            assert!(timeout(Duration::from_millis(1), never).await.is_err());
        }));
    }
    // Joins: chains of tasks awaiting each other, detached tasks, aborted tasks.
    for _ in 0..50 {
        handles.push(goro::spawn(async {
            let inner = goro::spawn(async {
                let deeper = goro::spawn(async { sleep(Duration::from_millis(2)).await });
                deeper.await.unwrap();
                7
            });
            assert_eq!(inner.await.unwrap(), 7);
            drop(goro::spawn(async { yield_now().await }));
            let sleeper = goro::spawn(sleep(Duration::from_secs(10)));
            yield_now().await;
            sleeper.abort();
            assert!(sleeper.await.unwrap_err().is_cancelled());
            let b = goro::task::spawn_blocking(|| std::thread::sleep(Duration::from_micros(100)));
            b.await.unwrap();
        }));
    }
    // Wakes from threads outside the runtime.
    for _ in 0..20 {
        handles.push(goro::spawn(async {
            let (tx, rx) = std::sync::mpsc::channel();
            let waiter = goro::spawn(SendWaker::new(tx));
            let (waker, fired) = rx.recv().unwrap();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(2));
                fired.store(true, SeqCst);
                waker.wake();
            });
            assert!(waiter.await.unwrap() >= 2);
        }));
    }
    // Ping-pong over a channel.
    let (ping, pong) = (Chan::<u32>::new(), Chan::<u32>::new());
    let (p, q) = (ping.clone(), pong.clone());
    handles.push(goro::spawn(async move {
        for i in 0..500 {
            p.send(i);
            assert_eq!(q.recv().await, i);
        }
    }));
    handles.push(goro::spawn(async move {
        for _ in 0..500 {
            let v = ping.recv().await;
            pong.send(v);
        }
    }));
    // TCP echo over loopback.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = goro::spawn(async move {
        loop {
            let (s, _) = listener.accept().await.unwrap();
            goro::spawn(echo(s));
        }
    });
    for c in 0..20u8 {
        handles.push(goro::spawn(async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            let mut buf = [0u8; 16];
            for i in 0..20u8 {
                s.write_all(&[c, i]).await.unwrap();
                s.read_exact(&mut buf[..2]).await.unwrap();
                assert_eq!(buf[..2], [c, i]);
            }
        }));
    }
    for jh in handles {
        jh.await.unwrap();
    }
    server.abort();
    assert!(server.await.unwrap_err().is_cancelled());
}

#[test]
fn ordinary_load_makes_no_orphans() {
    each_procs(LIMIT, |n| {
        let rt = runtime(n, false);
        let h = rt.handle().clone();
        rt.block_on(ordinary_load());
        wait_until(Duration::from_secs(5), "every task done", || {
            h.live_tasks() == 0
        });
        wait_cycles(&h, h.pauses().num_cycles, 2);
        let report = h.leak_report();
        assert!(report.orphaned.is_empty(), "false orphans: {report:#?}");
        assert_eq!((report.orphaned_total, report.reclaimed), (0, 0));
        assert!(report.suspected.is_empty(), "{report:#?}");
        let stats = h.stats();
        assert_eq!(stats.tasks.orphaned, 0);
        // 633 tasks and 50 blocking calls, all complete.
        assert_eq!((stats.tasks.spawned, stats.tasks.completed), (683, 683));
    });
}

#[goro::test(processors = 2)]
async fn ordinary_load_in_a_goro_test_leaves_no_orphans() {
    ordinary_load().await;
    let report = goro::stats::leak_report();
    assert_eq!(report.orphaned_total, 0, "{report:#?}");
}

#[goro::test(allow_orphans, processors = 1)]
async fn allow_orphans_lets_a_test_leave_an_orphan() {
    let (jh, line) = (goro::spawn(poll_fn(|_| Poll::<()>::Pending)), line!());
    yield_now().await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while goro::stats::leak_report().orphaned_total == 0 {
        assert!(Instant::now() < deadline, "no orphan reported");
        sleep(Duration::from_millis(1)).await;
    }
    let report = goro::stats::leak_report();
    assert_eq!(report.orphaned.len(), 1);
    assert_eq!(report.orphaned[0].id, jh.id().as_u64());
    assert_site(report.orphaned[0].spawned_at, line, "orphan spawn site");
}
