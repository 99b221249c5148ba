//! [`Snapshot::to_prometheus`]: the Prometheus text exposition format, version 0.0.4.
//!
//! Every metric is prefixed `goro_` and every family has one `# HELP` and one `# TYPE` line
//! followed by all of its samples. Durations are in seconds. The help text is the doc of
//! the report field the metric reads (`help.rs`); one function writes each section below.
//!
//! - Scheduler counters (`goro_polls_total`, `goro_steals_total`, ...): one sample without
//!   labels for the sum over processors, and one per processor labelled `processor="i"`.
//!   (Sum over the labelled series only, or take the unlabelled one: not both.)
//! - Gauges: processors, idle processors, spinning processors, threads, idle threads, the
//!   injector's length, each processor's run queue, live tasks, uptime.
//! - Task counters: spawned, completed, orphaned, reclaimed, deadlocked.
//! - Histograms as `summary` families (`goro_poll_duration_seconds{quantile="0.5"}`), with
//!   quantiles 0 (min), 0.25, 0.5, 0.75, 0.9, 0.95, 0.99 and 1 (max); `_count` is the number
//!   of samples the histogram holds and `_sum` is `mean x count` (exact to the histogram's
//!   precision, about 1%). The histograms are fed samples, so `_count` counts samples, not
//!   events.
//! - Pauses: cycles, total pause, stall alarms (counters), the latest pause and the baseline
//!   (gauges), and a summary of the recent pauses (`goro_recent_pause_seconds`).
//! - Per spawn site, labelled `site="file:line:col"`: live tasks, spawned, completed.
//!
//! Label values are escaped as the format requires (backslash, double quote, newline), and
//! so is help text (backslash, newline).

use crate::report::{Histograms, Pauses, Quantiles, SiteStats, Snapshot, TaskCounts};
use std::fmt::Write;

/// Reads one number of a spawn site's stats.
type SiteField = fn(&SiteStats) -> u64;

/// Escapes a label value: `\` → `\\`, `"` → `\"`, newline → `\n`.
pub(crate) fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes help text: `\` → `\\`, newline → `\n`.
fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A float as the format spells it (`NaN`, `+Inf`, `-Inf`, or a decimal).
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else {
        format!("{v}")
    }
}

/// Writes families one after the other.
struct Exposition {
    out: String,
}

impl Exposition {
    /// Starts a family: its HELP and TYPE lines. Samples follow with [`Exposition::sample`].
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape_label(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {}", number(value));
    }

    /// A family with one unlabelled sample.
    fn single(&mut self, name: &str, kind: &str, help: &str, value: f64) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }

    /// A summary family from quantiles, with `_sum` and `_count`.
    fn summary(&mut self, name: &str, help: &str, q: &Quantiles, sum_seconds: f64) {
        self.family(name, "summary", help);
        let points = [
            ("0", q.min),
            ("0.25", q.p25),
            ("0.5", q.p50),
            ("0.75", q.p75),
            ("0.9", q.p90),
            ("0.95", q.p95),
            ("0.99", q.p99),
            ("1", q.max),
        ];
        for (label, d) in points {
            self.sample(name, &[("quantile", label)], d.as_secs_f64());
        }
        self.sample(&format!("{name}_sum"), &[], sum_seconds);
        self.sample(&format!("{name}_count"), &[], q.count as f64);
    }
}

impl Snapshot {
    /// This snapshot in the Prometheus text format 0.0.4; see the module docs of
    /// `prometheus.rs` for the metrics.
    ///
    /// # Example
    ///
    /// ```
    /// use goro_stats::{ProcSnapshot, Snapshot};
    /// let mut snap = Snapshot { processors: 2, ..Snapshot::default() };
    /// snap.procs = (0..2).map(|index| ProcSnapshot { index, ..Default::default() }).collect();
    /// snap.procs[1].counters.polls = 7;
    /// snap.totals.polls = 7;
    /// let text = snap.to_prometheus();
    /// assert!(text.contains("# TYPE goro_polls_total counter\n"));
    /// assert!(text.contains("\ngoro_polls_total 7\n"));
    /// assert!(text.contains("\ngoro_polls_total{processor=\"1\"} 7\n"));
    /// assert!(text.contains("\ngoro_processors 2\n"));
    /// ```
    pub fn to_prometheus(&self) -> String {
        let mut e = Exposition { out: String::new() };
        e.counters(self);
        e.gauges(self);
        e.tasks(&self.tasks);
        e.histograms(&self.histograms);
        e.pauses(&self.pauses);
        e.sites(&self.sites);
        e.out
    }
}

