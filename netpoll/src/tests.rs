//! Registrations on real loopback sockets, driven by plain threads.

use crate::test_util::{block_on, CountingWaker, PollThread};
use crate::{Direction, Poller, Ready, Registration};
use mio::net::TcpStream;
use mio::Interest;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;

const WAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A connected pair of non-blocking mio streams on 127.0.0.1.
fn pair() -> (TcpStream, TcpStream) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let a = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (b, _) = listener.accept().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (TcpStream::from_std(a), TcpStream::from_std(b))
}

fn poller() -> Arc<Poller> {
    Arc::new(Poller::new().unwrap())
}

/// Polls `poller` (from this thread) until `waker` counts `n` wakes.
fn poll_until_woken(poller: &Poller, waker: &CountingWaker, n: usize) {
    let deadline = std::time::Instant::now() + WAKE_TIMEOUT;
    while waker.count() < n {
        assert!(std::time::Instant::now() < deadline, "no wake-up");
        poller.wait(Some(Duration::from_millis(100))).unwrap();
    }
}

#[test]
fn readable_event_wakes_the_registered_waker() {
    let poller = poller();
    let (mut a, mut b) = pair();
    let reg = Registration::new(&poller, &mut b, Interest::READABLE).unwrap();
    assert_eq!(poller.registrations(), 1);
    let (counter, waker) = CountingWaker::new();
    let mut cx = Context::from_waker(&waker);
    assert!(reg.poll_ready(&mut cx, Direction::Read).is_pending());

    a.write_all(b"hello").unwrap();
    poll_until_woken(&poller, &counter, 1);

    let ev = match reg.poll_ready(&mut cx, Direction::Read) {
        Poll::Ready(Ok(ev)) => ev,
        other => panic!("expected readable, got {other:?}"),
    };
    assert!(ev.ready().is_readable());
    let mut buf = [0; 16];
    assert_eq!(b.read(&mut buf).unwrap(), 5);
    assert_eq!(&buf[..5], b"hello");
    // Drained: the next read would block, so the readiness is cleared...
    assert_eq!(
        b.read(&mut buf).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    reg.clear_readiness(ev);
    // ...and the next wait goes pending again.
    assert!(reg.poll_ready(&mut cx, Direction::Read).is_pending());
    reg.deregister(&mut b).unwrap();
}

#[test]
fn try_poll_now_dispatches_too() {
    let poller = poller();
    let (mut a, mut b) = pair();
    let reg = Registration::new(&poller, &mut b, Interest::READABLE).unwrap();
    let (counter, waker) = CountingWaker::new();
    assert!(reg
        .poll_ready(&mut Context::from_waker(&waker), Direction::Read)
        .is_pending());
    a.write_all(b"x").unwrap();
    let deadline = std::time::Instant::now() + WAKE_TIMEOUT;
    while counter.count() == 0 {
        assert!(std::time::Instant::now() < deadline);
        let out = poller.try_poll_now().unwrap().unwrap();
        if out.io_events == 0 {
            thread::sleep(Duration::from_millis(1));
        }
    }
    reg.deregister(&mut b).unwrap();
}

#[test]
fn eof_wakes_the_reader() {
    let poller = poller();
    let (a, mut b) = pair();
    let reg = Registration::new(&poller, &mut b, Interest::READABLE).unwrap();
    let (counter, waker) = CountingWaker::new();
    let mut cx = Context::from_waker(&waker);
    assert!(reg.poll_ready(&mut cx, Direction::Read).is_pending());

    drop(a);
    poll_until_woken(&poller, &counter, 1);

    let ev = match reg.poll_ready(&mut cx, Direction::Read) {
        Poll::Ready(Ok(ev)) => ev,
        other => panic!("expected read-closed, got {other:?}"),
    };
    assert!(ev.ready().is_read_closed(), "{ev:?}");
    let n = block_on(reg.io(Direction::Read, || b.read(&mut [0; 8]))).unwrap();
    assert_eq!(n, 0);
    reg.deregister(&mut b).unwrap();
}

#[test]
fn writable_on_registration_then_write_wakes_after_backpressure() {
    let poller = poller();
    let _poll_thread = PollThread::start(&poller);
    let (mut a, mut b) = pair();
    let reg = Registration::new(&poller, &mut a, Interest::WRITABLE).unwrap();
    // A fresh connected socket is writable (epoll reports that on registration); fill it
    // until the kernel pushes back and the readiness is cleared.
    block_on(reg.ready(Direction::Write)).unwrap();
    let chunk = vec![7u8; 64 * 1024];
    let mut sent = 0usize;
    loop {
        match reg.try_io(Direction::Write, || a.write(&chunk)) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if reg.readiness(Direction::Write).ready().is_empty() {
                    break;
                }
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(sent > 0);
    // The write direction now waits; draining the peer makes it writable again.
    let (counter, waker) = CountingWaker::new();
    assert!(reg
        .poll_ready(&mut Context::from_waker(&waker), Direction::Write)
        .is_pending());
    let mut buf = vec![0u8; 1 << 20];
    let mut received = 0;
    while counter.count() == 0 {
        match b.read(&mut buf) {
            Ok(n) => received += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(1))
            }
            Err(e) => panic!("{e}"),
        }
        assert!(received <= sent);
    }
    reg.deregister(&mut a).unwrap();
}

