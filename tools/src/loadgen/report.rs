//! What a run measured: each thread's [`Tally`], merged into one [`Report`], printed as a
//! table or as one JSON object.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use super::conn::Failure;

/// Longest latency the histogram holds (longer ones are clamped to it).
pub const MAX_LATENCY: Duration = Duration::from_secs(3600);

/// One thread's counts over the measured window.
pub struct Tally {
    /// Latencies in nanoseconds.
    pub latencies: Histogram<u64>,
    /// Failures, by kind.
    pub failures: BTreeMap<Failure, u64>,
    /// Open loop: requests intended inside the window that were never sent (their connection
    /// was still waiting on an earlier response, or down, when the window closed).
    pub unsent: u64,
    /// Requests still in flight when the drain time after the window ran out.
    pub unfinished: u64,
    /// CPU time the generator thread(s) used, and the wall time they ran (all of the run:
    /// start-up, warm-up, window, drain).
    pub cpu: Duration,
    /// See `cpu`.
    pub wall: Duration,
}

impl Default for Tally {
    fn default() -> Self {
        Tally {
            latencies: Histogram::new_with_bounds(1, MAX_LATENCY.as_nanos() as u64, 3)
                .expect("valid histogram bounds"),
            failures: BTreeMap::new(),
            unsent: 0,
            unfinished: 0,
            cpu: Duration::ZERO,
            wall: Duration::ZERO,
        }
    }
}

impl Tally {
    /// Records one completed request's latency.
    pub fn record(&mut self, latency: Duration) {
        let ns = (latency.as_nanos() as u64).clamp(1, MAX_LATENCY.as_nanos() as u64);
        self.latencies.saturating_record(ns);
    }

    /// Counts one failure.
    pub fn fail(&mut self, why: Failure) {
        *self.failures.entry(why).or_default() += 1;
    }

    /// Adds `other`'s counts to this one's.
    pub fn merge(&mut self, other: &Tally) {
        self.latencies
            .add(&other.latencies)
            .expect("histograms of equal bounds merge");
        for (&k, &v) in &other.failures {
            *self.failures.entry(k).or_default() += v;
        }
        self.unsent += other.unsent;
        self.unfinished += other.unfinished;
        self.cpu += other.cpu;
        self.wall += other.wall;
    }
}

/// The result of a run; its JSON form is the one `--json` prints.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// `"open"` (fixed rate, latency from intended send times) or `"closed"`.
    pub mode: &'static str,
    /// The offered rate, requests/s (open loop).
    pub rate: Option<f64>,
    /// Keep-alive connections.
    pub connections: usize,
    /// Generator threads.
    pub threads: usize,
    /// The measured window, seconds.
    pub duration_s: f64,
    /// Completed 2xx responses to requests of the measured window.
    pub requests: u64,
    /// Failures in the window, all kinds.
    pub errors: u64,
    /// Failures by kind: connect, io, status, parse.
    pub errors_by_kind: BTreeMap<Failure, u64>,
    /// See [`Tally::unsent`].
    pub unsent: u64,
    /// See [`Tally::unfinished`].
    pub unfinished: u64,
    /// `requests / duration_s`.
    pub achieved_rps: f64,
    /// Mean latency, µs.
    pub mean_us: f64,
    /// Median latency, µs.
    pub p50_us: f64,
    /// 90th percentile latency, µs.
    pub p90_us: f64,
    /// 99th percentile latency, µs.
    pub p99_us: f64,
    /// 99.9th percentile latency, µs.
    pub p999_us: f64,
    /// Largest latency, µs.
    pub max_us: f64,
    /// Share of a CPU each generator thread kept busy on average (near 1: the generator,
    /// not the server, may be what limits the rate).
    pub generator_busy: f64,
}

impl Report {
    /// The report of `tally` over a window of `duration`.
    pub fn new(
        tally: &Tally,
        rate: Option<f64>,
        connections: usize,
        threads: usize,
        duration: Duration,
    ) -> Report {
        let h = &tally.latencies;
        let us = |ns: u64| (ns as f64 / 100.0).round() / 10.0;
        let q = |q: f64| {
            if h.is_empty() {
                0.0
            } else {
                us(h.value_at_quantile(q))
            }
        };
        let requests = h.len();
        Report {
            mode: if rate.is_some() { "open" } else { "closed" },
            rate,
            connections,
            threads,
            duration_s: duration.as_secs_f64(),
            requests,
            errors: tally.failures.values().sum(),
            errors_by_kind: Failure::ALL
                .iter()
                .map(|&f| (f, tally.failures.get(&f).copied().unwrap_or(0)))
                .collect(),
            unsent: tally.unsent,
            unfinished: tally.unfinished,
            achieved_rps: requests as f64 / duration.as_secs_f64(),
            mean_us: if h.is_empty() {
                0.0
            } else {
                (h.mean() / 100.0).round() / 10.0
            },
            p50_us: q(0.5),
            p90_us: q(0.9),
            p99_us: q(0.99),
            p999_us: q(0.999),
            max_us: if h.is_empty() { 0.0 } else { us(h.max()) },
            generator_busy: if tally.wall.is_zero() {
                0.0
            } else {
                tally.cpu.as_secs_f64() / tally.wall.as_secs_f64()
            },
        }
    }

