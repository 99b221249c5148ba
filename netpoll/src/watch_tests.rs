//! The poller watch on real pollers and loopback sockets.

use crate::test_util::CountingWaker;
use crate::{Direction, Poller, PollerWatch, Registration};
use mio::Interest;
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::task::Context;
use std::thread;
use std::time::{Duration, Instant};

const LONG: Duration = Duration::from_secs(10);

fn pollers(n: usize) -> Vec<Arc<Poller>> {
    (0..n).map(|_| Arc::new(Poller::new().unwrap())).collect()
}

/// Registers the read side of a new socket pair with `poller` and arms its read waker.
/// Returns the peer to write to, the registered stream, its registration and wake counter.
fn armed_reader(
    poller: &Arc<Poller>,
) -> (
    UnixStream,
    mio::net::UnixStream,
    Registration,
    Arc<CountingWaker>,
) {
    let (peer, ours) = UnixStream::pair().unwrap();
    ours.set_nonblocking(true).unwrap();
    let mut ours = mio::net::UnixStream::from_std(ours);
    let reg = Registration::new(poller, &mut ours, Interest::READABLE).unwrap();
    let (counter, waker) = CountingWaker::new();
    assert!(reg
        .poll_ready(&mut Context::from_waker(&waker), Direction::Read)
        .is_pending());
    (peer, ours, reg, counter)
}

/// Blocks in the watch (up to `timeout`) and returns the reported pollers and the wake flag.
fn wait(watch: &PollerWatch, timeout: Duration) -> (Vec<usize>, bool) {
    let mut ready = vec![99];
    let guard = watch.try_claim().expect("the watch is free");
    let woken = guard.wait_then(Some(timeout), || {}, &mut ready).unwrap();
    (ready, woken)
}

#[test]
fn a_wait_reports_the_poller_with_events_and_polling_it_dispatches() {
    let pollers = pollers(3);
    let watch = PollerWatch::new(&pollers).unwrap();
    let (mut peer, _ours, _reg, counter) = armed_reader(&pollers[2]);
    assert_eq!(wait(&watch, Duration::ZERO), (vec![], false));
    peer.write_all(b"x").unwrap();
    assert_eq!(wait(&watch, LONG), (vec![2], false));
    // The watch only says where; the event is dispatched by polling that poller.
    assert_eq!(counter.count(), 0);
    let outcome = pollers[2].try_poll_now().unwrap().unwrap();
    assert_eq!((outcome.io_events, outcome.more), (1, false));
    assert_eq!(counter.count(), 1);
}

#[test]
fn an_event_after_a_wait_signals_the_watch_again() {
    let pollers = pollers(2);
    let watch = PollerWatch::new(&pollers).unwrap();
    let (mut peer, _ours, _reg, _) = armed_reader(&pollers[1]);
    for round in 1..=3 {
        peer.write_all(b"x").unwrap();
        assert_eq!(wait(&watch, LONG), (vec![1], false), "round {round}");
        let outcome = pollers[1].try_poll_now().unwrap().unwrap();
        assert_eq!(outcome.io_events, 1, "round {round}");
        // Nothing new: the next wait times out without reporting the drained poller.
        assert_eq!(wait(&watch, Duration::from_millis(10)), (vec![], false));
    }
}

#[test]
fn a_wake_from_another_thread_ends_a_blocking_wait() {
    let pollers = pollers(2);
    let watch = Arc::new(PollerWatch::new(&pollers).unwrap());
    let waker = {
        let watch = watch.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            watch.wake().unwrap();
        })
    };
    let start = Instant::now();
    assert_eq!(wait(&watch, LONG), (vec![], true));
    assert!(start.elapsed() < LONG / 2);
    waker.join().unwrap();
}

#[test]
fn one_thread_at_a_time_holds_the_watch() {
    let watch = PollerWatch::new(&pollers(2)).unwrap();
    let guard = watch.try_claim().unwrap();
    assert!(watch.is_claimed());
    assert!(watch.try_claim().is_none());
    let mut ready = Vec::new();
    let mut woke = false;
    guard
        .wait_then(Some(Duration::ZERO), || woke = true, &mut ready)
        .unwrap();
    assert!(woke);
    assert!(!watch.is_claimed(), "the wait gives the watch up");
    assert!(watch.try_claim().is_some());
}

/// Six readers on poller 0 of `pollers` (more than a unit-test batch of 4), all made
/// readable; the watch reports poller 0. Returns the readers' wake counters.
fn six_readable_readers(
    pollers: &[Arc<Poller>],
    watch: &PollerWatch,
) -> Vec<(
    UnixStream,
    mio::net::UnixStream,
    Registration,
    Arc<CountingWaker>,
)> {
    let readers: Vec<_> = (0..6).map(|_| armed_reader(&pollers[0])).collect();
    for (peer, ..) in &readers {
        (&*peer).write_all(b"x").unwrap();
    }
    assert_eq!(wait(watch, LONG), (vec![0], false));
    readers
}

/// More events than one poll fetches: the outcome says so, because the watch will not
/// report that poller again for the events left behind.
#[test]
fn a_full_batch_says_more_events_may_be_ready() {
    let pollers = pollers(2);
    let watch = PollerWatch::new(&pollers).unwrap();
    let readers = six_readable_readers(&pollers, &watch);
    let first = pollers[0].try_poll_now().unwrap().unwrap();
    assert_eq!((first.io_events, first.more), (4, true));
    let second = pollers[0].try_poll_now().unwrap().unwrap();
    assert_eq!((second.io_events, second.more), (2, false));
    assert!(readers.iter().all(|(.., counter)| counter.count() == 1));
    // Nothing was left for the watch to report.
    assert_eq!(wait(&watch, Duration::from_millis(10)), (vec![], false));
}

/// `try_drain_now` polls past a full batch, so nothing is left for a watch that will not
/// report the poller again.
#[test]
fn try_drain_now_polls_until_a_batch_comes_back_short() {
    let pollers = pollers(2);
    let watch = PollerWatch::new(&pollers).unwrap();
    let readers = six_readable_readers(&pollers, &watch);
    let mut batches = Vec::new();
    pollers[0].try_drain_now(|outcome| batches.push((outcome.io_events, outcome.more)));
    assert_eq!(batches, [(4, true), (2, false)]);
    assert!(readers.iter().all(|(.., counter)| counter.count() == 1));
    assert_eq!(wait(&watch, Duration::from_millis(10)), (vec![], false));
}
