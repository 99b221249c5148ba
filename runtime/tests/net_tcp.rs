//! TCP sockets: echo under many clients, a large transfer, end-of-stream, refused connects,
//! split halves in two tasks, I/O next to always-ready tasks, I/O on a processor whose
//! thread blocks, the cooperative budget, and shutdown. Loopback only, each at 1 and 2
//! processors, each bounded in time.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use goro::io::{AsyncReadExt, AsyncWriteExt};
use goro::net::{TcpListener, TcpStream};
use goro::task::yield_now;

/// Echoes everything it reads until end-of-stream, then shuts its write side down.
async fn echo(mut s: TcpStream) {
    let mut buf = vec![0; 16 * 1024];
    loop {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if s.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = s.shutdown(Shutdown::Write);
}

/// Binds an echo server on loopback; returns its address and the accept loop's handle.
async fn echo_server() -> (SocketAddr, goro::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = goro::spawn(async move {
        loop {
            let (s, _) = listener.accept().await.expect("accept");
            goro::spawn(echo(s));
        }
    });
    (addr, server)
}

/// FNV-1a over `data`, continuing from `h`.
fn fnv(mut h: u64, data: &[u8]) -> u64 {
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// Deterministic pseudo-random bytes (xorshift).
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v
}

#[test]
fn echo_100_clients_x_100_round_trips() {
    each_procs(Duration::from_secs(60), |n| {
        let rt = rt(n);
        let start = Instant::now();
        rt.block_on(async {
            let (addr, server) = echo_server().await;
            let clients: Vec<_> = (0..100)
                .map(|c| {
                    goro::spawn(async move {
                        let mut s = TcpStream::connect(addr).await.expect("connect");
                        s.set_nodelay(true).unwrap();
                        let mut buf = Vec::new();
                        for i in 0..100 {
                            let msg = format!("client {c} round trip {i}");
                            s.write_all(msg.as_bytes()).await.unwrap();
                            buf.resize(msg.len(), 0);
                            s.read_exact(&mut buf).await.unwrap();
                            assert_eq!(buf, msg.as_bytes());
                        }
                    })
                })
                .collect();
            for c in clients {
                c.await.expect("client task");
            }
            server.abort();
        });
        eprintln!(
            "processors = {n}: 10 000 round trips in {:?}",
            start.elapsed()
        );
    });
}

#[test]
fn transfer_32_mib_arrives_intact() {
    const LEN: usize = 32 << 20;
    each_procs(Duration::from_secs(60), |n| {
        let rt = rt(n);
        rt.block_on(async {
            let data = pattern(LEN, 42 + n as u64);
            let want = fnv(FNV_START, &data);
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let receiver = goro::spawn(async move {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut buf = vec![0; 8 * 1024 + 7];
                let (mut len, mut h) = (0, FNV_START);
                loop {
                    let k = s.read(&mut buf).await.unwrap();
                    if k == 0 {
                        break;
                    }
                    len += k;
                    h = fnv(h, &buf[..k]);
                }
                (len, h)
            });
            let mut s = TcpStream::connect(addr).await.unwrap();
            // Uneven chunks, through both the inherent and the extension-trait write_all.
            for (i, chunk) in data.chunks(64 * 1024 + 13).enumerate() {
                if i % 2 == 0 {
                    s.write_all(chunk).await.unwrap();
                } else {
                    AsyncWriteExt::write_all(&mut &s, chunk).await.unwrap();
                }
            }
            AsyncWriteExt::close(&mut s).await.unwrap();
            let (len, h) = receiver.await.unwrap();
            assert_eq!(len, LEN);
            assert_eq!(h, want, "the data arrived corrupted");
        });
    });
}

#[test]
fn eof_reads_return_zero() {
    each_procs(Duration::from_secs(20), |n| {
        let rt = rt(n);
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();

            // The peer closes: reads return 0, again and again.
            let mut c = TcpStream::connect(addr).await.unwrap();
            let (s, _) = listener.accept().await.unwrap();
            drop(s);
            let mut buf = [0; 16];
            assert_eq!(c.read(&mut buf).await.unwrap(), 0);
            assert_eq!(c.read(&mut buf).await.unwrap(), 0);

            // The peer shuts its write side down after sending: data, then 0, while the
            // other direction still works.
            let mut c = TcpStream::connect(addr).await.unwrap();
            let (mut s, _) = listener.accept().await.unwrap();
            s.write_all(b"last words").await.unwrap();
            s.shutdown(Shutdown::Write).unwrap();
            let mut got = Vec::new();
            assert_eq!(c.read_to_end(&mut got).await.unwrap(), 10);
            assert_eq!(got, b"last words");
            assert_eq!(c.read(&mut buf).await.unwrap(), 0);
            c.write_all(b"still open").await.unwrap();
            let mut back = [0; 10];
            s.read_exact(&mut back).await.unwrap();
            assert_eq!(&back, b"still open");

            // read_exact across the end: UnexpectedEof.
            drop(s);
            let err = c.read_exact(&mut buf).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
        });
    });
}

