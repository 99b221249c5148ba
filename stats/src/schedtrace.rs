//! `GORO_SCHEDTRACE`: one Go-style scheduler line per period.
//!
//! Go's `GODEBUG=schedtrace=1000` prints
//! `SCHED 2003ms: gomaxprocs=2 idleprocs=1 threads=5 spinningthreads=0 idlethreads=2
//! runqueue=0 [3 0]`. goro's line keeps that shape, with goro's words:
//!
//! ```text
//! SCHED 2003ms: procs=2 idleprocs=1 threads=5 spinning=0 idlethreads=2 runqueue=0 [3 0] steals=12 polls=345 ...
//! ```
//!
//! `runqueue` is the global injector's length and the bracketed list each processor's local
//! run queue. Then come `key=value` pairs, every value an unsigned integer (durations carry
//! their unit in the key, `lastpause_us`): the scheduler totals, task counts, and stats
//! cycles. [`schedtrace_line_with`] appends more pairs (for instance `suspected=N`, which a
//! snapshot does not know). [`parse_schedtrace_line`] reads any such line back.

use crate::report::Snapshot;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The schedtrace line of a snapshot, without a newline; see the module docs.
///
/// ```
/// use goro_stats::{parse_schedtrace_line, schedtrace_line, Snapshot};
/// let line = schedtrace_line(&Snapshot::default());
/// assert!(line.starts_with("SCHED 0ms: procs=0 idleprocs=0 threads=0 spinning=0 idlethreads=0 runqueue=0 [] "));
/// assert_eq!(parse_schedtrace_line(&line).unwrap().get("polls"), Some(0));
/// ```
pub fn schedtrace_line(s: &Snapshot) -> String {
    schedtrace_line_with(s, &[])
}

/// [`schedtrace_line`] followed by `extra` pairs, e.g. `&[("suspected", 3)]`.
pub fn schedtrace_line_with(s: &Snapshot, extra: &[(&str, u64)]) -> String {
    let mut line = format!(
        "SCHED {}ms: procs={} idleprocs={} threads={} spinning={} idlethreads={} runqueue={} [",
        s.uptime.as_millis(),
        s.processors,
        s.idle_processors,
        s.threads,
        s.spinning,
        s.idle_threads,
        s.injector
    );
    for (i, p) in s.procs.iter().enumerate() {
        if i > 0 {
            line.push(' ');
        }
        let _ = write!(line, "{}", p.runqueue);
    }
    line.push(']');
    let t = &s.totals;
    let last_pause = s.pauses.pauses.first().copied().unwrap_or_default();
    let pairs: [(&str, u64); 13] = [
        ("steals", t.steals),
        ("polls", t.polls),
        ("spawns", t.spawns),
        ("parks", t.parks),
        ("unparks", t.unparks),
        ("handoffs", t.handoffs),
        ("live", s.tasks.live),
        ("orphaned", s.tasks.orphaned),
        ("reclaimed", s.tasks.reclaimed),
        ("deadlocked", s.tasks.deadlocked),
        ("cycles", s.pauses.num_cycles),
        (
            "lastpause_us",
            u64::try_from(last_pause.as_micros()).unwrap_or(u64::MAX),
        ),
        ("stalls", s.pauses.stall_alarms),
    ];
    for (key, value) in pairs.iter().chain(extra) {
        let _ = write!(line, " {key}={value}");
    }
    line
}

/// A schedtrace line read back by [`parse_schedtrace_line`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedSchedtrace {
    /// The `SCHED <n>ms` time.
    pub uptime_ms: u64,
    /// Every `key=value` pair, including `procs`, `idleprocs`, ... and `runqueue`.
    pub fields: BTreeMap<String, u64>,
    /// The bracketed per-processor run queue lengths.
    pub runqueues: Vec<u64>,
}

impl ParsedSchedtrace {
    /// The value of `key`, if the line had it.
    pub fn get(&self, key: &str) -> Option<u64> {
        self.fields.get(key).copied()
    }
}

