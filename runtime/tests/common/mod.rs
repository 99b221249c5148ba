//! Helpers shared by the integration tests: runtimes at 1 and 2 processors, time limits,
//! drop counters, wakers that can be sent to foreign threads.
#![allow(dead_code)]

use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

use goro::Runtime;

/// The processor counts every behaviour is tested at.
pub const PROCS: [usize; 2] = [1, 2];

/// A runtime with `n` processors that fails the test if any task of it was ever orphaned
/// (idle while no waker for it existed) or deadlocked: the whole suite doubles as a check
/// that orphan and deadlock detection have no false positives. Tests that orphan tasks on purpose build their own
/// runtime.
pub fn rt(n: usize) -> TestRuntime {
    TestRuntime(Some(
        Runtime::builder()
            .processors(n)
            .build()
            .unwrap_or_else(|e| panic!("cannot build a runtime with {n} processors: {e}")),
    ))
}

/// A runtime with `n` processors for tests whose tasks wait forever on purpose (on
/// `pending()`, which keeps no waker): those tasks are true orphans, so [`rt`]'s check
/// does not apply.
pub fn rt_with_orphans(n: usize) -> Runtime {
    rt(n).0.take().expect("runtime present")
}

/// A runtime with `n` processors whose leak detector judges every 10 ms with a 30 ms leak
/// threshold, for tests that check what it does not suspect: a wait that outlives a few
/// hundred milliseconds has been through many cycles past the threshold.
pub fn watchful_rt(n: usize) -> Runtime {
    Runtime::builder()
        .processors(n)
        .stats_interval(Duration::from_millis(10))
        .leak_threshold(Duration::from_millis(30))
        .build()
        .unwrap_or_else(|e| panic!("cannot build a runtime with {n} processors: {e}"))
}

/// How many tasks of `groups` are `goro::hyper::serve`'s connection tasks (named
/// `hyper connection <peer>`).
pub fn hyper_connection_tasks<'a>(
    groups: impl IntoIterator<Item = &'a goro::stats::TaskGroup>,
) -> usize {
    groups
        .into_iter()
        .flat_map(|g| &g.tasks)
        .filter(|t| {
            t.name
                .as_deref()
                .is_some_and(|n| n.starts_with("hyper connection"))
        })
        .count()
}

/// See [`rt`]. Dereferences to the runtime; checks for orphans when dropped or unwrapped.
pub struct TestRuntime(Option<Runtime>);

impl TestRuntime {
    /// The runtime itself (checked for orphans first), for calls that consume it.
    pub fn into_inner(mut self) -> Runtime {
        let rt = self.0.take().expect("runtime present");
        assert_no_orphans(&rt);
        rt
    }
}

fn assert_no_orphans(rt: &Runtime) {
    let report = rt.handle().leak_report();
    assert!(
        report.orphaned_total == 0,
        "false orphans: the runtime reported tasks with no waker that the test did not \
         orphan:\n{report}"
    );
    assert!(
        report.deadlocked.is_empty(),
        "false deadlocks: the runtime reported lock cycles the test did not make:\n{report}"
    );
}

impl std::ops::Deref for TestRuntime {
    type Target = Runtime;
    fn deref(&self) -> &Runtime {
        self.0.as_ref().expect("runtime present")
    }
}

impl Drop for TestRuntime {
    fn drop(&mut self) {
        if let Some(rt) = &self.0 {
            if !thread::panicking() {
                assert_no_orphans(rt);
            }
        }
    }
}

/// Runs `f` on another thread and fails the test if it does not finish within `limit`, so a
/// hung runtime fails a test instead of hanging the suite. A panic in `f` is re-raised here.
pub fn within<R: Send + 'static>(limit: Duration, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    let name = thread::current().name().unwrap_or("test").to_string();
    let th = thread::Builder::new()
        .name(name)
        .spawn(move || {
            let r = panic::catch_unwind(AssertUnwindSafe(f));
            let _ = tx.send(r);
        })
        .expect("spawn test thread");
    match rx.recv_timeout(limit) {
        Ok(Ok(r)) => {
            let _ = th.join();
            r
        }
        Ok(Err(payload)) => {
            let _ = th.join();
            panic::resume_unwind(payload)
        }
        Err(_) => panic!("did not finish within {limit:?}: the runtime hung or lost a wakeup"),
    }
}

