//! The latency suite's table and JSON.

use std::fmt::Write as _;

use super::{Cell, Report, Row, Run, LOADGEN_CPU, PAIRS};

/// Reads one figure of a run.
type Figure = fn(&Run) -> f64;

/// The percentiles shown, with how to read each from a run.
const COLUMNS: [(&str, Figure); 3] = [
    ("p50 us", |r| r.p50_us),
    ("p99 us", |r| r.p99_us),
    ("p99.9 us", |r| r.p999_us),
];

/// The report as a table for people.
pub fn table(report: &Report) -> String {
    let o = &report.options;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "latency suite: HTTP/1.1 keep-alive hello (http-hello), {} connections, open loop at \
         {:.0} req/s, latency of GET / from intended send times (coordinated omission corrected)",
        o.connections, o.rate
    );
    let _ = writeln!(
        t,
        "medians over {} round(s) (ABBA order, a fresh server per run) of {:.1} s measured after \
         {:.1} s warm-up",
        o.rounds,
        o.duration.as_secs_f64(),
        o.warmup.as_secs_f64()
    );
    let _ = writeln!(
        t,
        "blocking / cpu-hog: one more connection sends GET /block?ms={ms} / GET /spin?ms={ms} \
         every {} ms (its handler sleeps / spins {ms} ms)",
        o.every.as_millis(),
        ms = o.stall.as_millis()
    );
    if report.pinned {
        let placement: Vec<String> = PAIRS
            .iter()
            .flatten()
            .map(|s| format!("{} on CPU {}", s.name, s.cpus))
            .collect();
        let _ = writeln!(
            t,
            "pinned: load generator and trigger on CPU {LOADGEN_CPU}; {}; {} cores",
            placement.join(", "),
            report.cores
        );
    } else {
        let _ = writeln!(t, "NOT pinned: only {} core(s)", report.cores);
    }
    let _ = writeln!(
        t,
        "\n{:<10} {:<22} {:>10} {:>10} {:>10} {:>9} {:>7} {:>8}",
        "scenario",
        "server",
        COLUMNS[0].0,
        COLUMNS[1].0,
        COLUMNS[2].0,
        "requests",
        "errors",
        "triggers"
    );
    for row in &report.rows {
        for cell in &row.cells {
            cell_line(&mut t, row, cell);
        }
        let ratios: Vec<String> = COLUMNS
            .iter()
            .map(|(_, f)| row.ratio(f).map_or("-".into(), |r| format!("{r:.2}")))
            .collect();
        let _ = writeln!(
            t,
            "{:<10} {:<22} {:>10} {:>10} {:>10}\n",
            "", "goro/tokio", ratios[0], ratios[1], ratios[2]
        );
    }
    t
}

fn cell_line(t: &mut String, row: &Row, cell: &Cell) {
    let fig = |f: Figure| {
        cell.median(f)
            .map_or("failed".into(), |v| format!("{v:.1}"))
    };
    let sum = |f: fn(&Run) -> u64| cell.runs.iter().map(f).sum::<u64>();
    let _ = writeln!(
        t,
        "{:<10} {:<22} {:>10} {:>10} {:>10} {:>9} {:>7} {:>8}",
        row.scenario.name(),
        cell.server.name,
        fig(COLUMNS[0].1),
        fig(COLUMNS[1].1),
        fig(COLUMNS[2].1),
        sum(|r| r.requests),
        sum(|r| r.errors),
        sum(|r| r.triggers)
    );
    for f in &cell.failures {
        let _ = writeln!(t, "{:<10} {:<22} a run failed: {f}", "", "");
    }
}

/// The report as one JSON object: the options, every run, and per row the medians and
/// goro/tokio ratios.
pub fn json(report: &Report) -> String {
    let rows: Vec<serde_json::Value> = report
        .rows
        .iter()
        .map(|row| {
            let medians = |cell: &Cell| {
                serde_json::json!({
                    "p50_us": cell.median(COLUMNS[0].1),
                    "p99_us": cell.median(COLUMNS[1].1),
                    "p999_us": cell.median(COLUMNS[2].1),
                })
            };
            serde_json::json!({
                "scenario": row.scenario,
                "cells": row.cells.iter().map(|c| serde_json::json!({
                    "server": c.server,
                    "median": medians(c),
                    "runs": c.runs,
                    "failures": c.failures,
                })).collect::<Vec<_>>(),
                "ratio_goro_tokio": {
                    "p50": row.ratio(COLUMNS[0].1),
                    "p99": row.ratio(COLUMNS[1].1),
                    "p999": row.ratio(COLUMNS[2].1),
                },
            })
        })
        .collect();
    serde_json::json!({
        "suite": "latency",
        "options": {
            "rounds": report.options.rounds,
            "duration_s": report.options.duration.as_secs_f64(),
            "warmup_s": report.options.warmup.as_secs_f64(),
            "rate": report.options.rate,
            "connections": report.options.connections,
            "stall_ms": report.options.stall.as_millis() as u64,
            "every_ms": report.options.every.as_millis() as u64,
        },
        "cores": report.cores,
        "pinned": report.pinned,
        "rows": rows,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::super::{Options, Scenario};
    use super::*;

    fn run(p99: f64) -> Run {
        Run {
            p50_us: 40.0,
            p99_us: p99,
            p999_us: 2.0 * p99,
            requests: 1000,
            errors: 0,
            triggers: 15,
        }
    }

    #[test]
    fn medians_and_ratios() {
        let [g, k] = PAIRS[1];
        let row = Row {
            scenario: Scenario::Blocking,
            cells: [
                Cell {
                    server: g,
                    runs: vec![run(100.0), run(300.0), run(200.0)],
                    failures: vec![],
                },
                Cell {
                    server: k,
                    runs: vec![run(400.0), run(400.0)],
                    failures: vec!["boom".into()],
                },
            ],
        };
        assert_eq!(row.cells[0].median(|r| r.p99_us), Some(200.0));
        assert_eq!(row.ratio(|r| r.p99_us), Some(0.5));
        let report = Report {
            options: Options::default(),
            cores: 2,
            pinned: true,
            rows: vec![row],
        };
        let text = table(&report);
        assert!(text.contains("goro procs=2 on CPU 0-1"), "{text}");
        assert!(text.contains("a run failed: boom"), "{text}");
        assert!(text.contains("0.50"), "{text}");
        let v: serde_json::Value = serde_json::from_str(&json(&report)).unwrap();
        assert_eq!(v["rows"][0]["ratio_goro_tokio"]["p99"], 0.5);
        assert_eq!(v["rows"][0]["scenario"], "blocking");
        assert_eq!(v["rows"][0]["cells"][1]["median"]["p99_us"], 400.0);
    }
}
