//! The report for people (one table per suite, then its geometric means) and for programs
//! (one JSON object, through serde_json). Durations print as [`HumanDuration`]; ratios with
//! two decimals (three for `overhead`) in the table and four in the JSON.

use super::measure::{Outcome, Report, Row};
use super::suite::Suite;
use super::{CELL_BUDGET, OVERHEAD_BAR, OVERHEAD_CELL_BUDGET, OVERHEAD_ROUNDS, ROUNDS};
use goro_benches::affinity::Placement;
use goro_benches::server::Side;
use goro_stats::HumanDuration;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use serde_json::value::RawValue;
use std::fmt::Write as _;

fn cell_text(outcome: &Outcome, iters: usize) -> String {
    match outcome {
        Ok(s) if s.runs < iters => format!("{}*", HumanDuration(s.median)),
        Ok(s) => HumanDuration(s.median).to_string(),
        Err(_) => "FAILED".to_string(),
    }
}

/// How the suite's threads were placed, one line per processor count.
fn placement_note(suite: Suite, procs: &[usize]) -> String {
    let echo = || {
        procs
            .iter()
            .map(|&p| format!("procs={p}: {}", Placement::for_procs(p).describe()))
            .collect::<Vec<_>>()
            .join("; ")
    };
    match suite {
        Suite::Sched | Suite::Timers => "threads not pinned".to_string(),
        Suite::Echo => echo(),
        Suite::Overhead => format!("sched: threads not pinned; echo: {}", echo()),
    }
}

/// A ratio as the suite's table shows it: `overhead` needs the third decimal.
fn ratio_text(suite: Suite, ratio: Option<f64>) -> String {
    match (ratio, suite) {
        (None, _) => "-".to_string(),
        (Some(r), Suite::Overhead) => format!("{r:.3}"),
        (Some(r), _) => format!("{r:.2}"),
    }
}

/// `cost` (a fraction) as a signed percentage, with whether it is within [`OVERHEAD_BAR`].
fn cost_text(cost: f64) -> String {
    let verdict = if cost <= OVERHEAD_BAR {
        "within"
    } else {
        "OVER"
    };
    format!(
        "stats cost {:+.1}% ({verdict} the {:.0}% bar)",
        cost * 100.0,
        OVERHEAD_BAR * 100.0
    )
}

/// The summary lines under a suite's table: geomeans per processor count, and for
/// `overhead` the echo throughput ratios and what the stats cost.
fn summary_lines(report: &Report, suite: Suite) -> Vec<String> {
    let mut lines = Vec::new();
    for &procs in &report.options.procs {
        let geomean = report.geomean(suite, procs);
        let text = match geomean {
            Some((g, n)) => format!("{}  (over {n} workloads)", ratio_text(suite, Some(g))),
            None => "-".to_string(),
        };
        if suite != Suite::Overhead {
            lines.push(format!(
                "geomean goro/tokio ({suite}) at procs={procs}: {text}"
            ));
            continue;
        }
        let cost = geomean.map_or_else(String::new, |(g, _)| format!(": {}", cost_text(g - 1.0)));
        lines.push(format!(
            "geomean stats on/off (sched workloads) at procs={procs}: {text}{cost}"
        ));
        for (w, throughput) in report.echo_throughput(procs) {
            let cost = throughput.map_or_else(String::new, |t| format!(": {}", cost_text(1.0 - t)));
            lines.push(format!(
                "echo {w} throughput stats on/off at procs={procs}: {}{cost}",
                ratio_text(suite, throughput)
            ));
        }
    }
    lines
}

/// A row's name in `suite`'s table: `overhead` mixes suites, so its rows are named
/// `sched/...` and `echo/...`.
fn row_label(suite: Suite, row: &Row) -> String {
    match suite {
        Suite::Overhead => row.workload.to_string(),
        _ => row.workload.name().to_string(),
    }
}

