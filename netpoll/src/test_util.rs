//! Helpers for the tests: a counting waker, a `block_on` that detects lost wake-ups, and a
//! thread that keeps polling a poller.

use crate::Poller;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, JoinHandle, Thread};
use std::time::{Duration, Instant};

/// Counts its wakes and unparks the thread that created it.
pub(crate) struct CountingWaker {
    count: AtomicUsize,
    thread: Thread,
}

impl CountingWaker {
    pub(crate) fn new() -> (Arc<CountingWaker>, Waker) {
        let c = Arc::new(CountingWaker {
            count: AtomicUsize::new(0),
            thread: thread::current(),
        });
        (c.clone(), Waker::from(c))
    }

    pub(crate) fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// Waits (parking) until the count reaches `n`; panics after `timeout`.
    pub(crate) fn wait_for(&self, n: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.count() < n {
            let now = Instant::now();
            assert!(now < deadline, "no wake-up within {timeout:?}");
            thread::park_timeout(deadline - now);
        }
    }
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.count.fetch_add(1, Ordering::SeqCst);
        self.thread.unpark();
    }
}

struct FlagWaker {
    woken: AtomicBool,
    thread: Thread,
}

impl Wake for FlagWaker {
    fn wake(self: Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.thread.unpark();
    }
}

/// Runs `fut` on this thread. It is polled again only after its waker was called, so a lost
/// wake-up shows up as a hang, which panics after 30 s.
pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
    let flag = Arc::new(FlagWaker {
        woken: AtomicBool::new(false),
        thread: thread::current(),
    });
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        while !flag.woken.swap(false, Ordering::SeqCst) {
            let now = Instant::now();
            assert!(
                now < deadline,
                "block_on: future never woken (lost wake-up?)"
            );
            thread::park_timeout((deadline - now).min(Duration::from_millis(100)));
        }
    }
}

/// A thread that blocks in `poller.wait(None)` in a loop until dropped.
pub(crate) struct PollThread {
    poller: Arc<Poller>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<usize>>,
}

impl PollThread {
    pub(crate) fn start(poller: &Arc<Poller>) -> PollThread {
        let stop = Arc::new(AtomicBool::new(false));
        let handle = {
            let (poller, stop) = (poller.clone(), stop.clone());
            thread::spawn(move || {
                let mut events = 0;
                while !stop.load(Ordering::SeqCst) {
                    events += poller.wait(None).unwrap().io_events;
                }
                events
            })
        };
        PollThread {
            poller: poller.clone(),
            stop,
            handle: Some(handle),
        }
    }

    /// Stops the thread and returns the number of I/O events it dispatched.
    pub(crate) fn stop(mut self) -> usize {
        self.stop_inner().expect("poll thread panicked")
    }

    fn stop_inner(&mut self) -> Option<usize> {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.poller.wake();
        self.handle.take().and_then(|h| h.join().ok())
    }
}

impl Drop for PollThread {
    fn drop(&mut self) {
        self.stop_inner();
    }
}
