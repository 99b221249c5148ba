//! The hyper suite runs end to end on a tiny budget: both apps on every server give
//! requests/s and CPU per request, with no failed request, and the verdict is computed.

use std::time::Duration;

use goro_tools::hyper_suite::{self, render, App};

#[test]
fn every_cell_measures_throughput_and_cpu() {
    let opts = hyper_suite::Options {
        rounds: 1,
        duration: Duration::from_millis(300),
        warmup: Duration::from_millis(100),
        connections: 8,
    };
    let report = hyper_suite::run(&opts, |_| {}).unwrap();
    assert_eq!(report.rows.len(), 4);
    for row in &report.rows {
        for cell in &row.cells {
            let what = format!("{} {}", row.app.name(), cell.server.name);
            assert!(cell.failures.is_empty(), "{what}: {:?}", cell.failures);
            let run = cell.runs[0];
            assert!(run.requests > 0 && run.rps > 0.0, "{what}: {run:?}");
            assert_eq!(run.errors, 0, "{what}: {run:?}");
            assert!(
                run.cpu_us_per_request.is_finite() && run.cpu_us_per_request >= 0.0,
                "{what}: {run:?}"
            );
        }
        assert!(row.meets_bar().is_some());
        assert_eq!(row.round_ratios.len(), 1);
    }
    assert_eq!(report.rows[0].app, App::Hello);
    assert_eq!(report.rows[3].app, App::Json);
    let table = render::table(&report);
    assert!(table.contains("tokio multi_thread(2)"), "{table}");
    let v: serde_json::Value = serde_json::from_str(&render::json(&report)).unwrap();
    assert_eq!(v["rows"].as_array().unwrap().len(), 4);
}