#[test]
fn refused_connect_is_an_error() {
    each_procs(Duration::from_secs(20), |n| {
        let rt = rt(n);
        rt.block_on(async {
            let addr = {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                listener.local_addr().unwrap()
            };
            let err = TcpStream::connect(addr)
                .await
                .expect_err("connected to a closed port");
            assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
            // Also from a task, and with the address as a string.
            let err = goro::spawn(async move { TcpStream::connect(addr.to_string()).await })
                .await
                .unwrap()
                .expect_err("connected to a closed port");
            assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
        });
    });
}

#[test]
fn connect_resolves_host_names() {
    each_procs(Duration::from_secs(20), |n| {
        let rt = rt(n);
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            // "localhost" may resolve to ::1 first: connect tries each address in turn.
            let c = TcpStream::connect(("localhost", port)).await.unwrap();
            let (s, peer) = listener.accept().await.unwrap();
            assert_eq!(peer, c.local_addr().unwrap());
            assert_eq!(s.peer_addr().unwrap(), c.local_addr().unwrap());
        });
    });
}

#[test]
fn split_halves_in_two_tasks() {
    // Big enough that both directions fill their buffers and wait at the same time: a reader
    // and a writer that shared one waker slot would lose wake-ups and hang.
    const LEN: usize = 8 << 20;
    each_procs(Duration::from_secs(60), |n| {
        let rt = rt(n);
        rt.block_on(async {
            let (addr, server) = echo_server().await;
            let stream = TcpStream::connect(addr).await.unwrap();
            let (mut rd, mut wr) = stream.into_split();
            assert_eq!(rd.peer_addr().unwrap(), addr);
            assert_eq!(wr.peer_addr().unwrap(), addr);
            let data = pattern(LEN, 7);
            let want = fnv(FNV_START, &data);
            let writer = goro::spawn(async move {
                for chunk in data.chunks(100_000) {
                    wr.write_all(chunk).await.unwrap();
                }
                wr // keep it: dropping it would shut the write side down early
            });
            let reader = goro::spawn(async move {
                let mut buf = vec![0; 32 * 1024];
                let (mut len, mut h) = (0, FNV_START);
                while len < LEN {
                    let k = rd.read(&mut buf).await.unwrap();
                    assert_ne!(k, 0, "early end of stream after {len} bytes");
                    len += k;
                    h = fnv(h, &buf[..k]);
                }
                (rd, h)
            });
            let wr = writer.await.unwrap();
            let (mut rd, h) = reader.await.unwrap();
            assert_eq!(h, want);

            // Dropping the write half shuts the write side down: the echo server answers
            // with end-of-stream.
            drop(wr);
            let mut buf = [0; 1];
            assert_eq!(rd.read(&mut buf).await.unwrap(), 0);

            // Reunite: halves of the same stream only.
            let a = TcpStream::connect(addr).await;
            let b = TcpStream::connect(addr).await;
            let (ra, wa) = a.unwrap().into_split();
            let (rb, wb) = b.unwrap().into_split();
            let err = ra.reunite(wb).unwrap_err();
            let (ra, wb) = (err.0, err.1);
            let a = ra.reunite(wa).expect("reunite the halves of one stream");
            assert_eq!(a.peer_addr().unwrap(), addr);
            rb.reunite(wb).unwrap();
            server.abort();
        });
    });
}