/// The sections of [`Snapshot::to_prometheus`], in order.
impl Exposition {
    /// Scheduler counters: the sum, then one sample per processor.
    fn counters(&mut self, snap: &Snapshot) {
        let per_proc: Vec<(String, Vec<u64>)> = snap
            .procs
            .iter()
            .map(|p| {
                (
                    p.index.to_string(),
                    p.counters.values().map(|(_, _, v)| v).collect(),
                )
            })
            .collect();
        for (i, (name, help, total)) in snap.totals.values().enumerate() {
            let metric = format!("goro_{name}_total");
            self.family(&metric, "counter", help);
            self.sample(&metric, &[], total as f64);
            for (index, values) in &per_proc {
                self.sample(&metric, &[("processor", index)], values[i] as f64);
            }
        }
    }

    /// Processors, threads, queues and live tasks now.
    fn gauges(&mut self, snap: &Snapshot) {
        let gauges = [
            (
                "goro_uptime_seconds",
                help!(uptime),
                snap.uptime.as_secs_f64(),
            ),
            ("goro_processors", help!(processors), snap.processors as f64),
            (
                "goro_idle_processors",
                help!(idle_processors),
                snap.idle_processors as f64,
            ),
            (
                "goro_spinning_processors",
                help!(spinning),
                snap.spinning as f64,
            ),
            ("goro_threads", help!(threads), snap.threads as f64),
            (
                "goro_idle_threads",
                help!(idle_threads),
                snap.idle_threads as f64,
            ),
            ("goro_injector_tasks", help!(injector), snap.injector as f64),
            ("goro_live_tasks", help!(live), snap.tasks.live as f64),
            (
                "goro_stats_enabled",
                help!(stats_enabled),
                f64::from(u8::from(snap.stats_enabled)),
            ),
        ];
        for (name, help, value) in gauges {
            self.single(name, "gauge", help, value);
        }
        self.family("goro_runqueue_tasks", "gauge", help!(runqueue));
        for p in &snap.procs {
            self.sample(
                "goro_runqueue_tasks",
                &[("processor", &p.index.to_string())],
                p.runqueue as f64,
            );
        }
    }

    /// Task counters over the runtime's life.
    fn tasks(&mut self, t: &TaskCounts) {
        let tasks = [
            ("goro_tasks_spawned_total", help!(spawned), t.spawned),
            ("goro_tasks_completed_total", help!(completed), t.completed),
            ("goro_tasks_orphaned_total", help!(orphaned), t.orphaned),
            ("goro_tasks_reclaimed_total", help!(reclaimed), t.reclaimed),
            (
                "goro_tasks_deadlocked_total",
                help!(deadlocked),
                t.deadlocked,
            ),
        ];
        for (name, help, value) in tasks {
            self.single(name, "counter", help, value as f64);
        }
    }

    /// The latency histograms, as summaries.
    fn histograms(&mut self, h: &Histograms) {
        let summaries = [
            (
                "goro_poll_duration_seconds",
                help!(poll_duration),
                &h.poll_duration,
            ),
            (
                "goro_scheduling_latency_seconds",
                help!(scheduling_latency),
                &h.scheduling_latency,
            ),
            (
                "goro_netpoll_block_seconds",
                help!(netpoll_block),
                &h.netpoll_block,
            ),
            (
                "goro_task_lifetime_seconds",
                help!(task_lifetime),
                &h.task_lifetime,
            ),
        ];
        for (name, help, q) in summaries {
            self.summary(name, help, q, q.mean.as_secs_f64() * q.count as f64);
        }
    }

    /// Stats cycles, pauses and the stall alarm.
    fn pauses(&mut self, p: &Pauses) {
        let cycles = p.num_cycles as f64;
        self.single(
            "goro_stats_cycles_total",
            "counter",
            help!(num_cycles),
            cycles,
        );
        let total = p.pause_total.as_secs_f64();
        self.single(
            "goro_pause_total_seconds",
            "counter",
            help!(pause_total),
            total,
        );
        let alarms = p.stall_alarms as f64;
        self.single(
            "goro_stall_alarms_total",
            "counter",
            help!(stall_alarms),
            alarms,
        );
        let last = p.pauses.first().copied().unwrap_or_default();
        let help = "The latest stats cycle's pause.";
        self.single("goro_last_pause_seconds", "gauge", help, last.as_secs_f64());
        let baseline = p.baseline.as_secs_f64();
        self.single(
            "goro_pause_baseline_seconds",
            "gauge",
            help!(pause_baseline),
            baseline,
        );
        let recent_sum: f64 = p.pauses.iter().map(|d| d.as_secs_f64()).sum();
        let help = help!(recent_pauses);
        self.summary("goro_recent_pause_seconds", help, &p.quantiles, recent_sum);
    }