/// Runs `f` on a plain thread and checks that it is still blocked 20 ms later (a
/// `blocking_*` call that cannot proceed).
pub fn blocked<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> thread::JoinHandle<R> {
    let th = thread::spawn(f);
    thread::sleep(Duration::from_millis(20));
    assert!(
        !th.is_finished(),
        "the blocking call returned while it could not proceed"
    );
    th
}

/// A `blocking_*` call, ready to run.
pub type BlockingCall = Box<dyn FnOnce() + Send>;

/// Checks that each call `calls()` makes (named as its panic message starts) panics inside
/// a task of `rt` and inside `block_on`, and returns in `spawn_blocking`: `calls` sets each
/// on a free lock or a ready channel, so that it would return at once if it did not check
/// where it runs.
pub fn blocking_calls_panic_inside_the_runtime(
    rt: &Runtime,
    calls: impl Fn() -> Vec<(&'static str, BlockingCall)>,
) {
    for (what, call) in calls() {
        let message = rt
            .block_on(rt.spawn(async move { expect_panic(call) }))
            .unwrap();
        assert!(
            message.starts_with(what) && message.contains("cannot block this thread"),
            "{what} in a task: {message}"
        );
    }
    for (what, call) in calls() {
        let message = rt.block_on(async move { expect_panic(call) });
        assert!(message.starts_with(what), "{what} in block_on: {message}");
    }
    for (_, call) in calls() {
        rt.block_on(rt.spawn_blocking(call)).unwrap();
    }
}

/// Runs `f(n)` for n in [`PROCS`], each under [`within`]`(limit)`.
pub fn each_procs(limit: Duration, f: impl Fn(usize) + Send + Sync + 'static) {
    let f = Arc::new(f);
    for n in PROCS {
        let f = f.clone();
        eprintln!("--- processors = {n}");
        within(limit, move || f(n));
    }
}

/// Waits (sleeping) until `cond` holds; panics with `what` after `limit`.
pub fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        if Instant::now() > deadline {
            panic!("timed out after {limit:?} waiting for: {what}");
        }
        thread::sleep(Duration::from_millis(1));
    }
}

/// Waits (sleeping) until `h`'s leak report suspects tasks waiting on `op`; returns that
/// report. Panics after `limit`.
pub fn wait_for_suspect(
    h: &goro::Handle,
    op: goro::stats::WaitOp,
    limit: Duration,
) -> goro::stats::LeakReport {
    let mut report = goro::stats::LeakReport::default();
    wait_until(limit, &format!("a task suspected in {op}"), || {
        report = h.leak_report();
        report.suspected.iter().any(|s| s.wait_op == Some(op))
    });
    report
}

/// Counts its drops into a shared counter.
pub struct DropGuard(pub Arc<AtomicUsize>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

pub fn counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

/// A waker that does nothing (`Waker::noop` is newer than the workspace's MSRV).
pub fn noop_waker() -> Waker {
    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }
    Waker::from(Arc::new(Noop))
}

/// Polls `fut` once with a waker that does nothing.
pub fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    Pin::new(fut).poll(&mut cx)
}

/// A hand-written future that, on its first poll, sends its waker (and a flag) down a std
/// channel and returns `Pending`. It is ready, returning how often it was polled, when polled
/// after the flag is set; whoever holds the waker sets the flag and then wakes it.
pub struct SendWaker {
    tx: Option<mpsc::Sender<(Waker, Arc<AtomicBool>)>>,
    fired: Arc<AtomicBool>,
    pub polls: usize,
}

impl SendWaker {
    pub fn new(tx: mpsc::Sender<(Waker, Arc<AtomicBool>)>) -> Self {
        SendWaker {
            tx: Some(tx),
            fired: Arc::new(AtomicBool::new(false)),
            polls: 0,
        }
    }
}