#[test]
fn io_completes_while_100_tasks_spin() {
    each_procs(Duration::from_secs(60), |n| {
        let rt = rt(n);
        let stop = Arc::new(AtomicBool::new(false));
        let spins = Arc::new(AtomicUsize::new(0));
        let spinners: Vec<_> = (0..100)
            .map(|_| {
                let (stop, spins) = (stop.clone(), spins.clone());
                rt.spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        spins.fetch_add(1, Ordering::Relaxed);
                        yield_now().await;
                    }
                })
            })
            .collect();
        // Server and client are tasks too, competing with the spinners.
        let elapsed = rt.block_on(async {
            let (addr, server) = echo_server().await;
            let client = goro::spawn(async move {
                let start = Instant::now();
                let mut s = TcpStream::connect(addr).await.unwrap();
                s.set_nodelay(true).unwrap();
                let mut buf = [0; 8];
                for i in 0..100u64 {
                    s.write_all(&i.to_le_bytes()).await.unwrap();
                    s.read_exact(&mut buf).await.unwrap();
                    assert_eq!(u64::from_le_bytes(buf), i);
                }
                start.elapsed()
            });
            let elapsed = client.await.unwrap();
            server.abort();
            elapsed
        });
        stop.store(true, Ordering::Relaxed);
        for s in spinners {
            rt.block_on(s).unwrap();
        }
        eprintln!(
            "processors = {n}: 100 round trips next to 100 spinning tasks in {elapsed:?} \
             ({} yields)",
            spins.load(Ordering::Relaxed)
        );
        assert!(
            spins.load(Ordering::Relaxed) > 100,
            "the spinners did not run"
        );
        // The processors never run out of tasks, so only their 61-tick polls see the I/O
        // in time: without them each of the 200 wakes would wait for the monitor's poll of
        // a starved poller (10 ms), 2 s in all.
        assert!(
            elapsed < Duration::from_millis(500),
            "processors = {n}: 100 round trips took {elapsed:?}"
        );
    });
}

#[test]
fn blocked_thread_does_not_delay_echo_on_its_processor() {
    within(Duration::from_secs(30), || {
        let rt = rt(1);
        let (addr, _server) = rt.block_on(echo_server());
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        c.set_nodelay(true).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut round_trip = |i: u8| {
            let start = Instant::now();
            c.write_all(&[i; 32]).unwrap();
            let mut buf = [0; 32];
            c.read_exact(&mut buf).unwrap();
            assert_eq!(buf, [i; 32]);
            start.elapsed()
        };
        round_trip(0); // the connection is accepted and its echo task runs

        let started = Arc::new(AtomicBool::new(false));
        let st = started.clone();
        let blocker = rt.spawn(async move {
            st.store(true, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(600));
        });
        wait_until(Duration::from_secs(5), "the blocking task to start", || {
            started.load(Ordering::SeqCst)
        });
        let blocked_at = Instant::now();
        let mut worst = Duration::ZERO;
        for i in 1..=5 {
            worst = worst.max(round_trip(i));
        }
        let all = blocked_at.elapsed();
        eprintln!("echo while the only processor's thread sleeps 600 ms: worst {worst:?}, all five in {all:?}");
        assert!(
            worst < Duration::from_millis(400),
            "a round trip took {worst:?}: the blocked thread held the processor"
        );
        assert!(
            all < Duration::from_millis(550),
            "five round trips took {all:?}: they waited for the blocked thread"
        );
        rt.block_on(blocker).unwrap();
    });
}

#[test]
fn cooperative_budget_bounds_a_read_loop() {
    // A task reading a socket that always has data yields every so often: the processors'
    // budget-yield counter grows by about one per 128 reads, and at 1 processor another
    // task of the processor runs in between.
    //
    // Nothing here waits for a thread to run in parallel with a spinning task. The ticker
    // runs only at 1 processor (at 2 it would run on the other processor, which says
    // nothing about the budget, and spin there), and the reader stops it itself. Under
    // valgrind, which runs one thread at a time, a ticker spinning on the other processor
    // until the `block_on` thread stopped it took a whole scheduling quantum from every
    // read system call (and from every other test of this binary running next to it):
    // minutes instead of a second, which the 30 s limit reported as a hang.
    each_procs(Duration::from_secs(30), |n| {
        let rt = rt(n);
        const LEN: usize = 32 * 1024;
        let before = rt.handle().stats().totals.budget_yields;
        let ticks_seen = rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let mut client = std::net::TcpStream::connect(addr).unwrap();
            let (mut s, _) = listener.accept().await.unwrap();
            client.write_all(&vec![1; LEN]).unwrap();
            // Wait until everything is readable, so no read ever has to wait.
            let mut probe = vec![0; LEN];
            while s.peek(&mut probe).await.unwrap() < LEN {
                goro::time::sleep(Duration::from_millis(1)).await;
            }
            let stop = Arc::new(AtomicBool::new(false));
            let ticks = Arc::new(AtomicUsize::new(0));
            let (st, tk) = (stop.clone(), ticks.clone());
            let ticker = (n == 1).then(|| {
                goro::spawn(async move {
                    while !st.load(Ordering::Relaxed) {
                        tk.fetch_add(1, Ordering::Relaxed);
                        yield_now().await;
                    }
                })
            });
            let ticks_seen = goro::spawn(async move {
                yield_now().await; // let the ticker start
                let before = ticks.load(Ordering::Relaxed);
                let mut byte = [0; 1];
                for _ in 0..LEN {
                    assert_eq!(s.read(&mut byte).await.unwrap(), 1);
                }
                stop.store(true, Ordering::Relaxed);
                ticks.load(Ordering::Relaxed) - before
            })
            .await
            .unwrap();
            if let Some(ticker) = ticker {
                ticker.await.unwrap();
            }
            ticks_seen
        });
        // 32 768 reads at 128 per budget: about 256 yields.
        let yields = rt.handle().stats().totals.budget_yields - before;
        assert!(
            yields >= 100,
            "{yields} budget yields during {LEN} reads that never had to wait"
        );
        if n == 1 {
            assert!(
                ticks_seen >= 100,
                "the ticker ran {ticks_seen} times during {LEN} ready reads"
            );
        }
    });
}