    /// Per spawn site, labelled `site="file:line:col"`.
    fn sites(&mut self, sites: &[SiteStats]) {
        let families: [(&str, &str, &str, SiteField); 3] = [
            ("goro_site_live_tasks", "gauge", help!(site_live), |s| {
                s.live
            }),
            (
                "goro_site_spawned_total",
                "counter",
                help!(site_spawned),
                |s| s.spawned,
            ),
            (
                "goro_site_completed_total",
                "counter",
                help!(site_completed),
                |s| s.completed,
            ),
        ];
        for (name, kind, help, get) in families {
            self.family(name, kind, help);
            for s in sites {
                self.sample(name, &[("site", &s.spawned_at.to_string())], get(s) as f64);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::snapshot;
    use prometheus_parse::{Scrape, Value};
    use std::collections::{HashMap, HashSet};

    /// Value of the sample `name` whose labels are exactly `labels`.
    fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> Value {
        let found: Vec<&Value> = scrape
            .samples
            .iter()
            .filter(|s| {
                s.metric == name
                    && s.labels.len() == labels.len()
                    && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
            })
            .map(|s| &s.value)
            .collect();
        assert_eq!(found.len(), 1, "{name} {labels:?}: {found:?}");
        found[0].clone()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 + b.abs() * 1e-9
    }

    #[test]
    fn a_real_parser_reads_the_values_back() {
        let snap = snapshot();
        let text = snap.to_prometheus();
        let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();

        assert_eq!(
            value(&scrape, "goro_polls_total", &[]),
            Value::Counter(201.0)
        );
        assert_eq!(
            value(&scrape, "goro_polls_total", &[("processor", "0")]),
            Value::Counter(100.0)
        );
        assert_eq!(
            value(&scrape, "goro_polls_total", &[("processor", "1")]),
            Value::Counter(101.0)
        );
        assert_eq!(
            value(&scrape, "goro_steals_total", &[("processor", "1")]),
            Value::Counter(5.0)
        );
        assert_eq!(
            value(&scrape, "goro_accept_errors_total", &[]),
            Value::Counter(0.0)
        );
        assert_eq!(value(&scrape, "goro_processors", &[]), Value::Gauge(2.0));
        assert_eq!(
            value(&scrape, "goro_idle_processors", &[]),
            Value::Gauge(1.0)
        );
        assert_eq!(
            value(&scrape, "goro_spinning_processors", &[]),
            Value::Gauge(0.0)
        );
        assert_eq!(value(&scrape, "goro_threads", &[]), Value::Gauge(5.0));
        assert_eq!(value(&scrape, "goro_idle_threads", &[]), Value::Gauge(2.0));
        assert_eq!(
            value(&scrape, "goro_injector_tasks", &[]),
            Value::Gauge(4.0)
        );
        assert_eq!(value(&scrape, "goro_live_tasks", &[]), Value::Gauge(45.0));
        assert_eq!(
            value(&scrape, "goro_uptime_seconds", &[]),
            Value::Gauge(2.003)
        );
        assert_eq!(value(&scrape, "goro_stats_enabled", &[]), Value::Gauge(1.0));
        assert_eq!(
            value(&scrape, "goro_runqueue_tasks", &[("processor", "0")]),
            Value::Gauge(3.0)
        );
        assert_eq!(
            value(&scrape, "goro_runqueue_tasks", &[("processor", "1")]),
            Value::Gauge(0.0)
        );
        assert_eq!(
            value(&scrape, "goro_tasks_spawned_total", &[]),
            Value::Counter(1000.0)
        );
        assert_eq!(
            value(&scrape, "goro_tasks_completed_total", &[]),
            Value::Counter(955.0)
        );
        assert_eq!(
            value(&scrape, "goro_tasks_orphaned_total", &[]),
            Value::Counter(2.0)
        );
        assert_eq!(
            value(&scrape, "goro_tasks_reclaimed_total", &[]),
            Value::Counter(1.0)
        );
        assert_eq!(
            value(&scrape, "goro_tasks_deadlocked_total", &[]),
            Value::Counter(2.0)
        );

        let Value::Summary(q) = value(&scrape, "goro_poll_duration_seconds", &[]) else {
            panic!("poll duration is not a summary")
        };
        let q: HashMap<String, f64> = q
            .iter()
            .map(|s| (s.quantile.to_string(), s.count))
            .collect();
        assert_eq!(q.len(), 8);
        assert!(close(q["0"], 0.000001), "{q:?}");
        assert!(close(q["0.5"], 0.00005), "{q:?}");
        assert!(close(q["0.99"], 0.000099), "{q:?}");
        assert!(close(q["1"], 0.0001), "{q:?}");
        // _sum and _count are untyped samples to this parser.
        let Value::Untyped(sum) = value(&scrape, "goro_poll_duration_seconds_sum", &[]) else {
            panic!("no _sum")
        };
        assert!(close(sum, 0.00505), "{sum}");
        assert_eq!(
            value(&scrape, "goro_poll_duration_seconds_count", &[]),
            Value::Untyped(100.0)
        );
        assert_eq!(
            value(&scrape, "goro_task_lifetime_seconds_count", &[]),
            Value::Untyped(0.0)
        );

        assert_eq!(
            value(&scrape, "goro_stats_cycles_total", &[]),
            Value::Counter(2.0)
        );
        assert_eq!(
            value(&scrape, "goro_pause_total_seconds", &[]),
            Value::Counter(0.00205)
        );
        assert_eq!(
            value(&scrape, "goro_stall_alarms_total", &[]),
            Value::Counter(1.0)
        );
        assert_eq!(
            value(&scrape, "goro_last_pause_seconds", &[]),
            Value::Gauge(0.002)
        );
        assert_eq!(
            value(&scrape, "goro_pause_baseline_seconds", &[]),
            Value::Gauge(0.00004)
        );
        assert_eq!(
            value(&scrape, "goro_recent_pause_seconds_count", &[]),
            Value::Untyped(2.0)
        );

        let site = snap.sites[0].spawned_at.to_string();
        assert_eq!(
            value(&scrape, "goro_site_live_tasks", &[("site", &site)]),
            Value::Gauge(40.0)
        );
        assert_eq!(
            value(&scrape, "goro_site_spawned_total", &[("site", &site)]),
            Value::Counter(1000.0)
        );
        assert_eq!(
            value(&scrape, "goro_site_completed_total", &[("site", &site)]),
            Value::Counter(960.0)
        );

        for name in [
            "goro_polls_total",
            "goro_poll_duration_seconds",
            "goro_site_live_tasks",
        ] {
            assert!(scrape.docs.contains_key(name), "no HELP for {name}");
        }
    }

    /// Unescapes a label value, rejecting escapes the format does not define.
    fn unescape(v: &str) -> Result<String, String> {
        let mut out = String::new();
        let mut chars = v.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('\\') => out.push('\\'),
                    Some('"') => out.push('"'),
                    Some('n') => out.push('\n'),
                    other => return Err(format!("bad escape \\{other:?} in {v:?}")),
                },
                '"' | '\n' => return Err(format!("unescaped {c:?} in {v:?}")),
                c => out.push(c),
            }
        }
        Ok(out)
    }