#[test]
fn deregister_from_another_thread_while_a_thread_waits() {
    let poller = poller();
    let poll_thread = PollThread::start(&poller);
    thread::sleep(Duration::from_millis(20)); // let it block in epoll_wait
    let (mut a, mut b) = pair();
    let reg = Arc::new(Registration::new(&poller, &mut b, Interest::READABLE).unwrap());
    let weak = reg.state_weak();

    // A reader waits on this thread...
    let (counter, waker) = CountingWaker::new();
    assert!(reg
        .poll_ready(&mut Context::from_waker(&waker), Direction::Read)
        .is_pending());

    // ...and another thread deregisters while the poll thread is blocked.
    let deregisterer = {
        let reg = reg.clone();
        thread::spawn(move || {
            reg.deregister(&mut b).unwrap();
            b
        })
    };
    let _b = deregisterer.join().unwrap();
    counter.wait_for(1, WAKE_TIMEOUT);
    let err = match reg.poll_ready(&mut Context::from_waker(&waker), Direction::Read) {
        Poll::Ready(Err(e)) => e,
        other => panic!("expected an error, got {other:?}"),
    };
    assert_eq!(err.kind(), io::ErrorKind::Other);
    assert_eq!(poller.registrations(), 0);

    // Writes to the deregistered socket dispatch nothing.
    a.write_all(b"late").unwrap();
    drop(reg);
    // A wait may hold the state for the length of a dispatch; then it is freed.
    poll_thread.stop();
    assert!(weak.upgrade().is_none(), "state not released");
}

#[test]
fn register_from_another_thread_while_a_thread_waits() {
    let poller = poller();
    let poll_thread = PollThread::start(&poller);
    thread::sleep(Duration::from_millis(20));
    let (mut a, mut b) = pair();
    // Registered while the poll thread blocks in wait(None): its events still arrive.
    let reg = Registration::new(&poller, &mut b, Interest::READABLE).unwrap();
    let (counter, waker) = CountingWaker::new();
    assert!(reg
        .poll_ready(&mut Context::from_waker(&waker), Direction::Read)
        .is_pending());
    a.write_all(b"x").unwrap();
    counter.wait_for(1, WAKE_TIMEOUT);
    reg.deregister(&mut b).unwrap();
    assert!(poll_thread.stop() >= 1);
}

