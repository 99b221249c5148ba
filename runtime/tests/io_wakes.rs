//! Which processors a batch of I/O events wakes: the processor that polled them runs them
//! without "unparking" itself; with two processors one thread waits for both pollers; and
//! the tasks a batch queues get the idle processor's help only if they keep waiting.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream as StdUnixStream;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use goro::task::JoinHandle;

const LIMIT: Duration = Duration::from_secs(10);

/// `n` tasks each reading one byte from its own registration of one socket (dup'd
/// descriptors), then running `then`: one write of `n` bytes to the returned peer makes
/// them all readable at once, so they come out of the pollers as one batch. Returns once
/// every reader waits.
fn readers<T: Send + 'static>(
    rt: &goro::Runtime,
    n: usize,
    then: impl Fn() -> T + Clone + Send + 'static,
) -> (StdUnixStream, Vec<JoinHandle<T>>) {
    let (ours, peer) = StdUnixStream::pair().unwrap();
    let (ready_tx, ready_rx) = mpsc::channel();
    let handles = (0..n)
        .map(|_| {
            let std_stream = ours.try_clone().unwrap();
            let (ready_tx, then) = (ready_tx.clone(), then.clone());
            rt.spawn(async move {
                let mut stream = goro::net::UnixStream::from_std(std_stream).unwrap();
                ready_tx.send(()).unwrap();
                let mut byte = [0u8; 1];
                assert_eq!(stream.read(&mut byte).await.unwrap(), 1);
                then()
            })
        })
        .collect();
    for _ in 0..n {
        ready_rx
            .recv_timeout(LIMIT)
            .expect("a reader did not start");
    }
    (peer, handles)
}

/// Sleeps until every processor of `rt` is parked.
fn until_all_parked(rt: &goro::Runtime) {
    let deadline = Instant::now() + LIMIT;
    while rt.handle().stats().idle_processors < rt.handle().stats().processors {
        assert!(Instant::now() < deadline, "the processors never parked");
        thread::sleep(Duration::from_millis(5));
    }
    // And a little more, for the last one to reach its blocking call.
    thread::sleep(Duration::from_millis(20));
}

fn per_processor(
    rt: &goro::Runtime,
    counter: fn(&goro::stats::CounterSnapshot) -> u64,
) -> Vec<u64> {
    let stats = rt.handle().stats();
    stats.procs.iter().map(|p| counter(&p.counters)).collect()
}

/// A processor parked in its poller that wakes with several events in one wait runs their
/// tasks without "unparking" itself: it leaves the parked state before the events are
/// dispatched, so the wakes see a running processor (no eventfd write to its own poller,
/// no wasted wait next time; before the fix every such batch counted one unpark).
#[test]
fn a_batch_of_io_events_does_not_unpark_the_processor_that_polled_it() {
    const READERS: usize = 8;
    let rt = rt(1);
    let (mut peer, handles) = readers(&rt, READERS, || ());
    until_all_parked(&rt);
    let before = rt.handle().stats();
    peer.write_all(&[7; READERS]).unwrap();
    for handle in handles {
        rt.block_on(handle).unwrap();
    }
    let after = rt.handle().stats();
    assert_eq!(
        after.totals.unparks, before.totals.unparks,
        "dispatching its own events unparked the processor"
    );
    assert!(
        after.totals.netpoll_events >= before.totals.netpoll_events + READERS as u64,
        "the readers were not woken by their events: {after:?}"
    );
}

/// With several processors one parked processor at a time waits for everybody's I/O (in
/// the poller watch) and the others sleep away from it: a run of I/O events, half on each
/// processor's poller, wakes that one thread and leaves the other asleep. (Each processor
/// blocking in its own poller would wake both, one per event on its own poller.)
#[test]
fn at_two_processors_io_on_both_pollers_wakes_one_processor() {
    in_one_of(3, io_on_both_pollers_wakes_one_processor);
}

fn io_on_both_pollers_wakes_one_processor() -> Result<(), String> {
    const ROUND_TRIPS: usize = 200;
    let rt = rt(2);
    let (ours, mut peers): (Vec<_>, Vec<_>) =
        (0..2).map(|_| StdUnixStream::pair().unwrap()).unzip();
    // Created outside any processor, the two streams register with the two pollers in turn.
    let streams: Vec<_> = rt.block_on(async move {
        ours.into_iter()
            .map(|s| goro::net::UnixStream::from_std(s).unwrap())
            .collect()
    });
    let echoes: Vec<_> = streams
        .into_iter()
        .map(|mut stream| {
            rt.spawn(async move {
                let mut byte = [0u8; 1];
                while stream.read(&mut byte).await.unwrap() == 1 {
                    stream.write_all(&byte).await.unwrap();
                }
            })
        })
        .collect();
    let round_trip = |peer: &mut StdUnixStream| {
        let mut byte = [0u8; 1];
        peer.write_all(&[7]).unwrap();
        peer.read_exact(&mut byte).unwrap();
        assert_eq!(byte, [7]);
    };
    for peer in &mut peers {
        round_trip(peer);
    }
    until_all_parked(&rt);
    let before = per_processor(&rt, |c| c.parks);
    for i in 0..ROUND_TRIPS {
        round_trip(&mut peers[i % 2]);
    }
    let after = per_processor(&rt, |c| c.parks);
    drop(peers);
    for echo in echoes {
        rt.block_on(echo).unwrap();
    }
    let woke: Vec<u64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
    let (least, most) = (*woke.iter().min().unwrap(), *woke.iter().max().unwrap());
    assert!(
        most >= ROUND_TRIPS as u64 / 2,
        "the round trips did not wake a parked processor: parks per processor {woke:?}"
    );
    ensure(least < ROUND_TRIPS as u64 / 10, || {
        format!("both processors woke for the I/O: parks per processor {woke:?}")
    })
}

