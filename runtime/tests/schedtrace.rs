//! `GORO_SCHEDTRACE=<ms>`: the monitor prints a Go-style `SCHED` line to stderr every period.
//! The test re-runs this test binary as a child process with the variable set (environment
//! variables and stderr are process-wide), captures its stderr and parses every line.

mod common;

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use goro_stats::parse_schedtrace_line;

/// Set in the child process: run the workload.
const CHILD_ENV: &str = "GORO_SCHEDTRACE_TEST_CHILD";
const CHILD_TEST: &str = "child_runs_tasks_under_schedtrace";
const PROCS: u64 = 2;
const PERIOD_MS: u64 = 20;

/// The child half: only does something when started by [`sched_lines_every_period`]; it runs
/// tasks on 2 processors for about 300 ms while the monitor prints its lines.
#[test]
fn child_runs_tasks_under_schedtrace() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let rt = common::rt(PROCS as usize);
    let sum = rt.block_on(async {
        let deadline = Instant::now() + Duration::from_millis(300);
        let mut sum = 0u64;
        while Instant::now() < deadline {
            let batch: Vec<_> = (0..50u64)
                .map(|i| {
                    goro::spawn(async move {
                        goro::task::yield_now().await;
                        i
                    })
                })
                .collect();
            for task in batch {
                sum += task.await.unwrap();
            }
            goro::time::sleep(Duration::from_millis(5)).await;
        }
        sum
    });
    assert!(sum > 0);
}

/// A child process, killed if it is still running when this drops (a failed test).
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Runs the child with `GORO_SCHEDTRACE=20`, killing it if it takes over `limit`; returns
/// its stderr.
fn run_child(limit: Duration) -> String {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut child = KillOnDrop(
        Command::new(exe)
            .args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, "1")
            .env("GORO_SCHEDTRACE", PERIOD_MS.to_string())
            .env_remove("GORO_DEBUG_ADDR")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the child"),
    );
    let mut stderr = child.0.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stderr.read_to_string(&mut out);
        out
    });
    common::wait_until(limit, "the child to exit", || {
        !matches!(child.0.try_wait(), Ok(None))
    });
    let status = child.0.wait().expect("the child's status");
    let err = reader.join().unwrap();
    assert!(status.success(), "the child failed ({status}):\n{err}");
    err
}

#[test]
fn sched_lines_every_period() {
    let stderr = run_child(Duration::from_secs(30));
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("SCHED ")).collect();
    // ~300 ms of work at one line per 20 ms; leave room for a slow machine.
    assert!(lines.len() >= 5, "too few SCHED lines:\n{stderr}");
    let mut last_uptime = None;
    for line in &lines {
        let parsed =
            parse_schedtrace_line(line).unwrap_or_else(|| panic!("does not parse: {line:?}"));
        assert_eq!(parsed.get("procs"), Some(PROCS), "{line}");
        assert_eq!(parsed.runqueues.len() as u64, PROCS, "{line}");
        assert!(parsed.get("idleprocs").unwrap() <= PROCS, "{line}");
        assert!(parsed.get("threads").unwrap() >= 1, "{line}");
        if let Some(last) = last_uptime {
            assert!(
                parsed.uptime_ms > last,
                "uptime went from {last} to: {line}"
            );
        }
        last_uptime = Some(parsed.uptime_ms);
    }
    let first = parse_schedtrace_line(lines[0]).unwrap().uptime_ms;
    let last = last_uptime.unwrap();
    assert!(
        last - first >= PERIOD_MS * (lines.len() as u64 - 1) / 2,
        "lines {PERIOD_MS} ms apart should span more than {first}..{last} ms:\n{stderr}"
    );
}