    /// A sample line's name, labels and value.
    type Sample = (String, Vec<(String, String)>, f64);

    /// Splits `name{a="x",b="y"} value` strictly; returns (name, labels, value).
    fn parse_sample(line: &str) -> Result<Sample, String> {
        let name_end = line.find(['{', ' ']).ok_or("no value")?;
        let name = &line[..name_end];
        let mut rest = &line[name_end..];
        let mut labels = Vec::new();
        if let Some(r) = rest.strip_prefix('{') {
            rest = r;
            loop {
                if let Some(r) = rest.strip_prefix('}') {
                    rest = r;
                    break;
                }
                let eq = rest.find("=\"").ok_or("no =\"")?;
                let key = rest[..eq].trim_start_matches(',').to_string();
                rest = &rest[eq + 2..];
                // The value ends at the first quote not preceded by an odd run of backslashes.
                let bytes = rest.as_bytes();
                let mut i = 0;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                labels.push((key, unescape(&rest[..i])?));
                rest = &rest[i + 1..];
            }
        }
        let value = rest.strip_prefix(' ').ok_or("no space before value")?;
        let value = match value {
            "NaN" => f64::NAN,
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().map_err(|e| format!("{v}: {e}"))?,
        };
        Ok((name.to_string(), labels, value))
    }

