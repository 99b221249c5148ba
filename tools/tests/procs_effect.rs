//! `procs-effect --quick` end to end on loopback (goro at 1 and 2 processors, about 10 s):
//! the table, the explanation, the JSON and both SVGs come out and parse.

use std::process::Command;

#[test]
fn quick_run_writes_table_explanation_json_and_svgs() {
    let out = std::env::temp_dir().join(format!("procs-effect-test-{}", std::process::id()));
    let run = Command::new(env!("CARGO_BIN_EXE_procs-effect"))
        .args(["--quick", "--procs", "1,2", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    for needle in [
        "max req/s",
        "p50/p99 us @80%",
        "What the figures say:",
        "goro: 1 processor(s) served",
    ] {
        assert!(stdout.contains(needle), "missing `{needle}`:\n{stdout}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("procs-effect.json")).unwrap())
            .unwrap();
    let points = json["points"].as_array().unwrap();
    assert_eq!(points.len(), 2);
    for p in points {
        assert!(p["max_rps"].as_f64().unwrap() > 0.0, "{p}");
        assert!(
            p["costs"]["goro"]["polls"].as_f64().unwrap() > 0.0,
            "goro counters read: {p}"
        );
        assert_eq!(p["latency"].as_array().unwrap().len(), 2, "{p}");
        let cross = p["costs"]["goro"]["cross_wakes"].as_f64().unwrap();
        if p["procs"] == 1 {
            assert_eq!(cross, 0.0, "one processor: nothing crosses: {p}");
        }
    }
    let explanation = json["explanation"].as_array().unwrap();
    assert!(
        explanation
            .iter()
            .any(|l| l.as_str().unwrap().contains("cross-processor wakes")),
        "{explanation:?}"
    );
    for svg in ["throughput.svg", "costs.svg"] {
        let text = std::fs::read_to_string(out.join(svg)).unwrap();
        assert!(
            text.starts_with("<svg") && text.trim_end().ends_with("</svg>"),
            "{svg}"
        );
        assert!(
            text.contains("<polyline") || text.contains("<path"),
            "{svg} has lines"
        );
    }
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn bad_arguments_get_a_message() {
    let run = Command::new(env!("CARGO_BIN_EXE_procs-effect"))
        .args(["--workload", "grpc"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("http, echo or json"));
}