/// A small batch that the processor which polled it finishes at once does not wake the
/// other processor (a wake would cost more than it saves): over 20 batches of two readers,
/// almost no unpark. Waking a helper as soon as a batch queues a second task would count
/// one per batch.
#[test]
fn a_quick_batch_does_not_wake_the_idle_processor() {
    in_one_of(3, quick_batches_wake_nobody);
}

fn quick_batches_wake_nobody() -> Result<(), String> {
    const BATCHES: u64 = 20;
    let rt = rt(2);
    let mut unparks = 0;
    for _ in 0..BATCHES {
        let (mut peer, handles) = readers(&rt, 2, || ());
        until_all_parked(&rt);
        let before = rt.handle().stats().totals.unparks;
        peer.write_all(&[7; 2]).unwrap();
        for handle in handles {
            rt.block_on(handle).unwrap();
        }
        unparks += rt.handle().stats().totals.unparks - before;
    }
    ensure(unparks < BATCHES / 2, || {
        format!("{unparks} unparks for {BATCHES} quick batches")
    })
}

/// A batch that keeps its processor busy gets the idle processor's help: 64 readers that
/// each compute for 300 µs (19 ms in all, each poll far below the monitor's 10 ms handoff)
/// are shared by both processors.
#[test]
fn a_long_batch_wakes_the_idle_processor_to_help() {
    in_one_of(3, a_long_batch_is_shared);
}

fn a_long_batch_is_shared() -> Result<(), String> {
    const READERS: usize = 64;
    let rt = rt(2);
    let (mut peer, handles) = readers(&rt, READERS, || {
        let start = Instant::now();
        while start.elapsed() < Duration::from_micros(300) {
            std::hint::spin_loop();
        }
    });
    until_all_parked(&rt);
    let before = per_processor(&rt, |c| c.polls);
    peer.write_all(&[7; READERS]).unwrap();
    for handle in handles {
        rt.block_on(handle).unwrap();
    }
    let after = per_processor(&rt, |c| c.polls);
    let ran: Vec<u64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
    ensure(ran.iter().all(|&polls| polls >= READERS as u64 / 8), || {
        format!("one processor ran (nearly) the whole batch: polls per processor {ran:?}")
    })
}

/// Poll stealing: while a processor is stuck in a long poll, the idle one serves the I/O
/// registered on the stuck one's poller (through the watch, polling that poller itself).
#[test]
fn an_idle_processor_polls_a_busy_processors_poller() {
    in_one_of(3, idle_processor_steals_polls);
}

fn idle_processor_steals_polls() -> Result<(), String> {
    const ROUND_TRIPS: u64 = 20;
    let rt = rt(2);
    let (ours, mut peer) = StdUnixStream::pair().unwrap();
    let (ready_tx, ready_rx) = mpsc::channel();
    let busy = rt.spawn(async move {
        // Registered on this task's processor; the echo task will run on the other one
        // (it takes the echo task from this processor's `runnext` while this poll blocks).
        let mut stream = goro::net::UnixStream::from_std(ours).unwrap();
        let echo = goro::spawn(async move {
            let mut byte = [0u8; 1];
            while stream.read(&mut byte).await.unwrap() == 1 {
                stream.write_all(&byte).await.unwrap();
            }
        });
        ready_tx.send(()).unwrap();
        // Far below the 300 ms: the round trips take a few ms, and the monitor hands this
        // processor on only after 10 ms (its new machine would then poll its own poller).
        thread::sleep(Duration::from_millis(300));
        echo.await.unwrap();
    });
    ready_rx.recv_timeout(LIMIT).expect("the busy task started");
    let before: u64 = per_processor(&rt, |c| c.poll_steals).iter().sum();
    for _ in 0..ROUND_TRIPS {
        let mut byte = [0u8; 1];
        peer.write_all(&[7]).unwrap();
        peer.read_exact(&mut byte).unwrap();
    }
    let stolen = per_processor(&rt, |c| c.poll_steals).iter().sum::<u64>() - before;
    drop(peer);
    rt.block_on(busy).unwrap();
    ensure(stolen >= ROUND_TRIPS / 2, || {
        format!("{stolen} poll steals for {ROUND_TRIPS} round trips")
    })
}
