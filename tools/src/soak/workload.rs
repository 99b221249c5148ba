//! The soak's workloads: each is a driver loop that runs rounds until the deadline, every
//! round spawning tasks through the [`Ledger`] and settling all of them before the next,
//! so the number of tasks alive at once stays bounded whatever the duration.

use super::ledger::{Kind, Ledger};
use goro::net::{TcpListener, TcpStream};
use goro::task::yield_now;
use goro::time::{sleep, timeout};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The message of every panic the soak causes on purpose (its panic hook stays quiet
/// about these).
pub const DELIBERATE_PANIC: &str = "goro-soak: deliberate panic";

/// A driver loop, boxed so that every driver is spawned from one place.
pub type Driver = Pin<Box<dyn Future<Output = bool> + Send>>;

/// Every workload's driver, running until `until`. A driver returns `false` if something
/// it does failed (an error it did not expect); wrong task values go to the ledger.
pub fn drivers(ledger: &Arc<Ledger>, until: Instant) -> Vec<Driver> {
    vec![
        Box::pin(churn(ledger.clone(), until)),
        Box::pin(panics(ledger.clone(), until)),
        Box::pin(aborts(ledger.clone(), until)),
        Box::pin(timeouts(ledger.clone(), until)),
        Box::pin(echo(ledger.clone(), until)),
        Box::pin(blocking(ledger.clone(), until)),
        Box::pin(stuck_polls(ledger.clone(), until)),
    ]
}

/// Settles `handle`, booking a wrong value if it completes with anything but `expected`.
async fn expect<T: PartialEq>(
    l: &Ledger,
    kind: Kind,
    handle: goro::task::JoinHandle<T>,
    expected: T,
) {
    if l.settle(kind, handle).await.is_some_and(|v| v != expected) {
        l.wrong_value(kind);
    }
}

/// Spawn churn: rounds of 100 tiny tasks returning a value.
async fn churn(l: Arc<Ledger>, until: Instant) -> bool {
    while Instant::now() < until {
        let handles: Vec<_> = (0..100u64)
            .map(|i| l.spawn(Kind::Churn, async move { i * 2 }))
            .collect();
        for (i, h) in (0u64..).zip(handles) {
            expect(&l, Kind::Churn, h, i * 2).await;
        }
    }
    true
}

/// Rounds of 20 tasks that panic.
async fn panics(l: Arc<Ledger>, until: Instant) -> bool {
    while Instant::now() < until {
        let handles: Vec<_> = (0..20)
            .map(|_| {
                l.spawn(Kind::Panic, async {
                    yield_now().await;
                    panic!("{DELIBERATE_PANIC}");
                })
            })
            .collect();
        for h in handles {
            l.settle(Kind::Panic, h).await;
        }
        sleep(Duration::from_millis(1)).await;
    }
    true
}

/// Rounds of 10 tasks asleep for an hour and 10 that yield forever, all aborted.
async fn aborts(l: Arc<Ledger>, until: Instant) -> bool {
    while Instant::now() < until {
        let sleeping: Vec<_> = (0..10)
            .map(|_| l.spawn(Kind::AbortSleeping, sleep(Duration::from_secs(3600))))
            .collect();
        let running: Vec<_> = (0..10)
            .map(|_| {
                l.spawn(Kind::AbortRunning, async {
                    loop {
                        yield_now().await;
                    }
                })
            })
            .collect();
        sleep(Duration::from_millis(1)).await;
        for h in &sleeping {
            h.abort();
        }
        for h in &running {
            h.abort();
        }
        for h in sleeping {
            l.settle(Kind::AbortSleeping, h).await;
        }
        for h in running {
            l.settle(Kind::AbortRunning, h).await;
        }
    }
    true
}

/// Rounds of 20 tasks: half wait an hour under a 1 ms timeout (which must elapse), half
/// finish well inside a 10 s one (which must not).
async fn timeouts(l: Arc<Ledger>, until: Instant) -> bool {
    while Instant::now() < until {
        let handles: Vec<_> = (0..20u32)
            .map(|i| {
                l.spawn(Kind::Timeout, async move {
                    if i.is_multiple_of(2) {
                        let waited = Duration::from_secs(3600);
                        timeout(Duration::from_millis(1), sleep(waited))
                            .await
                            .is_err()
                    } else {
                        let quick = async {
                            yield_now().await;
                            7
                        };
                        timeout(Duration::from_secs(10), quick).await == Ok(7)
                    }
                })
            })
            .collect();
        for h in handles {
            expect(&l, Kind::Timeout, h, true).await;
        }
    }
    true
}

/// TCP on loopback: a listener serving echo connections, and rounds of 8 clients, one in
/// four of which resets its connection (linger 0) after writing instead of reading.
async fn echo(l: Arc<Ledger>, until: Instant) -> bool {
    let listener = match TcpListener::bind("127.0.0.1:0").await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("goro-soak: cannot listen on loopback: {e}");
            return false;
        }
    };
    let Ok(addr) = listener.local_addr() else {
        return false;
    };
    let stop = Arc::new(AtomicBool::new(false));
    let server = l.spawn(Kind::Listener, serve(l.clone(), listener, stop.clone()));
    let mut round = 0u64;
    while Instant::now() < until {
        let handles: Vec<_> = (0..8u64)
            .map(|i| {
                l.spawn(
                    Kind::EchoClient,
                    client(addr, (round + i).is_multiple_of(4)),
                )
            })
            .collect();
        for h in handles {
            expect(&l, Kind::EchoClient, h, true).await;
        }
        round += 1;
    }
    stop.store(true, Ordering::Relaxed);
    l.settle(Kind::Listener, server).await == Some(true)
}

