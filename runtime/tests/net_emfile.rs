//! Accept under file-descriptor exhaustion: the listener neither spins its processor nor
//! dies, and serves again once descriptors free up.
//!
//! `RLIMIT_NOFILE` is process-wide, so the scenario runs in a child process: the test
//! re-executes this test binary with `--exact accept_survives_fd_exhaustion` and
//! `GORO_NET_EMFILE_CHILD=<processors>`, and the child runs the scenario instead of
//! spawning another child.
#![cfg(target_os = "linux")]

mod common;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use goro::net::TcpListener;

const CHILD_ENV: &str = "GORO_NET_EMFILE_CHILD";
const TEST_NAME: &str = "accept_survives_fd_exhaustion";

#[test]
fn accept_survives_fd_exhaustion() {
    match std::env::var(CHILD_ENV) {
        Ok(procs) => child(procs.parse().expect("processor count")),
        Err(_) => {
            for n in PROCS {
                parent(n);
            }
        }
    }
}

/// Runs the scenario in a child process at `n` processors and checks that it passed.
fn parent(n: usize) {
    let exe = std::env::current_exe().expect("current_exe");
    let mut child = Command::new(exe)
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, n.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the child test process");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("processors = {n}: the child did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = String::new();
    let mut err = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    eprintln!("--- child, processors = {n}:\n{err}");
    assert!(
        status.success(),
        "processors = {n}: the child failed ({status}):\n{out}\n{err}"
    );
    // Guard against a filter that matched nothing: the scenario must have run.
    assert!(
        out.contains("1 passed") && err.contains("scenario done"),
        "processors = {n}: the child did not run the scenario:\n{out}\n{err}"
    );
}

/// CPU time (user + system) this process used so far.
fn cpu_time() -> Duration {
    // SAFETY: getrusage writes a `rusage` into the zeroed value we pass; RUSAGE_SELF is valid.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_SELF, &mut usage), 0);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn set_fd_limit(soft: u64) {
    // SAFETY: getrlimit/setrlimit read and write the `rlimit` we pass.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        lim.rlim_cur = soft.min(lim.rlim_max);
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0, "setrlimit");
    }
}

/// Opens descriptors until the process runs out; returns them.
fn exhaust_fds() -> Vec<std::fs::File> {
    let mut files = Vec::new();
    loop {
        match std::fs::File::open("/dev/null") {
            Ok(f) => files.push(f),
            Err(e) if e.raw_os_error() == Some(libc::EMFILE) => return files,
            Err(e) => panic!("open /dev/null: {e}"),
        }
        assert!(files.len() < 100_000, "RLIMIT_NOFILE did not take effect");
    }
}

fn accept_errors(rt: &goro::Runtime) -> u64 {
    rt.handle()
        .as_sched()
        .counters()
        .iter()
        .map(|c| c.accept_errors)
        .sum()
}

fn round_trip(c: &mut std::net::TcpStream, msg: &[u8]) {
    c.write_all(msg).unwrap();
    let mut buf = vec![0; msg.len()];
    c.read_exact(&mut buf)
        .expect("echo from the accepted connection");
    assert_eq!(buf, msg);
}

fn child(n: usize) {
    let rt = rt(n);
    let accepted = Arc::new(AtomicUsize::new(0));
    let acc = accepted.clone();
    let addr: SocketAddr = rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        goro::spawn(async move {
            loop {
                // Exhaustion errors never come out of accept: it backs off and retries.
                let (mut s, _) = listener.accept().await.expect("accept returned an error");
                acc.fetch_add(1, Ordering::SeqCst);
                goro::spawn(async move {
                    let mut buf = [0; 64];
                    while let Ok(k @ 1..) = s.read(&mut buf).await {
                        if s.write_all(&buf[..k]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        addr
    });
    // Let every processor and the monitor settle (spare machines, first polls).
    std::thread::sleep(Duration::from_millis(100));

    set_fd_limit(256);
    let mut files = exhaust_fds();
    eprintln!("exhausted descriptors after opening {} more", files.len());
    // Room for exactly one more descriptor: the client's socket. The kernel completes the
    // handshake into the listen backlog, but accept(2) has no descriptor to give.
    drop(files.pop());
    let mut client = std::net::TcpStream::connect(addr).expect("connect while exhausted");
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    assert!(
        std::fs::File::open("/dev/null").is_err(),
        "descriptors are not exhausted"
    );

    let (cpu0, wall0) = (cpu_time(), Instant::now());
    std::thread::sleep(Duration::from_secs(1));
    let (cpu, wall) = (cpu_time() - cpu0, wall0.elapsed());
    let errors = accept_errors(&rt);
    eprintln!(
        "exhausted for {wall:?}: CPU time {cpu:?}, accept errors {errors}, accepted {}",
        accepted.load(Ordering::SeqCst)
    );
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        0,
        "a connection was accepted without a free descriptor"
    );
    assert!(errors >= 3, "accept errors were not counted ({errors})");
    // Backing off 1, 2, 4, ... 100 ms: about 15 retries a second. A spinning processor
    // would retry millions of times and burn the whole second.
    assert!(
        errors < 200,
        "accept retried {errors} times in one second: it spins"
    );
    assert!(
        cpu < Duration::from_millis(300),
        "the process used {cpu:?} of CPU in {wall:?} while exhausted: something spins"
    );

    // Free some descriptors: the pending connection is accepted within the back-off cap.
    files.truncate(files.len().saturating_sub(16));
    let freed = Instant::now();
    wait_until(
        Duration::from_secs(5),
        "the pending connection to be accepted",
        || accepted.load(Ordering::SeqCst) == 1,
    );
    eprintln!(
        "accepted {:?} after descriptors were freed",
        freed.elapsed()
    );
    round_trip(&mut client, b"served again");

    // The listener keeps serving new connections.
    let mut second = std::net::TcpStream::connect(addr).unwrap();
    second
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    round_trip(&mut second, b"and again");
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
    drop(files);
    drop((client, second));
    drop(rt);
    eprintln!("scenario done");
}
