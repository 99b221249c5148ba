//! Tests of the quick-mode engine: arguments, figures, and both renderings.

use super::*;
use goro_benches::{echo, sched, timers};
use std::time::Duration;

fn args(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

fn run_opts(s: &str) -> Options {
    match parse_args(args(s)) {
        Ok(Command::Run(o)) => o,
        other => panic!("{s}: {other:?}"),
    }
}

/// A cell whose every run took `d`.
fn sample(d: Duration) -> Outcome {
    Ok(Sample {
        median: d,
        min: d,
        max: d,
        runs: DEFAULT_ITERS,
    })
}

fn row(suite: Suite, workload: Workload, procs: usize, a: Outcome, b: Outcome) -> Row {
    Row {
        suite,
        workload,
        procs,
        outcomes: [a, b],
    }
}

#[test]
fn defaults() {
    let o = run_opts("");
    assert_eq!(o, Options::default());
    assert_eq!(o.suites, Suite::ALL.to_vec());
    assert_eq!(o.workloads().len(), 6 + 2 + 2);
}

#[test]
fn flags() {
    let o = run_opts("--procs 2,1,2 --filter spawn --iters 5 --warmup=0 --json --timeout=9");
    assert_eq!(o.procs, vec![2, 1]);
    assert_eq!(o.iters, 5);
    assert_eq!(o.warmup, 0);
    assert!(o.json);
    assert_eq!(o.timeout, Duration::from_secs(9));
    assert_eq!(o.workloads().len(), 4);
    let o = run_opts("--suite echo,timers --filter 64B");
    assert_eq!(o.suites, vec![Suite::Echo, Suite::Timers]);
    assert_eq!(
        o.workloads(),
        vec![(Suite::Echo, Workload::Echo(echo::Workload::B64))]
    );
    let o = run_opts("--suite=timers --filter timers/sleep");
    assert_eq!(
        o.workloads(),
        vec![(Suite::Timers, Workload::Timers(timers::Workload::SleepLoop))]
    );
    let o = run_opts("--suite overhead");
    assert_eq!(o.suites, vec![Suite::Overhead]);
    assert_eq!(o.workloads().len(), 6 + 2);
    assert!(o.workloads().iter().all(|(s, _)| *s == Suite::Overhead));
    let o = run_opts("--suite overhead --filter echo/");
    assert_eq!(
        o.workloads(),
        echo::Workload::ALL.map(|w| (Suite::Overhead, Workload::Echo(w)))
    );
    assert_eq!(run_opts("--suite all").suites, Suite::ALL.to_vec());
    assert_eq!(parse_args(args("--help")), Ok(Command::Help));
    assert_eq!(parse_args(args("--list")), Ok(Command::List));
}

#[test]
fn bad_flags() {
    for bad in [
        "--procs",
        "--procs 0",
        "--procs 1,x",
        "--procs 1,,2",
        "--iters 0",
        "--iters -3",
        "--bogus",
        "extra",
        "--filter nothing_matches_this",
        "--json=yes",
        "--suite",
        "--suite bogus",
        "--suite sched,",
        "--suite echo --filter yield",
        "--suite overhead --filter timers",
        "--suite latency --latency-rounds 0",
        "--suite latency --latency-duration x",
        "--suite latency --latency-rate 5",
        "--suite hyper --hyper-rounds 0",
        "--suite hyper --hyper-duration 0",
    ] {
        assert!(parse_args(args(bad)).is_err(), "{bad} should be rejected");
    }
}

#[test]
fn latency_suite_flags() {
    let o = run_opts("--suite latency");
    assert!(o.suites.is_empty());
    assert_eq!(o.latency, Some(crate::latency::Options::default()));
    let o = run_opts(
        "--suite echo,latency --latency-rounds 5 --latency-duration 2.5 --latency-rate 9000",
    );
    assert_eq!(o.suites, vec![Suite::Echo]);
    let lat = o.latency.unwrap();
    assert_eq!((lat.rounds, lat.rate), (5, 9000.0));
    assert_eq!(lat.duration, Duration::from_millis(2500));
    assert_eq!(run_opts("").latency, None, "not in the default set");
    assert_eq!(run_opts("--suite all").latency, None, "nor in all");
}

#[test]
fn hyper_suite_flags() {
    let o = run_opts("--suite hyper");
    assert!(o.suites.is_empty());
    assert_eq!(o.hyper, Some(crate::hyper_suite::Options::default()));
    let o = run_opts("--suite sched,hyper --hyper-rounds 5 --hyper-duration 2.5");
    assert_eq!(o.suites, vec![Suite::Sched]);
    let h = o.hyper.unwrap();
    assert_eq!((h.rounds, h.duration), (5, Duration::from_millis(2500)));
    assert_eq!(run_opts("").hyper, None, "not in the default set");
    assert_eq!(run_opts("--suite all").hyper, None, "nor in all");
}

#[test]
fn sample_and_geomean() {
    let ms = Duration::from_millis;
    let s = Sample::from_runs(vec![ms(3), ms(1), ms(2)]).unwrap();
    assert_eq!((s.median, s.min, s.max, s.runs), (ms(2), ms(1), ms(3), 3));
    assert_eq!(Sample::from_runs(vec![ms(1), ms(3)]).unwrap().median, ms(2));
    assert!(Sample::from_runs(vec![]).is_none());
    let g = geomean(&[2.0, 0.5]).unwrap();
    assert!((g - 1.0).abs() < 1e-12);
    assert!(geomean(&[]).is_none());
}

#[test]
fn renders() {
    let ms = Duration::from_millis;
    let row = |w: Workload, procs, a, b| row(w.suite(), w, procs, a, b);
    let report = Report {
        options: Options::default(),
        cores: 2,
        busy_at_start: Some(0.5),
        loadavg: [Some("0.10 0.20 0.30".into()), None],
        rows: vec![
            row(
                Workload::Sched(sched::Workload::YieldMany),
                1,
                sample(ms(2)),
                sample(ms(1)),
            ),
            row(
                Workload::Sched(sched::Workload::PingPong),
                2,
                Err("panicked: \"boom\"".into()),
                sample(ms(1)),
            ),
            row(
                Workload::Echo(echo::Workload::B64),
                1,
                sample(ms(1)),
                sample(ms(4)),
            ),
        ],
    };
    let table = render_table(&report);
    assert!(table.contains("yield_many"), "{table}");
    assert!(table.contains("2.00"), "{table}");
    assert!(
        table.contains("FAILED sched/ping_pong procs=2 goro"),
        "{table}"
    );
    assert!(table.contains("== echo"), "{table}");
    assert!(
        table.contains("geomean goro/tokio (echo) at procs=1: 0.25"),
        "{table}"
    );
    assert!(!table.contains("== timers"), "{table}");
    assert!(
        table.contains("CPU busy just before the run: 50% (something else"),
        "{table}"
    );
    let json = render_json(&report);
    assert!(json.contains("\"ratio\":2.0000"), "{json}");
    assert!(
        json.contains("\"workload\":\"yield_many\",\"procs\":1,\"goro\":{"),
        "{json}"
    );
    assert!(json.contains("\"tokio\":{\"median_ns\":1000000,"), "{json}");
    assert!(
        json.contains("\"loadavg\":[\"0.10 0.20 0.30\",null]"),
        "{json}"
    );
    assert!(json.contains("\\\"boom\\\""), "{json}");
    assert!(
        json.contains("\"geomean_ratio\":{\"1\":2.0000,\"2\":null}"),
        "{json}"
    );
    assert!(
        json.contains("\"geomean_ratio\":{\"1\":0.2500,\"2\":null}"),
        "{json}"
    );
    assert!(report.any_failed());
}

#[test]
fn renders_overhead() {
    let us = Duration::from_micros;
    let row = |w, on, off| row(Suite::Overhead, w, 2, sample(us(on)), sample(us(off)));
    let report = Report {
        options: run_opts("--suite overhead --procs 2"),
        cores: 2,
        busy_at_start: None,
        loadavg: [None, None],
        rows: vec![
            row(Workload::Sched(sched::Workload::YieldMany), 1010, 1000),
            row(Workload::Sched(sched::Workload::PingPong), 1040, 1000),
            row(Workload::Echo(echo::Workload::Kib1), 1000, 1000),
            row(Workload::Echo(echo::Workload::B64), 1050, 1000),
        ],
    };
    // The sched geomean leaves the echo rows out.
    let (g, n) = report.geomean(Suite::Overhead, 2).unwrap();
    assert_eq!(n, 2);
    assert!((g - (1.01f64 * 1.04).sqrt()).abs() < 1e-9);
    let echo = report.echo_throughput(2);
    assert_eq!(echo.len(), 2);
    assert!((echo[1].1.unwrap() - 1.0 / 1.05).abs() < 1e-9);

    let table = render_table(&report);
    assert!(table.contains("== overhead"), "{table}");
    assert!(table.contains("goro-nostats"), "{table}");
    assert!(table.contains("sched/yield_many"), "{table}");
    assert!(
        table.contains("geomean stats on/off (sched workloads) at procs=2: 1.025"),
        "{table}"
    );
    assert!(
        table.contains("stats cost +2.5% (OVER the 2% bar)"),
        "{table}"
    );
    assert!(
        table.contains(
            "echo 1KiB throughput stats on/off at procs=2: 1.000: stats cost +0.0% (within"
        ),
        "{table}"
    );
    assert!(
        table.contains("echo 64B throughput stats on/off at procs=2: 0.952"),
        "{table}"
    );
    assert!(!table.contains("goro/tokio"), "{table}");
    let json = render_json(&report);
    assert!(
        json.contains("\"workload\":\"sched/ping_pong\",\"procs\":2,\"goro\":{"),
        "{json}"
    );
    assert!(
        json.contains("\"goro-nostats\":{\"median_ns\":1000000,"),
        "{json}"
    );
    assert!(json.contains("\"geomean_ratio\":{\"2\":1.0249}"), "{json}");
    assert!(
        json.contains("\"echo_throughput_ratio\":{\"2\":{\"1KiB\":1.0000,\"64B\":0.9524}}"),
        "{json}"
    );
}
