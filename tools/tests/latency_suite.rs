//! The latency suite runs end to end on a tiny budget: every scenario and server gives
//! figures, and the blocking and cpu-hog triggers were answered.

use std::time::Duration;

use goro_tools::latency::{self, render, Scenario};

#[test]
fn every_cell_measures_and_the_triggers_fire() {
    let opts = latency::Options {
        rounds: 1,
        duration: Duration::from_millis(300),
        warmup: Duration::from_millis(100),
        rate: 2000.0,
        connections: 8,
        stall: Duration::from_millis(5),
        every: Duration::from_millis(50),
    };
    let report = latency::run(&opts, |_| {}).unwrap();
    assert_eq!(report.rows.len(), 6);
    for row in &report.rows {
        for cell in &row.cells {
            let what = format!("{} {}", row.scenario.name(), cell.server.name);
            assert!(cell.failures.is_empty(), "{what}: {:?}", cell.failures);
            let run = cell.runs[0];
            assert!(run.requests > 0, "{what}: {run:?}");
            match row.scenario {
                Scenario::Plain => assert_eq!(run.triggers, 0, "{what}"),
                _ => assert!(run.triggers > 0, "{what}: the trigger got no answer"),
            }
        }
        assert!(row.ratio(|r| r.p99_us).is_some());
    }
    let table = render::table(&report);
    assert!(table.contains("cpu-hog"), "{table}");
    let v: serde_json::Value = serde_json::from_str(&render::json(&report)).unwrap();
    assert_eq!(v["rows"].as_array().unwrap().len(), 6);
}