/// Accepts connections and serves each from a task of its own until `stop`; then settles
/// every connection task. `false` on an accept error.
async fn serve(l: Arc<Ledger>, listener: TcpListener, stop: Arc<AtomicBool>) -> bool {
    let mut connections = Vec::new();
    let mut ok = true;
    while !stop.load(Ordering::Relaxed) {
        // Settle the connections that are done, so the list stays short.
        let (done, open): (Vec<_>, Vec<_>) = connections
            .into_iter()
            .partition(goro::task::JoinHandle::is_finished);
        connections = open;
        for h in done {
            l.settle(Kind::EchoServer, h).await;
        }
        match timeout(Duration::from_millis(20), listener.accept()).await {
            Ok(Ok((stream, _))) => connections.push(l.spawn(Kind::EchoServer, echo_back(stream))),
            Ok(Err(e)) => {
                eprintln!("goro-soak: accept failed: {e}");
                ok = false;
                break;
            }
            Err(_elapsed) => {}
        }
    }
    for h in connections {
        l.settle(Kind::EchoServer, h).await;
    }
    ok
}

/// Echoes until end of stream or an error (a reset is one).
async fn echo_back(mut stream: TcpStream) {
    let mut buf = [0u8; 2048];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if stream.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// One client: writes a message and reads it back (`true` if it came back intact), or
/// with `reset` writes it and closes with a reset.
async fn client(addr: SocketAddr, reset: bool) -> bool {
    match exchange(addr, reset).await {
        Ok(ok) => ok,
        Err(e) => {
            eprintln!("goro-soak: echo client: {e}");
            false
        }
    }
}

async fn exchange(addr: SocketAddr, reset: bool) -> io::Result<bool> {
    let message: Vec<u8> = (0..1024u32).map(|i| (i % 251) as u8).collect();
    // A connect on loopback completes inside the system call, so the std one does not
    // block the processor; it lets us set linger before goro owns the socket.
    let std_stream = std::net::TcpStream::connect(addr)?;
    if reset {
        socket2::SockRef::from(&std_stream).set_linger(Some(Duration::ZERO))?;
    }
    std_stream.set_nonblocking(true)?;
    let mut stream = TcpStream::from_std(std_stream)?;
    stream.write_all(&message).await?;
    if reset {
        return Ok(true); // dropped with linger 0: the peer gets a reset
    }
    let mut back = vec![0u8; message.len()];
    stream.read_exact(&mut back).await?;
    Ok(back == message)
}

/// Rounds of 4 calls on the blocking pool, each computing a sum and sleeping 200 µs.
async fn blocking(l: Arc<Ledger>, until: Instant) -> bool {
    let expected: u64 = (0..10_000u64).sum();
    while Instant::now() < until {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                l.spawn_blocking(Kind::Blocking, || {
                    let sum = (0..10_000u64).map(std::hint::black_box).sum::<u64>();
                    std::thread::sleep(Duration::from_micros(200));
                    sum
                })
            })
            .collect();
        for h in handles {
            expect(&l, Kind::Blocking, h, expected).await;
        }
    }
    true
}

/// Every 250 ms, a task that blocks its thread for 25 ms in one poll: longer than the
/// monitor's handoff threshold, so its processor is handed to another machine.
async fn stuck_polls(l: Arc<Ledger>, until: Instant) -> bool {
    while Instant::now() < until {
        let h = l.spawn(Kind::StuckPoll, async {
            std::thread::sleep(Duration::from_millis(25));
            1
        });
        expect(&l, Kind::StuckPoll, h, 1).await;
        sleep(Duration::from_millis(250)).await;
    }
    true
}
