//! What a soak found, and how `goro-soak` prints it: the books per kind of task, goro's
//! own counts, and the series of RSS, live heap and threads by kind, with the summary per
//! thread kind that explains the thread series (how many of each came and went).

use super::census::ThreadKind;
use super::ledger::{Counts, Kind};
use super::sampler::Samples;
use super::Config;
use std::fmt;

/// What a soak found.
#[derive(Debug)]
pub struct Report {
    /// What ran.
    pub config: Config,
    /// Every kind's counts.
    pub counts: Vec<(Kind, Counts)>,
    /// goro's task counts at the end: spawned, completed, live.
    pub goro_tasks: (u64, u64, u64),
    /// goro's handoffs (each may start a spare machine): in all, of machines asleep in the
    /// kernel inside a poll, of polls running past `handoff_after`.
    pub handoffs: (u64, u64, u64),
    /// RSS, live heap and thread readings over the run.
    pub samples: Samples,
    /// Whether the samples were enough to judge flatness.
    pub flatness_checked: bool,
    /// Every mismatch; empty if the soak passed.
    pub problems: Vec<String>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.config;
        writeln!(
            f,
            "goro-soak: {} s at {} processors",
            c.seconds, c.processors
        )?;
        writeln!(
            f,
            "{:<14} {:>10} {:>10} {:>10} {:>10} {:>10} {:>6}",
            "kind", "started", "completed", "panicked", "cancelled", "dropped", "wrong"
        )?;
        let mut total = Counts::default();
        for (kind, n) in &self.counts {
            writeln!(
                f,
                "{:<14} {:>10} {:>10} {:>10} {:>10} {:>10} {:>6}",
                format!("{kind:?}"),
                n.started,
                n.completed,
                n.panicked,
                n.cancelled,
                n.dropped,
                n.wrong
            )?;
            total.started += n.started;
            total.completed += n.completed;
            total.panicked += n.panicked;
            total.cancelled += n.cancelled;
            total.dropped += n.dropped;
            total.wrong += n.wrong;
        }
        writeln!(
            f,
            "{:<14} {:>10} {:>10} {:>10} {:>10} {:>10} {:>6}",
            "total",
            total.started,
            total.completed,
            total.panicked,
            total.cancelled,
            total.dropped,
            total.wrong
        )?;
        let (spawned, completed, live) = self.goro_tasks;
        writeln!(
            f,
            "goro stats: {spawned} spawned, {completed} completed, {live} live"
        )?;
        let (handoffs, blocked, running) = self.handoffs;
        writeln!(
            f,
            "goro handoffs: {handoffs} ({blocked} of machines asleep in the kernel, {running} \
             of polls running long)"
        )?;
        self.samples.fmt_series(f)?;
        if !self.flatness_checked {
            writeln!(
                f,
                "(too short a run to judge whether the heap, RSS and threads stay flat)"
            )?;
        }
        if self.problems.is_empty() {
            writeln!(
                f,
                "OK: every task accounted for exactly once; goro's stats agree"
            )
        } else {
            writeln!(f, "FAILED:")?;
            for p in &self.problems {
                writeln!(f, "  {p}")?;
            }
            Ok(())
        }
    }
}

impl Samples {
    /// The series, once a sample: RSS, live heap, threads; then per thread kind its count
    /// at the end, its least and most, and how many distinct threads of it lived.
    fn fmt_series(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let series = &self.series;
        let rss: Vec<u64> = series.iter().map(|s| s.rss_kb).collect();
        writeln!(f, "RSS kB, once a second: {rss:?}")?;
        let heap: Vec<u64> = series
            .iter()
            .filter_map(|s| s.heap_bytes)
            .map(|b| b / 1024)
            .collect();
        if !heap.is_empty() {
            writeln!(f, "live heap KiB, once a second: {heap:?}")?;
        }
        let threads: Vec<u64> = series.iter().map(|s| s.threads.total()).collect();
        writeln!(f, "threads, once a second: {threads:?}")?;
        writeln!(
            f,
            "{:<10} {:>6} {:>6} {:>6} {:>9}",
            "threads", "at end", "least", "most", "distinct"
        )?;
        for kind in ThreadKind::ALL {
            let counts: Vec<u64> = series.iter().map(|s| s.threads.get(kind)).collect();
            let distinct = self.distinct_threads.get(kind);
            if distinct == 0 {
                continue;
            }
            let (least, most) = (counts.iter().min(), counts.iter().max());
            writeln!(
                f,
                "{:<10} {:>6} {:>6} {:>6} {:>9}",
                format!("{kind:?}").to_lowercase(),
                counts.last().copied().unwrap_or(0),
                least.copied().unwrap_or(0),
                most.copied().unwrap_or(0),
                distinct
            )?;
            if least != most {
                writeln!(
                    f,
                    "  {} threads, once a second: {counts:?}",
                    format!("{kind:?}").to_lowercase()
                )?;
            }
        }
        Ok(())
    }
}