/// Renders the report as one text table per suite, each followed by its geometric means.
pub fn render_table(report: &Report) -> String {
    let opts = &report.options;
    let mut out = String::new();
    let rounds = if opts.suites.contains(&Suite::Overhead) {
        format!("{ROUNDS} ({OVERHEAD_ROUNDS} for overhead)")
    } else {
        ROUNDS.to_string()
    };
    let _ = writeln!(
        out,
        "goro-bench quick mode: median of {} runs per cell, in {rounds} ABBA rounds on fresh \
         runtimes with up to {} warm-up runs each; {} cores available",
        opts.iters, opts.warmup, report.cores
    );
    for &suite in &opts.suites {
        let rows: Vec<&Row> = report.rows.iter().filter(|r| r.suite == suite).collect();
        if rows.is_empty() {
            continue;
        }
        let label = |row: &Row| row_label(suite, row);
        let width = rows
            .iter()
            .map(|r| label(r).len())
            .max()
            .unwrap_or(0)
            .max(24);
        let rule = "-".repeat(width + 1 + 5 + 1 + 12 + 1 + 12 + 1 + 11);
        let [a, b] = suite.sides().map(Side::name);
        let _ = writeln!(out);
        let _ = writeln!(out, "== {suite}: {}", suite.description());
        let _ = writeln!(out, "   placement: {}", placement_note(suite, &opts.procs));
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<width$} {:>5} {:>12} {:>12} {:>11}",
            "workload",
            "procs",
            a,
            b,
            suite.ratio_name()
        );
        let _ = writeln!(out, "{rule}");
        let mut last_procs = None;
        for row in &rows {
            if last_procs.is_some_and(|p| p != row.procs) {
                let _ = writeln!(out);
            }
            last_procs = Some(row.procs);
            let [cell_a, cell_b] = &row.outcomes;
            let _ = writeln!(
                out,
                "{:<width$} {:>5} {:>12} {:>12} {:>11}",
                label(row),
                row.procs,
                cell_text(cell_a, opts.iters),
                cell_text(cell_b, opts.iters),
                ratio_text(suite, row.ratio())
            );
        }
        let _ = writeln!(out, "{rule}");
        for line in summary_lines(report, suite) {
            let _ = writeln!(out, "{line}");
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "cores (available_parallelism): {}", report.cores);
    if let Some(busy) = report.busy_at_start {
        let note = if busy > 0.1 {
            " (something else was running: figures are noisy)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "CPU busy just before the run: {:.0}%{note}",
            busy * 100.0
        );
    }
    if let [Some(start), Some(end)] = &report.loadavg {
        let _ = writeln!(
            out,
            "load average (1 5 15 min): {start} at start, {end} at end"
        );
    }
    if opts.suites.iter().any(|&s| s != Suite::Overhead) {
        let _ = writeln!(out, "goro/tokio < 1 means goro is faster.");
    }
    if opts.suites.contains(&Suite::Overhead) {
        let _ = writeln!(
            out,
            "on/off = time with stats(true) / time with stats(false): > 1 means the stats cost time."
        );
    }

    let short = report.rows.iter().any(|r| {
        r.outcomes
            .iter()
            .any(|o| matches!(o, Ok(s) if s.runs < opts.iters))
    });
    if short {
        let _ = writeln!(
            out,
            "* fewer runs than --iters: the cell hit its {}s budget ({}s for overhead)",
            CELL_BUDGET.as_secs(),
            OVERHEAD_CELL_BUDGET.as_secs()
        );
    }
    for row in &report.rows {
        for (side, outcome) in row.sides() {
            if let Err(e) = outcome {
                let _ = writeln!(
                    out,
                    "FAILED {} procs={} {}: {e}",
                    row.workload,
                    row.procs,
                    side.name()
                );
            }
        }
    }
    out
}

/// A ratio in the JSON: four decimals, `null` if there is none or it is not finite.
fn json_ratio(x: Option<f64>) -> Option<Box<RawValue>> {
    let x = x.filter(|x| x.is_finite())?;
    // A finite `{:.4}` is always a valid JSON number.
    RawValue::from_string(format!("{x:.4}")).ok()
}

/// Entries serialized as a JSON object, in their order.
struct Ordered<V>(Vec<(String, V)>);

