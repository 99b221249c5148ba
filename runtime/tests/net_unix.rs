//! Unix-domain stream sockets: echo with concurrent clients, split halves in two tasks,
//! `pair`, end-of-stream. Sockets live in a fresh directory under /tmp. At 1 and 2
//! processors.
#![cfg(unix)]

mod common;

use std::net::Shutdown;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use goro::io::AsyncReadExt;
use goro::net::{UnixListener, UnixStream};

/// A fresh directory under /tmp, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(what: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let dir = PathBuf::from(format!(
            "/tmp/goro-net-{what}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn echo(mut s: UnixStream) {
    let mut buf = vec![0; 8192];
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
}

#[test]
fn unix_echo_50_clients_x_100_round_trips() {
    each_procs(Duration::from_secs(60), |n| {
        let dir = TempDir::new("echo");
        let path = dir.path().join("echo.sock");
        let rt = rt(n);
        rt.block_on(async {
            let listener = UnixListener::bind(&path).unwrap();
            assert_eq!(
                listener.local_addr().unwrap().as_pathname(),
                Some(path.as_path())
            );
            let server = goro::spawn(async move {
                loop {
                    let (s, _) = listener.accept().await.expect("accept");
                    goro::spawn(echo(s));
                }
            });
            let clients: Vec<_> = (0..50)
                .map(|c| {
                    let path = path.clone();
                    goro::spawn(async move {
                        let mut s = UnixStream::connect(&path).await.expect("connect");
                        assert_eq!(s.peer_addr().unwrap().as_pathname(), Some(path.as_path()));
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
    });
}

#[test]
fn unix_split_halves_pair_and_eof() {
    const LEN: usize = 4 << 20;
    each_procs(Duration::from_secs(60), |n| {
        let dir = TempDir::new("split");
        let path = dir.path().join("s.sock");
        let rt = rt(n);
        rt.block_on(async {
            let listener = UnixListener::bind(&path).unwrap();
            let server = goro::spawn(async move {
                let (s, _) = listener.accept().await.unwrap();
                echo(s).await;
            });
            let (mut rd, mut wr) = UnixStream::connect(&path).await.unwrap().into_split();
            let writer = goro::spawn(async move {
                let data: Vec<u8> = (0..LEN).map(|i| (i % 251) as u8).collect();
                for chunk in data.chunks(50_000) {
                    wr.write_all(chunk).await.unwrap();
                }
                // Dropping the write half shuts the write side down: the echo ends.
            });
            let mut got = Vec::with_capacity(LEN);
            rd.read_to_end(&mut got).await.unwrap();
            assert_eq!(got.len(), LEN);
            assert!(got.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
            writer.await.unwrap();
            server.await.unwrap();

            // A connected pair; end-of-stream after shutdown.
            let (mut a, mut b) = UnixStream::pair().unwrap();
            a.write_all(b"pair").await.unwrap();
            a.shutdown(Shutdown::Write).unwrap();
            let mut all = Vec::new();
            b.read_to_end(&mut all).await.unwrap();
            assert_eq!(all, b"pair");
            let mut buf = [0; 1];
            assert_eq!(b.read(&mut buf).await.unwrap(), 0);

            // Connecting to a path nobody listens on fails.
            assert!(UnixStream::connect(dir.path().join("nobody.sock"))
                .await
                .is_err());
        });
    });
}

/// `readable` and `try_read` on a Unix stream (the TCP test has the full readiness API).
#[test]
fn unix_readable_and_try_read() {
    each_procs(Duration::from_secs(20), |n| {
        rt(n).block_on(async {
            let (a, b) = UnixStream::pair().unwrap();
            let mut buf = [0u8; 16];
            let err = a.try_read(&mut buf).unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
            b.writable().await.unwrap();
            assert_eq!(b.try_write(b"unix").unwrap(), 4);
            a.readable().await.unwrap();
            assert_eq!(a.try_read(&mut buf).unwrap(), 4);
            assert_eq!(&buf[..4], b"unix");
            // Drained: `WouldBlock` clears the readiness, so `readable` waits again.
            let err = a.try_read(&mut buf).unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
            let mut readable = std::pin::pin!(a.readable());
            assert!(
                poll_once(&mut readable).is_pending(),
                "readable with nothing to read"
            );
            drop(b);
            readable.await.unwrap();
            assert_eq!(a.try_read(&mut buf).unwrap(), 0);
        });
    });
}