#[test]
fn shutdown_all_releases_waiters_and_refuses_new_registrations() {
    let poller = poller();
    let (mut a, mut b) = pair();
    let ra = Registration::new(&poller, &mut a, Interest::READABLE | Interest::WRITABLE).unwrap();
    let rb = Registration::new(&poller, &mut b, Interest::READABLE).unwrap();
    let (ca, wa) = CountingWaker::new();
    let (cb, wb) = CountingWaker::new();
    assert!(ra
        .poll_ready(&mut Context::from_waker(&wa), Direction::Read)
        .is_pending());
    assert!(rb
        .poll_ready(&mut Context::from_waker(&wb), Direction::Read)
        .is_pending());

    poller.shutdown_all();
    assert_eq!((ca.count(), cb.count()), (1, 1));
    for dir in [Direction::Read, Direction::Write] {
        match ra.poll_ready(&mut Context::from_waker(&wa), dir) {
            Poll::Ready(Err(e)) => assert_eq!(e.to_string(), "goro runtime is shutting down"),
            other => panic!("expected the shutdown error, got {other:?}"),
        }
    }
    let err = block_on(rb.io(Direction::Read, || b.read(&mut [0; 4]))).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Other);

    let (mut c, _d) = pair();
    assert!(Registration::new(&poller, &mut c, Interest::READABLE).is_err());
    ra.deregister(&mut a).unwrap();
    rb.deregister(&mut b).unwrap();
}

#[test]
fn drop_without_deregister_frees_the_state_and_drops_the_wakers() {
    let poller = poller();
    let (mut a, mut b) = pair();
    let reg = Registration::new(&poller, &mut b, Interest::READABLE).unwrap();
    let weak = reg.state_weak();
    let (counter, waker) = CountingWaker::new();
    assert!(reg
        .poll_ready(&mut Context::from_waker(&waker), Direction::Read)
        .is_pending());
    // `counter`, `waker` and the clone stored in the read slot.
    assert_eq!(Arc::strong_count(&counter), 3);
    drop(reg);
    assert_eq!(Arc::strong_count(&counter), 2, "waker kept after drop");
    assert!(weak.upgrade().is_none());
    assert_eq!(poller.registrations(), 0);
    // The source is still in epoll under the old token: its events are ignored.
    a.write_all(b"x").unwrap();
    let out = poller.wait(Some(Duration::from_millis(100))).unwrap();
    assert_eq!(out.io_events, 0);
    drop(b);
}

/// A source left in epoll under a stale token (its registration dropped) must not reach the
/// registration that reuses its slot.
#[test]
fn stale_token_does_not_reach_the_slots_next_registration() {
    let poller = poller();
    let (mut a1, mut b1) = pair();
    let (_a2, mut b2) = pair();
    let old = Registration::new(&poller, &mut b1, Interest::READABLE).unwrap();
    drop(old); // b1 stays in epoll
    let new = Registration::new(&poller, &mut b2, Interest::READABLE).unwrap();
    let (counter, waker) = CountingWaker::new();
    assert!(new
        .poll_ready(&mut Context::from_waker(&waker), Direction::Read)
        .is_pending());
    a1.write_all(b"for the old one").unwrap();
    for _ in 0..3 {
        poller.wait(Some(Duration::from_millis(30))).unwrap();
    }
    assert_eq!(
        counter.count(),
        0,
        "stale event woke the slot's new registration"
    );
    assert!(new.readiness(Direction::Read).ready().is_empty());
    // Deregistering the wrong source is a caller's bug, but stays harmless: `new` is shut
    // down and forgotten, b2's later events are ignored.
    new.deregister(&mut b1).unwrap();
    assert_eq!(counter.count(), 1);
    assert_eq!(poller.registrations(), 0);
}

/// Bytes that depend on their position, so reordering or loss is detected.
fn pattern(i: usize) -> u8 {
    (i.wrapping_mul(31) ^ (i >> 11)) as u8
}

