//! The hyper suite's table and JSON.

use std::fmt::Write as _;

use super::{median, Cell, Report, Row, LOADGEN_CPU, PAIRS};

/// The report as a table for people.
pub fn table(report: &Report) -> String {
    let o = &report.options;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "hyper suite: hyper 1.x server (hyper-hello: hyper-util auto builder over an axum Router), \
         same code on goro (goro::hyper::serve) and tokio (TokioIo/TokioExecutor/TokioTimer)"
    );
    let _ = writeln!(
        t,
        "hello = GET / answers text \"Hello, World!\"; json = GET / answers axum Json \
         {{\"message\":\"Hello, World!\"}}"
    );
    let _ = writeln!(
        t,
        "load: goro-loadgen closed loop, {} keep-alive connections, one request in flight on \
         each; medians over {} round(s) (ABBA order, a fresh server per run) of {:.1} s \
         measured after {:.1} s warm-up",
        o.connections,
        o.rounds,
        o.duration.as_secs_f64(),
        o.warmup.as_secs_f64()
    );
    let _ = writeln!(
        t,
        "CPU us/req = server utime+stime (/proc/PID/stat, all threads) in the measured window \
         / requests completed in it"
    );
    if report.pinned {
        let placement: Vec<String> = PAIRS
            .iter()
            .flatten()
            .map(|s| format!("{} on CPU {}", s.name, s.cpus))
            .collect();
        let _ = writeln!(
            t,
            "pinned: load generator on CPU {LOADGEN_CPU}; {}; {} cores",
            placement.join(", "),
            report.cores
        );
    } else {
        let _ = writeln!(t, "NOT pinned: only {} core(s)", report.cores);
    }
    let _ = writeln!(
        t,
        "\n{:<6} {:<22} {:>12} {:>11} {:>10} {:>7}",
        "app", "server", "requests/s", "CPU us/req", "requests", "errors"
    );
    for row in &report.rows {
        for cell in &row.cells {
            cell_line(&mut t, row, cell);
        }
        ratio_line(&mut t, row);
    }
    t
}

fn cell_line(t: &mut String, row: &Row, cell: &Cell) {
    let fig = |v: Option<f64>, prec: usize| v.map_or("failed".into(), |v| format!("{v:.prec$}"));
    let _ = writeln!(
        t,
        "{:<6} {:<22} {:>12} {:>11} {:>10} {:>7}",
        row.app.name(),
        cell.server.name,
        fig(cell.median(|r| r.rps), 0),
        fig(cell.median(|r| r.cpu_us_per_request), 2),
        cell.runs.iter().map(|r| r.requests).sum::<u64>(),
        cell.runs.iter().map(|r| r.errors).sum::<u64>()
    );
    for f in &cell.failures {
        let _ = writeln!(t, "{:<6} {:<22} a run failed: {f}", "", "");
    }
}

fn ratio_line(t: &mut String, row: &Row) {
    let fig = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.3}"));
    let verdict = match row.meets_bar() {
        Some(true) => "meets the bar (goro >= tokio)",
        Some(false) => "BELOW the bar (goro < tokio)",
        None => "no verdict (runs failed)",
    };
    let rounds: Vec<String> = row.round_ratios.iter().map(|r| format!("{r:.3}")).collect();
    let _ = writeln!(
        t,
        "{:<6} {:<22} {:>12} {:>11}  {verdict}",
        "",
        "goro/tokio",
        fig(row.ratio(|r| r.rps)),
        fig(row.ratio(|r| r.cpu_us_per_request)),
    );
    let _ = writeln!(
        t,
        "{:<6} {:<22} per-round requests/s ratios: {} (median {})\n",
        "",
        "",
        rounds.join(" "),
        fig(median(row.round_ratios.clone()))
    );
}

/// The report as one JSON object: the options, every run, and per row the medians, the
/// goro/tokio ratios and whether goro meets the bar.
pub fn json(report: &Report) -> String {
    let rows: Vec<serde_json::Value> = report
        .rows
        .iter()
        .map(|row| {
            serde_json::json!({
                "app": row.app,
                "cells": row.cells.iter().map(|c| serde_json::json!({
                    "server": c.server,
                    "median": {
                        "rps": c.median(|r| r.rps),
                        "cpu_us_per_request": c.median(|r| r.cpu_us_per_request),
                    },
                    "runs": c.runs,
                    "failures": c.failures,
                })).collect::<Vec<_>>(),
                "ratio_goro_tokio": {
                    "rps": row.ratio(|r| r.rps),
                    "cpu_us_per_request": row.ratio(|r| r.cpu_us_per_request),
                },
                "round_ratios_rps": row.round_ratios,
                "meets_bar": row.meets_bar(),
            })
        })
        .collect();
    serde_json::json!({
        "suite": "hyper",
        "options": {
            "rounds": report.options.rounds,
            "duration_s": report.options.duration.as_secs_f64(),
            "warmup_s": report.options.warmup.as_secs_f64(),
            "connections": report.options.connections,
        },
        "cores": report.cores,
        "pinned": report.pinned,
        "rows": rows,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::super::{App, Options, Run};
    use super::*;

    fn run(rps: f64) -> Run {
        Run {
            rps,
            cpu_us_per_request: 1e6 / rps,
            requests: 1000,
            errors: 0,
        }
    }

    #[test]
    fn medians_ratios_and_verdict() {
        let [g, k] = PAIRS[0];
        let row = Row {
            app: App::Json,
            cells: [
                Cell {
                    server: g,
                    runs: vec![run(30_000.0), run(10_000.0), run(20_000.0)],
                    failures: vec![],
                },
                Cell {
                    server: k,
                    runs: vec![run(40_000.0), run(40_000.0)],
                    failures: vec!["boom".into()],
                },
            ],
            round_ratios: vec![0.75, 0.25],
        };
        assert_eq!(row.cells[0].median(|r| r.rps), Some(20_000.0));
        assert_eq!(row.ratio(|r| r.rps), Some(0.5));
        assert_eq!(row.meets_bar(), Some(false));
        let report = Report {
            options: Options::default(),
            cores: 2,
            pinned: true,
            rows: vec![row],
        };
        let text = table(&report);
        assert!(text.contains("goro procs=1 on CPU 1"), "{text}");
        assert!(text.contains("a run failed: boom"), "{text}");
        assert!(text.contains("BELOW the bar"), "{text}");
        assert!(text.contains("(median 0.500)"), "{text}");
        let v: serde_json::Value = serde_json::from_str(&json(&report)).unwrap();
        assert_eq!(v["rows"][0]["ratio_goro_tokio"]["rps"], 0.5);
        assert_eq!(v["rows"][0]["app"], "json");
        assert_eq!(v["rows"][0]["meets_bar"], false);
        assert_eq!(v["rows"][0]["cells"][1]["median"]["rps"], 40_000.0);
    }
}