impl Future for SendWaker {
    type Output = usize;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        self.polls += 1;
        if let Some(tx) = self.tx.take() {
            tx.send((cx.waker().clone(), self.fired.clone()))
                .expect("waker receiver gone");
            return Poll::Pending;
        }
        if self.fired.load(Ordering::SeqCst) {
            Poll::Ready(self.polls)
        } else {
            Poll::Pending
        }
    }
}

/// A slot a future parks its waker in, for another party to wake.
#[derive(Clone, Default)]
pub struct WakerSlot(pub Arc<Mutex<Option<Waker>>>);

impl WakerSlot {
    pub fn store(&self, w: &Waker) {
        *self.0.lock().unwrap() = Some(w.clone());
    }
    /// Wakes (and removes) the stored waker; returns whether there was one.
    pub fn wake(&self) -> bool {
        let w = self.0.lock().unwrap().take();
        match w {
            Some(w) => {
                w.wake();
                true
            }
            None => false,
        }
    }
    pub fn is_set(&self) -> bool {
        self.0.lock().unwrap().is_some()
    }
}

/// Pending until `flag` is set; registers its waker in `slot` on every poll.
pub struct UntilFlag {
    pub flag: Arc<AtomicBool>,
    pub slot: WakerSlot,
}

impl Future for UntilFlag {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.slot.store(cx.waker());
        if self.flag.load(Ordering::SeqCst) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// The message of a panic payload (`&str` or `String`), or "<non-string panic>".
pub fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic>".to_string()
    }
}

/// Runs `f`, expects it to panic, and returns the panic message.
pub fn expect_panic<R>(f: impl FnOnce() -> R) -> String {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(_) => panic!("expected a panic, but the call returned"),
        Err(p) => panic_message(&*p),
    }
}

/// `Ok` if `ok`, else `Err` with the message (a measurement step for [`in_one_of`]).
pub fn ensure(ok: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(message())
    }
}

/// This process's threads whose name starts with `prefix` (names are cut to 15 bytes): each
/// one's `/proc/self/task/<tid>` directory and name.
pub fn threads_named(prefix: &str) -> Vec<(std::path::PathBuf, String)> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .filter_map(|task| {
            let comm = std::fs::read_to_string(task.path().join("comm")).ok()?;
            let name = comm.trim_end().to_string();
            name.starts_with(prefix).then(|| (task.path(), name))
        })
        .collect()
}

/// Runs a measurement that host noise can spoil (a preempted vCPU looks like a slow
/// processor) up to `attempts` times; passes if one attempt returns `Ok`, else panics with
/// every attempt's message. A broken mechanism fails every attempt.
pub fn in_one_of(attempts: usize, mut attempt: impl FnMut() -> Result<(), String>) {
    let mut failures = Vec::new();
    for _ in 0..attempts {
        match attempt() {
            Ok(()) => return,
            Err(message) => failures.push(message),
        }
    }
    panic!("failed {attempts} of {attempts} attempts: {failures:#?}");
}

/// Sleeps until `n` tasks wait on `op`.
pub async fn wait_for_op(op: goro::stats::WaitOp, n: usize) {
    wait_for_waits(|o| o == op, n).await;
}

/// Sleeps until `n` tasks are suspended on a goro wait that `which` accepts.
pub async fn wait_for_waits(which: impl Fn(goro::stats::WaitOp) -> bool, n: usize) {
    loop {
        let waiting: usize = goro::stats::tasks()
            .groups
            .iter()
            .filter(|g| g.wait_op.is_some_and(&which))
            .map(|g| g.tasks.len())
            .sum();
        if waiting >= n {
            return;
        }
        goro::time::sleep(Duration::from_millis(1)).await;
    }
}

/// A connected pair of goro TCP streams on loopback: (client, server).
pub async fn tcp_pair() -> (goro::net::TcpStream, goro::net::TcpStream) {
    let listener = goro::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = goro::net::TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (client, server)
}