/// Reads a schedtrace line (a trailing newline is allowed); `None` if it is not one:
/// it must start `SCHED <n>ms: `, hold `key=<unsigned>` pairs and exactly one `[...]` list
/// of unsigned numbers, and have every header key (`procs`, `idleprocs`, `threads`,
/// `spinning`, `idlethreads`, `runqueue`).
pub fn parse_schedtrace_line(line: &str) -> Option<ParsedSchedtrace> {
    let rest = line.trim_end_matches(['\n', '\r']).strip_prefix("SCHED ")?;
    let (ms, rest) = rest.split_once("ms: ")?;
    let mut parsed = ParsedSchedtrace {
        uptime_ms: ms.parse().ok()?,
        ..ParsedSchedtrace::default()
    };
    let mut list: Option<String> = None;
    let mut lists = 0;
    for token in rest.split(' ') {
        if let Some(open) = list.as_mut() {
            open.push(' ');
            open.push_str(token);
        } else if token.starts_with('[') {
            list = Some(token.to_string());
        } else {
            let (key, value) = token.split_once('=')?;
            if key.is_empty()
                || parsed
                    .fields
                    .insert(key.to_string(), value.parse().ok()?)
                    .is_some()
            {
                return None;
            }
            continue;
        }
        if let Some(inner) = list
            .as_deref()
            .and_then(|l| l.strip_prefix('[')?.strip_suffix(']'))
        {
            parsed.runqueues = inner
                .split(' ')
                .filter(|n| !n.is_empty())
                .map(|n| n.parse().ok())
                .collect::<Option<Vec<u64>>>()?;
            list = None;
            lists += 1;
        }
    }
    let header = [
        "procs",
        "idleprocs",
        "threads",
        "spinning",
        "idlethreads",
        "runqueue",
    ];
    if list.is_some() || lists != 1 || !header.iter().all(|k| parsed.fields.contains_key(*k)) {
        return None;
    }
    Some(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_shape_and_round_trip() {
        let snap = crate::fixtures::snapshot();
        let line = schedtrace_line_with(&snap, &[("suspected", 3)]);
        assert!(
            line.starts_with(
                "SCHED 2003ms: procs=2 idleprocs=1 threads=5 spinning=0 idlethreads=2 runqueue=4 [3 0] steals=5 polls=201 "
            ),
            "{line}"
        );
        assert!(
            line.ends_with(" cycles=2 lastpause_us=2000 stalls=1 suspected=3"),
            "{line}"
        );
        assert!(!line.contains('\n'));

        let p = parse_schedtrace_line(&format!("{line}\n")).unwrap();
        assert_eq!(p.uptime_ms, 2003);
        assert_eq!(p.runqueues, vec![3, 0]);
        for (key, want) in [
            ("procs", 2),
            ("idleprocs", 1),
            ("threads", 5),
            ("spinning", 0),
            ("idlethreads", 2),
            ("runqueue", 4),
            ("steals", 5),
            ("polls", 201),
            ("live", 45),
            ("orphaned", 2),
            ("reclaimed", 1),
            ("deadlocked", 2),
            ("suspected", 3),
        ] {
            assert_eq!(p.get(key), Some(want), "{key}");
        }
        assert_eq!(p.get("nonsense"), None);
        assert_eq!(
            schedtrace_line(&snap),
            line.strip_suffix(" suspected=3").unwrap()
        );
    }

    #[test]
    fn go_lines_and_empty_lists_parse() {
        let p = parse_schedtrace_line(
            "SCHED 10ms: procs=1 idleprocs=1 threads=3 spinning=0 idlethreads=1 runqueue=0 []",
        )
        .unwrap();
        assert_eq!((p.uptime_ms, p.runqueues.len(), p.fields.len()), (10, 0, 6));
        let p = parse_schedtrace_line(
            "SCHED 0ms: procs=4 idleprocs=0 threads=6 spinning=1 idlethreads=0 runqueue=7 [1 2 3 4] polls=9",
        )
        .unwrap();
        assert_eq!(p.runqueues, vec![1, 2, 3, 4]);
        assert_eq!(p.get("polls"), Some(9));
    }

    #[test]
    fn malformed_lines_are_rejected() {
        let good = "SCHED 5ms: procs=1 idleprocs=0 threads=2 spinning=0 idlethreads=0 runqueue=0 [0] polls=1";
        assert!(parse_schedtrace_line(good).is_some());
        for bad in [
            "",
            "SCHED",
            "SCHED xms: procs=1",
            "sched 5ms: procs=1 idleprocs=0 threads=2 spinning=0 idlethreads=0 runqueue=0 [0]",
            "SCHED 5ms: procs=1 idleprocs=0 threads=2 spinning=0 idlethreads=0 runqueue=0",
            "SCHED 5ms: procs=1 idleprocs=0 threads=2 spinning=0 idlethreads=0 runqueue=0 [0",
            "SCHED 5ms: procs=1 idleprocs=0 threads=2 spinning=0 idlethreads=0 runqueue=0 [0] [1]",
            "SCHED 5ms: procs=1 idleprocs=0 threads=2 spinning=0 idlethreads=0 runqueue=0 [a]",
            "SCHED 5ms: procs=1 idleprocs=0 threads=2 spinning=0 idlethreads=0 runqueue=0 [0] polls=-1",
            "SCHED 5ms: procs=1 idleprocs=0 threads=2 spinning=0 idlethreads=0 runqueue=0 [0] polls",
            "SCHED 5ms: procs=1 procs=1 idleprocs=0 threads=2 spinning=0 idlethreads=0 runqueue=0 [0]",
            "SCHED 5ms: procs=1 threads=2 spinning=0 idlethreads=0 runqueue=0 [0]",
        ] {
            assert_eq!(parse_schedtrace_line(bad), None, "{bad:?}");
        }
    }
}