    /// One JSON object.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a report serializes")
    }

    /// A table for people.
    pub fn to_table(&self) -> String {
        let mut t = String::new();
        let offered = match self.rate {
            Some(r) => {
                format!("open loop at {r:.0} req/s offered, latency from intended send times")
            }
            None => "closed loop (max throughput), latency from actual send times".to_string(),
        };
        let _ = writeln!(
            t,
            "{} connections on {} thread(s), {:.1} s measured, {offered}",
            self.connections, self.threads, self.duration_s
        );
        let _ = writeln!(
            t,
            "requests {}   achieved {:.0} req/s   errors {}",
            self.requests, self.achieved_rps, self.errors
        );
        if self.errors > 0 {
            let kinds: Vec<String> = self
                .errors_by_kind
                .iter()
                .filter(|(_, &n)| n > 0)
                .map(|(k, n)| {
                    format!(
                        "{} {n}",
                        serde_json::to_string(k)
                            .unwrap_or_default()
                            .trim_matches('"')
                    )
                })
                .collect();
            let _ = writeln!(t, "errors by kind: {}", kinds.join(", "));
        }
        if self.unsent > 0 || self.unfinished > 0 {
            let _ = writeln!(
                t,
                "not measured: {} scheduled but never sent, {} unanswered at the end",
                self.unsent, self.unfinished
            );
        }
        let _ = writeln!(
            t,
            "generator threads kept {:.0}% of a CPU busy{}",
            self.generator_busy * 100.0,
            if self.generator_busy > 0.8 {
                " (it may be the bottleneck: try --threads)"
            } else {
                ""
            }
        );
        let _ = writeln!(t, "latency (us)  mean {:>9.1}", self.mean_us);
        for (name, v) in [
            ("p50", self.p50_us),
            ("p90", self.p90_us),
            ("p99", self.p99_us),
            ("p99.9", self.p999_us),
            ("max", self.max_us),
        ] {
            let _ = writeln!(t, "              {name:<5}{v:>10.1}");
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_the_fixed_fields() {
        let mut tally = Tally::default();
        for us in 1..=1000u64 {
            tally.record(Duration::from_micros(us));
        }
        tally.fail(Failure::Status);
        tally.fail(Failure::Status);
        tally.fail(Failure::Connect);
        let r = Report::new(&tally, Some(500.0), 4, 1, Duration::from_secs(2));
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(v["requests"], 1000);
        assert_eq!(v["errors"], 3);
        assert_eq!(v["errors_by_kind"]["status"], 2);
        assert_eq!(v["errors_by_kind"]["io"], 0);
        assert_eq!(v["achieved_rps"], 500.0);
        assert_eq!(v["mode"], "open");
        let near = |field: &str, want: f64| {
            let got = v[field]
                .as_f64()
                .unwrap_or_else(|| panic!("{field} missing"));
            assert!(
                (got - want).abs() <= want * 0.01,
                "{field}: {got} vs {want}"
            );
        };
        near("p50_us", 500.0);
        near("p90_us", 900.0);
        near("p99_us", 990.0);
        near("p999_us", 999.0);
        near("max_us", 1000.0);
        assert!(
            r.to_table().contains("errors by kind: connect 1, status 2"),
            "{}",
            r.to_table()
        );
    }

    #[test]
    fn merging_adds_up() {
        let (mut a, mut b) = (Tally::default(), Tally::default());
        a.record(Duration::from_micros(10));
        b.record(Duration::from_millis(50));
        b.fail(Failure::Io);
        b.unsent = 3;
        b.cpu = Duration::from_millis(300);
        b.wall = Duration::from_secs(1);
        a.merge(&b);
        let r = Report::new(&a, None, 2, 2, Duration::from_secs(1));
        assert_eq!((r.requests, r.errors, r.unsent), (2, 1, 3));
        assert!(r.max_us >= 49_000.0, "{}", r.max_us);
        assert_eq!(r.mode, "closed");
        assert!(
            (r.generator_busy - 0.3).abs() < 1e-9,
            "{}",
            r.generator_busy
        );
        let empty = Report::new(&Tally::default(), None, 1, 1, Duration::from_secs(1));
        assert_eq!((empty.requests, empty.p99_us), (0, 0.0));
    }
}
