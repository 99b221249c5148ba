//! The debug server under a crowd: 500 idle connections kept open (reopened as the server
//! times them out), slow clients trickling a request byte by byte, and a client sending
//! garbage non-stop, while `/metrics` is probed. The probes must be answered quickly, and
//! the process must not gain threads or much memory. One test in this binary (its own
//! process), so the thread count and RSS it reads are its own.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const IDLE: usize = 500;
const SLOW: usize = 10;
const PROBES: usize = 20;

/// A field of `/proc/self/status` (`Threads`, `VmRSS` in kB).
fn status(field: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Lets this process open the descriptors the test needs (both ends of every connection).
fn raise_descriptor_limit(needed: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the rlimit we pass, which lives for the call.
    let got = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    assert_eq!(got, 0);
    if limit.rlim_cur >= needed {
        return;
    }
    assert!(
        limit.rlim_max >= needed,
        "this test needs {needed} descriptors; the hard limit is {}",
        limit.rlim_max
    );
    limit.rlim_cur = needed;
    // SAFETY: setrlimit reads the rlimit we pass, which lives for the call.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
}

/// Whether the server has closed `conn` (EOF or an answer waiting), without blocking.
fn closed_by_server(conn: &TcpStream) -> bool {
    let mut byte = [0u8; 1];
    conn.set_nonblocking(true).unwrap();
    let closed = !matches!(conn.peek(&mut byte), Err(e) if e.kind() == ErrorKind::WouldBlock);
    conn.set_nonblocking(false).unwrap();
    closed
}

/// Keeps `IDLE` connections open that send nothing, and `SLOW` that send a valid request
/// one byte every 50 ms, reopening any the server closes, until `stop`.
fn crowd(addr: SocketAddr, stop: &AtomicBool) {
    let request = b"GET /metrics HTTP/1.1\r\nHost: goro\r\nX-Slow: yes\r\n\r\n";
    let mut idle: Vec<TcpStream> = (0..IDLE)
        .map(|_| TcpStream::connect(addr).unwrap())
        .collect();
    let mut slow: Vec<(TcpStream, usize)> = (0..SLOW)
        .map(|_| (TcpStream::connect(addr).unwrap(), 0))
        .collect();
    while !stop.load(Ordering::Relaxed) {
        for conn in &mut idle {
            if closed_by_server(conn) {
                *conn = TcpStream::connect(addr).unwrap();
            }
        }
        for (conn, sent) in &mut slow {
            if closed_by_server(conn) || *sent == request.len() {
                *conn = TcpStream::connect(addr).unwrap();
                *sent = 0;
            }
            let _ = conn.write_all(&request[*sent..*sent + 1]);
            *sent += 1;
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// Sends garbage as fast as the server takes it, reconnecting when it hangs up, until `stop`.
fn garbage(addr: SocketAddr, stop: &AtomicBool) {
    let mut noise = [0u8; 4096];
    for (i, b) in noise.iter_mut().enumerate() {
        *b = (i * 7919 % 251) as u8;
    }
    let printable = [b'A'; 4096];
    let mut round = 0usize;
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        // Alternately bytes httparse rejects at once (400) and an endless token (431).
        let chunk = if round.is_multiple_of(2) {
            &noise
        } else {
            &printable
        };
        if let Ok(mut conn) = TcpStream::connect(addr) {
            let _ = conn.set_write_timeout(Some(Duration::from_millis(200)));
            while !stop.load(Ordering::Relaxed) && conn.write_all(chunk).is_ok() {}
        }
    }
}

/// One `/metrics` request on a new connection: the time to the complete answer.
fn probe(addr: SocketAddr) -> Duration {
    let started = Instant::now();
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    conn.write_all(b"GET /metrics HTTP/1.1\r\nHost: goro\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    let took = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer:.200}");
    assert!(answer.contains("goro_polls_total"), "{answer:.200}");
    took
}

#[test]
fn metrics_answer_quickly_through_a_crowd_of_idle_slow_and_garbage_connections() {
    raise_descriptor_limit(4 * (IDLE + SLOW) as u64 + 256);
    common::within(Duration::from_secs(120), || {
        let rt = goro::Builder::new()
            .processors(1)
            .debug_addr(([127, 0, 0, 1], 0).into())
            .build()
            .unwrap();
        let addr = rt.debug_addr().unwrap();
        probe(addr);
        let threads_before = status("Threads");
        let rss_before = status("VmRSS");

        let stop = Arc::new(AtomicBool::new(false));
        let load: Vec<_> = [crowd as fn(SocketAddr, &AtomicBool), garbage]
            .into_iter()
            .map(|work| {
                let stop = stop.clone();
                thread::spawn(move || work(addr, &stop))
            })
            .collect();
        // Let the crowd gather and the server time out its first round of idle connections.
        thread::sleep(Duration::from_millis(1500));

        common::in_one_of(3, || {
            let mut times: Vec<Duration> = (0..PROBES)
                .map(|_| {
                    thread::sleep(Duration::from_millis(25));
                    probe(addr)
                })
                .collect();
            times.sort();
            let (median, worst) = (times[PROBES / 2], times[PROBES - 1]);
            eprintln!(
                "/metrics through {IDLE} idle + {SLOW} slow connections and a garbage sender: \
                 median {median:?}, worst {worst:?}, all {times:?}"
            );
            common::ensure(median < Duration::from_millis(100), || {
                format!("median {median:?} over 100 ms: {times:?}")
            })?;
            common::ensure(worst < Duration::from_millis(500), || {
                format!("worst {worst:?} over 500 ms: {times:?}")
            })
        });

        // The server's thread is all it has: the process gained only the two load threads.
        let threads_during = status("Threads");
        let rss_during = status("VmRSS");
        assert_eq!(common::threads_named("goro-debug").len(), 1);
        assert_eq!(
            threads_during,
            threads_before + load.len() as u64,
            "threads before {threads_before}, during {threads_during}"
        );
        stop.store(true, Ordering::Relaxed);
        for thread in load {
            thread.join().unwrap();
        }
        // The crowd's sockets closed with its thread; the server times out its ends.
        thread::sleep(Duration::from_millis(1500));
        let after = probe(addr);
        let (threads_after, rss_after) = (status("Threads"), status("VmRSS"));
        eprintln!(
            "threads before {threads_before}, during {threads_during}, after {threads_after}; \
             RSS before {rss_before} kB, during {rss_during} kB, after {rss_after} kB; \
             /metrics after the crowd left: {after:?}"
        );
        assert_eq!(threads_after, threads_before, "the load's threads are gone");
        // Bounded memory: 1024 connections' head buffers are 8 MiB at worst; the idle
        // ones hold none. Allow that and some allocator slack.
        let grown = rss_during.saturating_sub(rss_before);
        assert!(grown < 16 * 1024, "RSS grew by {grown} kB");
    });
}