#[test]
fn cooperative_budget_bounds_a_write_loop() {
    // A task writing to a socket that always has room yields every so often too: the
    // processors' budget-yield counter grows by about one per 128 writes (at 1 processor
    // that is what lets the other tasks run). Nothing spins here: when the reading thread
    // falls behind (valgrind runs one thread at a time) the writer waits for room. (It used
    // to time out under valgrind only next to the read-loop test's spinning ticker.)
    each_procs(Duration::from_secs(30), |n| {
        let rt = rt(n);
        const LEN: usize = 32 * 1024;
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let addr = addr_rx.recv().unwrap();
            let mut client = std::net::TcpStream::connect(addr).unwrap();
            let mut all = Vec::new();
            client.read_to_end(&mut all).unwrap();
            all.len()
        });
        let before = rt.handle().stats().totals.budget_yields;
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            let (mut s, _) = listener.accept().await.unwrap();
            goro::spawn(async move {
                for _ in 0..LEN {
                    assert_eq!(s.write(&[1]).await.unwrap(), 1);
                }
            })
            .await
            .unwrap();
        });
        let yields = rt.handle().stats().totals.budget_yields - before;
        assert_eq!(reader.join().unwrap(), LEN);
        assert!(
            yields >= 100,
            "{yields} budget yields during {LEN} writes that never had to wait"
        );
    });
}

#[test]
fn shutdown_releases_pending_operations() {
    each_procs(Duration::from_secs(20), |n| {
        // A task waiting in accept is dropped with its listener: the port is free again.
        let rt = rt(n);
        let drops = counter();
        let g = DropGuard(drops.clone());
        let (tx, rx) = std::sync::mpsc::channel();
        let accepting = rt.spawn(async move {
            let _g = g;
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            listener.accept().await.map(|_| ())
        });
        let addr = rx.recv().unwrap();
        // A read waiting in `block_on` on another thread fails when the runtime goes away.
        let (mut c, s) = rt.block_on(async {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
            (c, l.accept().await.unwrap().0)
        });
        let handle = rt.handle().clone();
        let reader = std::thread::spawn(move || {
            handle.block_on(async move {
                let mut buf = [0; 1];
                c.read(&mut buf).await
            })
        });
        std::thread::sleep(Duration::from_millis(50));
        drop(rt);
        assert_eq!(
            drops.load(Ordering::SeqCst),
            1,
            "the accepting task was not dropped"
        );
        drop(accepting);
        std::net::TcpListener::bind(addr).expect("the listener's port is still taken");
        let err = reader
            .join()
            .unwrap()
            .expect_err("a read on a shut-down runtime returned data");
        assert!(err.to_string().contains("shutting down"), "{err}");
        drop(s);
    });
}

