//! What is read about a server process around a measured run: its CPU time and context
//! switches from `/proc`, goro's counters from its debug server, and hardware counters from
//! `perf stat` where the machine allows it.

use std::fs;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde::Serialize;

/// CPU time and context switches of a process (all its threads).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ProcSample {
    /// User CPU seconds (`/proc/PID/stat`, which includes threads that ended).
    pub user_s: f64,
    /// System CPU seconds (same file).
    pub system_s: f64,
    /// Voluntary context switches, summed over `/proc/PID/task/*/status` (live threads).
    pub voluntary: u64,
    /// Involuntary context switches (summed the same way).
    pub involuntary: u64,
}

impl ProcSample {
    /// Reads process `pid`.
    pub fn read(pid: u32) -> io::Result<ProcSample> {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat"))?;
        // Fields after the command name (which may hold spaces) start at field 3 (state);
        // utime and stime are fields 14 and 15.
        let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| -> io::Result<f64> {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .map(|t| t as f64 / clock_ticks())
                .ok_or_else(|| io::Error::other(format!("/proc/{pid}/stat: no field {}", i + 3)))
        };
        let mut sample = ProcSample {
            user_s: ticks(11)?,
            system_s: ticks(12)?,
            ..ProcSample::default()
        };
        for task in fs::read_dir(format!("/proc/{pid}/task"))? {
            let Ok(status) = fs::read_to_string(task?.path().join("status")) else {
                continue; // the thread ended meanwhile
            };
            for line in status.lines() {
                let value = |name: &str| {
                    line.strip_prefix(name)
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .unwrap_or(0)
                };
                sample.voluntary += value("voluntary_ctxt_switches:");
                sample.involuntary += value("nonvoluntary_ctxt_switches:");
            }
        }
        Ok(sample)
    }
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf reads a system constant and takes no pointers.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// goro's counters summed over processors (the `totals` of `/debug/goro/stats`), by name.
pub type GoroTotals = serde_json::Map<String, serde_json::Value>;

/// Fetches the counter totals from the goro debug server at `addr`.
pub fn goro_totals(addr: SocketAddr) -> io::Result<GoroTotals> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(
        b"GET /debug/goro/stats?format=json HTTP/1.1\r\nHost: goro\r\nConnection: close\r\n\r\n",
    )?;
    let mut body = Vec::new();
    s.read_to_end(&mut body)?;
    let text = String::from_utf8_lossy(&body);
    let json = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .ok_or_else(|| io::Error::other("debug server: no HTTP body"))?;
    let v: serde_json::Value = serde_json::from_str(json)
        .map_err(|e| io::Error::other(format!("debug server: bad JSON: {e}")))?;
    match v.get("totals") {
        Some(serde_json::Value::Object(m)) => Ok(m.clone()),
        _ => Err(io::Error::other("debug server: no `totals` in the stats")),
    }
}

/// `after - before` of counter `name`, if both have it.
pub fn counter_delta(before: &GoroTotals, after: &GoroTotals, name: &str) -> Option<f64> {
    let get = |m: &GoroTotals| m.get(name).and_then(serde_json::Value::as_f64);
    Some(get(after)? - get(before)?)
}

/// Hardware counters of one run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct PerfCounts {
    /// CPU cycles per request.
    pub cycles: f64,
    /// Instructions per request.
    pub instructions: f64,
    /// Cache misses per request.
    pub cache_misses: f64,
}

/// The hardware events asked of `perf stat`.
const PERF_EVENTS: &str = "cycles,instructions,cache-misses";

/// Whether `perf stat` can count hardware events here; `Err` says why not.
pub fn perf_probe() -> Result<(), String> {
    let out = Command::new("perf")
        .args(["stat", "-x,", "-e", PERF_EVENTS, "true"])
        .stdout(Stdio::null())
        .output()
        .map_err(|e| format!("perf is not available ({e})"))?;
    let text = String::from_utf8_lossy(&out.stderr);
    match parse_perf(&text) {
        _ if !out.status.success() => Err(format!(
            "`perf stat` failed (not permitted? see /proc/sys/kernel/perf_event_paranoid): {}",
            text.lines().next().unwrap_or("")
        )),
        Some(_) => Ok(()),
        None => Err("perf runs but this machine does not count hardware events \
                     (`<not supported>`: a VM without a virtual PMU)"
            .into()),
    }
}

/// `perf stat` attached to a process for the length of a run.
pub struct PerfRun {
    child: Child,
}

impl PerfRun {
    /// Starts counting `pid`'s events.
    pub fn start(pid: u32) -> io::Result<PerfRun> {
        let child = Command::new("perf")
            .args(["stat", "-x,", "-e", PERF_EVENTS, "-p", &pid.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        Ok(PerfRun { child })
    }

    /// Stops counting (SIGINT, which makes perf print its counts) and reads them.
    pub fn finish(self) -> Option<PerfCounts> {
        // SAFETY: kill takes no pointers; the pid is our own child, not yet waited for.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGINT);
        }
        let out = self.child.wait_with_output().ok()?;
        parse_perf(&String::from_utf8_lossy(&out.stderr))
    }
}

/// Reads `perf stat -x,` output: `value,unit,event,...` lines; `None` unless all three
/// events were counted.
pub fn parse_perf(text: &str) -> Option<PerfCounts> {
    let mut counts = PerfCounts::default();
    let mut seen = 0;
    for line in text.lines() {
        let fields: Vec<&str> = line.split(',').collect();
        let (Some(value), Some(event)) = (fields.first(), fields.get(2)) else {
            continue;
        };
        let Ok(v) = value.trim().parse::<f64>() else {
            continue; // `<not supported>`, `<not counted>`
        };
        let slot = match event.trim().split(':').next().unwrap_or("") {
            "cycles" => &mut counts.cycles,
            "instructions" => &mut counts.instructions,
            "cache-misses" => &mut counts.cache_misses,
            _ => continue,
        };
        *slot = v;
        seen += 1;
    }
    (seen == 3).then_some(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let a = ProcSample::read(std::process::id()).unwrap();
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_millis(50) {
            std::hint::spin_loop();
        }
        std::thread::sleep(Duration::from_millis(5));
        let b = ProcSample::read(std::process::id()).unwrap();
        assert!(b.user_s + b.system_s > a.user_s + a.system_s, "{a:?} {b:?}");
        assert!(b.voluntary > a.voluntary, "the sleep switched: {a:?} {b:?}");
    }

    #[test]
    fn perf_output() {
        let ok = "1000,,cycles,5,100.00,,\n2000,,instructions:u,5,100.00,0.5,insn per cycle\n30,,cache-misses,5,100.00,,\n";
        assert_eq!(
            parse_perf(ok),
            Some(PerfCounts {
                cycles: 1000.0,
                instructions: 2000.0,
                cache_misses: 30.0
            })
        );
        let vm = "<not supported>,,cycles,0,100.00,,\n<not supported>,,instructions,0,100.00,,\n<not supported>,,cache-misses,0,100.00,,\n";
        assert_eq!(parse_perf(vm), None);
    }

    #[test]
    fn counter_deltas() {
        let m = |v: serde_json::Value| v.as_object().unwrap().clone();
        let before = m(serde_json::json!({"polls": 10, "parks": 1}));
        let after = m(serde_json::json!({"polls": 25, "parks": 1}));
        assert_eq!(counter_delta(&before, &after, "polls"), Some(15.0));
        assert_eq!(counter_delta(&before, &after, "unparks"), None);
    }
}