impl<V: Serialize> Serialize for Ordered<V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// A cell in the JSON: its timings in nanoseconds, or its error.
#[derive(Serialize)]
#[serde(untagged)]
enum JsonOutcome {
    Timed {
        median_ns: u128,
        min_ns: u128,
        max_ns: u128,
        runs: usize,
    },
    Failed {
        error: String,
    },
}

impl From<&Outcome> for JsonOutcome {
    fn from(outcome: &Outcome) -> JsonOutcome {
        match outcome {
            Ok(s) => JsonOutcome::Timed {
                median_ns: s.median.as_nanos(),
                min_ns: s.min.as_nanos(),
                max_ns: s.max.as_nanos(),
                runs: s.runs,
            },
            Err(e) => JsonOutcome::Failed { error: e.clone() },
        }
    }
}

/// A row in the JSON: `workload`, `procs`, one entry per side, `ratio`.
struct JsonRow<'a> {
    name: String,
    row: &'a Row,
}

impl Serialize for JsonRow<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("workload", &self.name)?;
        map.serialize_entry("procs", &self.row.procs)?;
        for (side, outcome) in self.row.sides() {
            map.serialize_entry(side.name(), &JsonOutcome::from(outcome))?;
        }
        map.serialize_entry("ratio", &json_ratio(self.row.ratio()))?;
        map.end()
    }
}

/// A suite in the JSON.
#[derive(Serialize)]
struct JsonSuite<'a> {
    suite: &'static str,
    placement: String,
    rows: Vec<JsonRow<'a>>,
    /// Per processor count.
    geomean_ratio: Ordered<Option<Box<RawValue>>>,
    /// `overhead` only: per processor count, per message size.
    #[serde(skip_serializing_if = "Option::is_none")]
    echo_throughput_ratio: Option<Ordered<Ordered<Option<Box<RawValue>>>>>,
}

/// The whole run in the JSON.
#[derive(Serialize)]
struct JsonReport<'a> {
    mode: &'static str,
    iters: usize,
    warmup: usize,
    cores: usize,
    busy_at_start: Option<Box<RawValue>>,
    loadavg: &'a [Option<String>; 2],
    suites: Vec<JsonSuite<'a>>,
}

/// One entry per processor count, keyed by the count.
fn per_procs<V>(procs: &[usize], value: impl Fn(usize) -> V) -> Ordered<V> {
    Ordered(procs.iter().map(|&p| (p.to_string(), value(p))).collect())
}

fn json_suite(report: &Report, suite: Suite) -> JsonSuite<'_> {
    let procs = &report.options.procs;
    let echo = (suite == Suite::Overhead).then(|| {
        per_procs(procs, |p| {
            let sizes = report.echo_throughput(p).into_iter();
            Ordered(
                sizes
                    .map(|(w, t)| (w.name().to_string(), json_ratio(t)))
                    .collect(),
            )
        })
    });
    JsonSuite {
        suite: suite.name(),
        placement: placement_note(suite, procs),
        rows: report
            .rows
            .iter()
            .filter(|r| r.suite == suite)
            .map(|row| JsonRow {
                name: row_label(suite, row),
                row,
            })
            .collect(),
        geomean_ratio: per_procs(procs, |p| {
            json_ratio(report.geomean(suite, p).map(|(g, _)| g))
        }),
        echo_throughput_ratio: echo,
    }
}

/// Renders the report as one JSON object: the run's settings and one entry per suite with
/// its rows and geometric means.
pub fn render_json(report: &Report) -> String {
    let opts = &report.options;
    let json = JsonReport {
        mode: "quick",
        iters: opts.iters,
        warmup: opts.warmup,
        cores: report.cores,
        busy_at_start: json_ratio(report.busy_at_start),
        loadavg: &report.loadavg,
        suites: opts.suites.iter().map(|&s| json_suite(report, s)).collect(),
    };
    // Plain data with string keys: serializing it cannot fail; should it ever, say so in
    // JSON rather than panic after the whole run.
    serde_json::to_string(&json)
        .unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }).to_string())
}