#[test]
fn std_conversions_and_options() {
    each_procs(Duration::from_secs(20), |n| {
        let rt = rt(n);
        rt.block_on(async {
            let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = std_listener.local_addr().unwrap();
            let listener = TcpListener::from_std(std_listener).unwrap();
            assert_eq!(listener.local_addr().unwrap(), addr);
            let std_client = std::net::TcpStream::connect(addr).unwrap();
            let mut client = TcpStream::from_std(std_client).unwrap();
            let (mut server, peer) = listener.accept().await.unwrap();
            assert_eq!(peer, client.local_addr().unwrap());
            client.set_nodelay(true).unwrap();
            assert!(client.nodelay().unwrap());
            client.set_ttl(42).unwrap();
            assert_eq!(client.ttl().unwrap(), 42);
            assert!(client.take_error().unwrap().is_none());
            client.write_all(b"xy").await.unwrap();
            client.flush().await.unwrap();
            let mut buf = [0; 2];
            assert_eq!(server.peek(&mut buf).await.unwrap(), 2);
            assert_eq!(server.read(&mut buf).await.unwrap(), 2);
            assert_eq!(&buf, b"xy");
            // A listener's accept through poll_accept.
            let _c2 = TcpStream::connect(addr).await.unwrap();
            let (s2, _) = std::future::poll_fn(|cx| listener.poll_accept(cx))
                .await
                .unwrap();
            assert_eq!(s2.local_addr().unwrap(), addr);
        });
        // `&TcpStream` reads and writes from two tasks at once.
        rt.block_on(async {
            let (addr, server) = echo_server().await;
            let s = Arc::new(TcpStream::connect(addr).await.unwrap());
            let s2 = s.clone();
            let w = goro::spawn(async move {
                for i in 0..1000u32 {
                    (&*s2).write_all(&i.to_le_bytes()).await.unwrap();
                }
            });
            let mut buf = [0; 4];
            for i in 0..1000u32 {
                (&*s).read_exact(&mut buf).await.unwrap();
                assert_eq!(u32::from_le_bytes(buf), i);
            }
            w.await.unwrap();
            server.abort();
        });
    });
}

#[test]
fn drop_deregisters_and_closes() {
    each_procs(Duration::from_secs(20), |n| {
        let rt = rt(n);
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            drop(listener);
            // The descriptor is closed: the port can be bound again, and nothing listens.
            let again = std::net::TcpListener::bind(addr).expect("port still taken");
            drop(again);
            // Many short-lived connections do not leak registrations or descriptors.
            let (addr, server) = echo_server().await;
            for i in 0..500u32 {
                let mut c = TcpStream::connect(addr).await.unwrap();
                c.write_all(&i.to_le_bytes()).await.unwrap();
                let mut buf = [0; 4];
                c.read_exact(&mut buf).await.unwrap();
            }
            server.abort();
        });
        let sockets = || -> usize { rt.handle().stats().procs.iter().map(|p| p.io_sources).sum() };
        wait_until(Duration::from_secs(5), "every socket deregistered", || {
            sockets() == 0
        });
    });
}

/// tokio's readiness API: `try_read`/`try_write` never wait (`WouldBlock` when the socket
/// has nothing or takes nothing), `readable`/`writable` wait for the next chance, and a
/// `WouldBlock` clears the readiness so the next wait is for new data.
#[test]
fn readable_writable_try_read_try_write() {
    each_procs(Duration::from_secs(20), |n| {
        rt(n).block_on(async {
            let (a, mut b) = tcp_pair().await;
            let mut buf = [0u8; 64];
            assert_eq!(
                a.try_read(&mut buf).unwrap_err().kind(),
                ErrorKind::WouldBlock
            );
            let quiet = goro::time::timeout(Duration::from_millis(100), a.readable()).await;
            assert!(quiet.is_err(), "readable with nothing to read");

            b.write_all(b"ready").await.unwrap();
            a.readable().await.unwrap();
            let mut got = Vec::new();
            loop {
                match a.try_read(&mut buf) {
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => panic!("{e}"),
                }
                if got.len() < 5 {
                    a.readable().await.unwrap();
                }
            }
            assert_eq!(got, b"ready");
            // Drained: the readiness was cleared, so the next wait waits for new data.
            let quiet = goro::time::timeout(Duration::from_millis(100), a.readable()).await;
            assert!(quiet.is_err(), "readable again without new data");

            // Fill the send path until the socket takes nothing more.
            a.writable().await.unwrap();
            let chunk = vec![7u8; 64 * 1024];
            let mut sent = 0;
            loop {
                match a.try_write(&chunk) {
                    Ok(n) => sent += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => panic!("{e}"),
                }
            }
            assert!(sent > 0);
            // Right after the `WouldBlock`, the readiness is cleared: not writable.
            let mut writable = std::pin::pin!(a.writable());
            assert!(
                poll_once(&mut writable).is_pending(),
                "writable with the buffers full"
            );
            // The peer drains it all: writable again.
            let mut sink = vec![0u8; sent];
            b.read_exact(&mut sink).await.unwrap();
            goro::time::timeout(Duration::from_secs(10), writable)
                .await
                .expect("not writable after the peer read everything")
                .unwrap();
            // End-of-stream: readable, and `try_read` says 0.
            drop(b);
            a.readable().await.unwrap();
            assert_eq!(a.try_read(&mut buf).unwrap(), 0);
        });
    });
}