/// 16 MiB one way between two sockets registered on two pollers, each polled by its own
/// thread, reader and writer on two more threads.
#[test]
fn transfer_between_two_registered_sockets() {
    const LEN: usize = 16 << 20;
    let (pa, pb) = (poller(), poller());
    let (ta, tb) = (PollThread::start(&pa), PollThread::start(&pb));
    let (mut a, mut b) = pair();
    let ra = Registration::new(&pa, &mut a, Interest::READABLE | Interest::WRITABLE).unwrap();
    let rb = Registration::new(&pb, &mut b, Interest::READABLE | Interest::WRITABLE).unwrap();

    let writer = thread::spawn(move || {
        let data: Vec<u8> = (0..LEN).map(pattern).collect();
        let mut off = 0;
        while off < LEN {
            let end = (off + 100_000).min(LEN);
            off += block_on(ra.io(Direction::Write, || a.write(&data[off..end]))).unwrap();
        }
        a.shutdown(Shutdown::Write).unwrap();
        ra.deregister(&mut a).unwrap();
    });
    let reader = thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0;
        loop {
            let n = block_on(rb.io(Direction::Read, || b.read(&mut buf))).unwrap();
            if n == 0 {
                break;
            }
            for (k, &byte) in buf[..n].iter().enumerate() {
                assert_eq!(byte, pattern(total + k), "byte {}", total + k);
            }
            total += n;
        }
        rb.deregister(&mut b).unwrap();
        total
    });
    writer.join().unwrap();
    assert_eq!(reader.join().unwrap(), LEN);
    assert!(ta.stop() + tb.stop() > 0);
    assert_eq!(pa.registrations() + pb.registrations(), 0);
}

/// One-byte ping-pong: every round trip needs a wake-up on each side, so a lost one hangs
/// (and `block_on` panics).
#[test]
fn ping_pong_loses_no_wakeup() {
    const ROUNDS: usize = 5_000;
    let poller = poller();
    let poll_thread = PollThread::start(&poller);
    let (mut a, mut b) = pair();
    let ra = Registration::new(&poller, &mut a, Interest::READABLE | Interest::WRITABLE).unwrap();
    let rb = Registration::new(&poller, &mut b, Interest::READABLE | Interest::WRITABLE).unwrap();
    let ponger = thread::spawn(move || {
        let mut byte = [0u8; 1];
        for i in 0..ROUNDS {
            assert_eq!(
                block_on(rb.io(Direction::Read, || b.read(&mut byte))).unwrap(),
                1
            );
            assert_eq!(byte[0], i as u8);
            block_on(rb.io(Direction::Write, || b.write(&byte))).unwrap();
        }
        rb.deregister(&mut b).unwrap();
    });
    let mut byte = [0u8; 1];
    for i in 0..ROUNDS {
        block_on(ra.io(Direction::Write, || a.write(&[i as u8]))).unwrap();
        assert_eq!(
            block_on(ra.io(Direction::Read, || a.read(&mut byte))).unwrap(),
            1
        );
        assert_eq!(byte[0], i as u8);
    }
    ponger.join().unwrap();
    ra.deregister(&mut a).unwrap();
    let events = poll_thread.stop();
    assert!(events >= ROUNDS, "{events} events for {ROUNDS} round trips");
}

/// Many registrations come and go on one poller, from four threads, while a fifth keeps
/// polling it: slots are reused and every state ends up released.
#[test]
fn churn_registrations_while_polling() {
    let poller = poller();
    let poll_thread = PollThread::start(&poller);
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let poller = poller.clone();
            thread::spawn(move || {
                for _ in 0..200 {
                    let (mut a, mut b) = pair();
                    let rb = Registration::new(&poller, &mut b, Interest::READABLE).unwrap();
                    a.write_all(b"z").unwrap();
                    let n = block_on(rb.io(Direction::Read, || b.read(&mut [0; 4]))).unwrap();
                    assert_eq!(n, 1);
                    rb.deregister(&mut b).unwrap();
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    poll_thread.stop();
    assert_eq!(poller.registrations(), 0);
}

#[test]
fn ready_bits_of_a_refused_connect() {
    // A connect to a closed port reports an error/hang-up, which wakes the writer.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let poller = poller();
    let _poll_thread = PollThread::start(&poller);
    let mut s = TcpStream::connect(port).unwrap();
    let reg = Registration::new(&poller, &mut s, Interest::WRITABLE).unwrap();
    let ev = block_on(reg.ready(Direction::Write)).unwrap();
    assert!(
        ev.ready().intersects(Ready::ERROR | Ready::WRITE_CLOSED),
        "{ev:?}"
    );
    assert!(s.take_error().unwrap().is_some());
    reg.deregister(&mut s).unwrap();
}