    /// Checks the rules of the text format a lenient parser lets through.
    fn check_format(text: &str) -> Result<usize, String> {
        let valid_name = |n: &str| {
            !n.is_empty()
                && !n.starts_with(|c: char| c.is_ascii_digit())
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        };
        let mut families: HashMap<String, String> = HashMap::new();
        let mut helps = HashSet::new();
        let mut closed = HashSet::new();
        let mut current: Option<(String, String)> = None;
        let mut series = HashSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let name = rest.split(' ').next().unwrap().to_string();
                if !helps.insert(name.clone()) {
                    return Err(format!("second HELP for {name}"));
                }
                if let Some((cur, _)) = current.take() {
                    closed.insert(cur);
                }
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').ok_or("TYPE without a type")?;
                if !["counter", "gauge", "summary", "histogram", "untyped"].contains(&kind) {
                    return Err(format!("bad type {kind}"));
                }
                if families
                    .insert(name.to_string(), kind.to_string())
                    .is_some()
                {
                    return Err(format!("second TYPE for {name}"));
                }
                if !helps.contains(name) {
                    return Err(format!("TYPE before HELP for {name}"));
                }
                current = Some((name.to_string(), kind.to_string()));
            } else {
                let (name, labels, _) = parse_sample(line)?;
                if !valid_name(&name) || !name.starts_with("goro_") {
                    return Err(format!("bad metric name {name}"));
                }
                let (family, kind) = current.as_ref().ok_or(format!("{name} before any TYPE"))?;
                let belongs = name == *family
                    || (kind == "summary"
                        && (name == format!("{family}_sum") || name == format!("{family}_count")));
                if !belongs || closed.contains(family) {
                    return Err(format!("{name} is not with its family ({family})"));
                }
                for (k, _) in &labels {
                    if !valid_name(k) {
                        return Err(format!("bad label name {k}"));
                    }
                }
                if !series.insert(format!("{name}{labels:?}")) {
                    return Err(format!("duplicate series {name}{labels:?}"));
                }
            }
        }
        Ok(series.len())
    }

    #[test]
    fn output_follows_the_format_rules() {
        let snap = snapshot();
        let n = check_format(&snap.to_prometheus()).unwrap();
        assert!(n > 60, "{n} series");
        // An empty snapshot too (families without samples are allowed).
        check_format(&Snapshot::default().to_prometheus()).unwrap();
        // The checker does catch mistakes.
        assert!(
            check_format("# HELP goro_a x\n# TYPE goro_a gauge\ngoro_a 1\ngoro_b 2\n").is_err()
        );
        assert!(
            check_format("# HELP goro_a x\n# TYPE goro_a gauge\ngoro_a{l=\"a\"b\"} 1\n").is_err()
        );
    }

    #[test]
    fn label_values_and_help_are_escaped() {
        let nasty = "src\\a \"b\"\nc.rs:1:2";
        let escaped = escape_label(nasty);
        assert_eq!(escaped, "src\\\\a \\\"b\\\"\\nc.rs:1:2");
        assert_eq!(unescape(&escaped).unwrap(), nasty);
        let mut e = Exposition { out: String::new() };
        e.family("goro_x", "gauge", "line one\nback\\slash");
        e.sample("goro_x", &[("site", nasty)], 1.5);
        assert_eq!(
            e.out,
            "# HELP goro_x line one\\nback\\\\slash\n# TYPE goro_x gauge\ngoro_x{site=\"src\\\\a \\\"b\\\"\\nc.rs:1:2\"} 1.5\n"
        );
        let (_, labels, v) = parse_sample(e.out.lines().nth(2).unwrap()).unwrap();
        assert_eq!((labels[0].1.as_str(), v), (nasty, 1.5));
        check_format(&e.out).unwrap();
    }

    #[test]
    fn special_floats_are_spelled_as_the_format_wants() {
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(f64::INFINITY), "+Inf");
        assert_eq!(number(f64::NEG_INFINITY), "-Inf");
        assert_eq!(number(2.0), "2");
        assert_eq!(number(0.000035), "0.000035");
    }
}
