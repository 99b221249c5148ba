//! The trigger client of the latency suite: one extra keep-alive connection that asks for a
//! misbehaving request (`/block?ms=20`, `/spin?ms=20`) on a fixed period, on a plain thread.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::loadgen::conn::{parse_response, Parsed};

/// What a trigger did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Triggered {
    /// Requests answered with a 2xx.
    pub answered: u64,
    /// Requests that failed (the connection is reopened).
    pub failed: u64,
}

/// A running trigger thread.
pub struct Trigger {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Triggered>,
}

impl Trigger {
    /// Starts sending `GET path` to `addr` every `every`, from a thread pinned to `cpu`.
    pub fn start(addr: SocketAddr, path: &str, every: Duration, cpu: Option<usize>) -> Trigger {
        let stop = Arc::new(AtomicBool::new(false));
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").into_bytes();
        let stop2 = stop.clone();
        let thread = thread::spawn(move || {
            if let Some(id) = cpu {
                core_affinity::set_for_current(core_affinity::CoreId { id });
            }
            let mut done = Triggered::default();
            let mut conn = None;
            let mut next = Instant::now();
            while !stop2.load(Ordering::Relaxed) {
                let now = Instant::now();
                if now < next {
                    thread::sleep((next - now).min(Duration::from_millis(10)));
                    continue;
                }
                next += every;
                match round_trip(&mut conn, addr, &request) {
                    Ok(()) => done.answered += 1,
                    Err(_) => {
                        conn = None;
                        done.failed += 1;
                    }
                }
            }
            done
        });
        Trigger { stop, thread }
    }

    /// Stops the thread and says what it did.
    pub fn stop(self) -> Triggered {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}

fn round_trip(conn: &mut Option<TcpStream>, addr: SocketAddr, request: &[u8]) -> io::Result<()> {
    let stream = match conn {
        Some(s) => s,
        None => {
            let s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
            s.set_nodelay(true)?;
            s.set_read_timeout(Some(Duration::from_secs(5)))?;
            conn.insert(s)
        }
    };
    stream.write_all(request)?;
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 512];
    loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        match parse_response(&buf) {
            Parsed::Complete { len, close } if len == buf.len() => {
                if close {
                    *conn = None;
                }
                return Ok(());
            }
            Parsed::Partial => {}
            _ => return Err(io::Error::other("bad response")),
        }
    }
}
