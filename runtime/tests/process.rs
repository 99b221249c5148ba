//! `goro::process`: status, output, wait (pidfd on the poller), stdin/stdout pipes, kill.

mod common;

use common::{each_procs, rt};
use goro::io::{AsyncReadExt, AsyncWriteExt};
use goro::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn status_and_output() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let status = Command::new("sh")
                .args(["-c", "exit 7"])
                .status()
                .await
                .unwrap();
            assert_eq!(status.code(), Some(7));
            let out = Command::new("sh")
                .args(["-c", "echo out; echo err >&2; exit 1"])
                .output()
                .await
                .unwrap();
            assert_eq!(out.status.code(), Some(1));
            assert_eq!(out.stdout, b"out\n");
            assert_eq!(out.stderr, b"err\n");
            let err = Command::new("/nonexistent/program")
                .status()
                .await
                .unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
        });
    });
}

#[test]
fn output_larger_than_a_pipe_buffer() {
    // 1 MiB on stdout: the child blocks unless the pipe is read while we wait for the exit.
    rt(1).block_on(async {
        let out = Command::new("head")
            .args(["-c", "1048576", "/dev/zero"])
            .output()
            .await
            .unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout.len(), 1 << 20);
    });
}

#[test]
fn stdin_and_stdout_pipes_round_trip() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let mut child = Command::new("cat")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdin = child.stdin.take().unwrap();
            let data = vec![b'x'; 200_000];
            let writer = goro::spawn(async move {
                stdin.write_all(&data).await.unwrap();
            }); // dropping stdin at the end closes it, so cat exits
            let mut got = Vec::new();
            child
                .stdout
                .take()
                .unwrap()
                .read_to_end(&mut got)
                .await
                .unwrap();
            writer.await.unwrap();
            assert_eq!(got.len(), 200_000);
            assert!(child.wait().await.unwrap().success());
            assert_eq!(child.id(), None, "reaped");
        });
    });
}

/// Many children sleeping at once are awaited on the poller: no blocking thread is used
/// for them (the blocking pool would need one per child).
#[test]
fn waiting_for_children_uses_no_blocking_threads() {
    rt(1).block_on(async {
        let started = Instant::now();
        let mut children: Vec<_> = (0..20)
            .map(|_| Command::new("sleep").arg("0.3").spawn().unwrap())
            .collect();
        let waits: Vec<_> = children
            .drain(..)
            .map(|mut c| goro::spawn(async move { c.wait().await.unwrap() }))
            .collect();
        goro::time::sleep(Duration::from_millis(100)).await;
        // The 20 waiting tasks, and no blocking task next to them.
        let live = goro::Handle::current().live_tasks();
        for w in waits {
            assert!(w.await.unwrap().success());
        }
        assert_eq!(live, 20, "waits ran on blocking threads");
        assert!(started.elapsed() < Duration::from_secs(10));
    });
}

#[test]
fn kill_ends_a_child() {
    rt(1).block_on(async {
        let mut child = Command::new("sleep").arg("3600").spawn().unwrap();
        assert!(child.try_wait().unwrap().is_none());
        child.kill().await.unwrap();
        let status = child.wait().await.unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        assert!(child.start_kill().is_err(), "reaped: nothing to kill");
    });
}
