//! The JSON forms of the reports, through serde: sites as `"file:line:column"`, durations
//! as floating-point seconds (see `durations.rs`), enums in snake_case, wait ops by name.

use crate::report::{LeakReport, Pauses, Snapshot, TaskDump};
use serde::Serialize;

fn to_json<T: Serialize>(value: &T, pretty: bool) -> String {
    let json = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    };
    // The report types have string keys and no fallible fields, so this cannot fail; should
    // it ever, say so in JSON rather than panic in a debug endpoint.
    json.unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }).to_string())
}

macro_rules! json_methods {
    ($($t:ty),*) => {$(
        impl $t {
            /// This report as compact JSON (durations in seconds, sites as
            /// `"file:line:column"`).
            pub fn to_json(&self) -> String {
                to_json(self, false)
            }

            /// This report as indented JSON.
            pub fn to_json_pretty(&self) -> String {
                to_json(self, true)
            }
        }
    )*};
}

json_methods!(Snapshot, LeakReport, TaskDump, Pauses);

#[cfg(test)]
mod tests {
    use crate::report::*;
    use crate::wait::WaitOp;
    use serde_json::Value;
    use std::panic::Location;
    use std::time::Duration;

    #[test]
    fn leak_report_json_has_sites_ops_and_seconds() {
        let site = Location::caller();
        let orphan = TaskInfo {
            id: 7,
            name: Some("conn".into()),
            spawned_at: site,
            suspended_at: None,
            wait_op: Some(WaitOp::TcpRead),
            state: TaskState::Orphaned,
            age: Duration::from_millis(2500),
            idle: Duration::from_micros(35),
            polls: 4,
            wakes: 3,
            wakers: 0,
        };
        let report = LeakReport {
            orphaned: vec![orphan],
            orphaned_total: 1,
            suspected: vec![Suspect {
                spawned_at: site,
                suspended_at: Some(site),
                wait_op: None,
                live: 50,
                growth: -2,
                oldest_idle: Duration::from_secs(41),
                reason: SuspectReason::GrowingAndStuck,
            }],
            leak_threshold: Duration::from_secs(30),
            ..LeakReport::default()
        };
        let v: Value = serde_json::from_str(&report.to_json()).unwrap();
        let o = &v["orphaned"][0];
        assert_eq!(o["id"], 7);
        assert_eq!(o["name"], "conn");
        assert_eq!(o["spawned_at"], site.to_string());
        assert_eq!(o["suspended_at"], Value::Null);
        assert_eq!(o["wait_op"], "TcpStream::read");
        assert_eq!(o["state"], "orphaned");
        assert_eq!(o["age"], 2.5);
        assert_eq!(o["idle"], 0.000035);
        assert_eq!(v["orphaned_total"], 1);
        let s = &v["suspected"][0];
        assert_eq!(
            (s["live"].as_u64(), s["growth"].as_i64()),
            (Some(50), Some(-2))
        );
        assert_eq!(s["reason"], "growing_and_stuck");
        assert_eq!(s["oldest_idle"], 41.0);
        assert_eq!(v["leak_threshold"], 30.0);
        let pretty: Value = serde_json::from_str(&report.to_json_pretty()).unwrap();
        assert_eq!(pretty, v);
    }

    #[test]
    fn snapshot_pauses_and_dump_json() {
        let snap = Snapshot {
            uptime: Duration::from_millis(2003),
            processors: 2,
            procs: vec![ProcSnapshot {
                index: 1,
                runqueue: 3,
                idle: true,
                io_sources: 2,
                counters: crate::CounterSnapshot {
                    polls: 9,
                    ..Default::default()
                },
            }],
            pauses: Pauses {
                num_cycles: 2,
                last_cycle: Some(Duration::from_secs(2)),
                pauses: vec![Duration::from_millis(3), Duration::from_millis(1)],
                ..Pauses::default()
            },
            ..Snapshot::default()
        };
        let v: Value = serde_json::from_str(&snap.to_json()).unwrap();
        assert_eq!(v["uptime"], 2.003);
        assert_eq!(v["processors"], 2);
        assert_eq!(v["procs"][0]["runqueue"], 3);
        assert_eq!(v["procs"][0]["io_sources"], 2);
        assert_eq!(v["procs"][0]["counters"]["polls"], 9);
        assert_eq!(v["totals"]["steals"], 0);
        assert_eq!(v["histograms"]["poll_duration"]["p99"], 0.0);
        assert_eq!(v["pauses"]["pauses"], serde_json::json!([0.003, 0.001]));
        assert_eq!(v["pauses"]["last_cycle"], 2.0);
        assert_eq!(v["stats_enabled"], false);

        let p: Value = serde_json::from_str(&snap.pauses.to_json()).unwrap();
        assert_eq!(p["num_cycles"], 2);
        assert_eq!(p["quantiles"]["count"], 0);

        let site = Location::caller();
        let dump = TaskDump {
            uptime: Duration::from_secs(1),
            groups: vec![TaskGroup {
                spawned_at: site,
                suspended_at: Some(site),
                wait_op: Some(WaitOp::Sleep),
                tasks: vec![],
            }],
        };
        let d: Value = serde_json::from_str(&dump.to_json()).unwrap();
        assert_eq!(d["groups"][0]["wait_op"], "sleep");
        assert_eq!(d["groups"][0]["suspended_at"], site.to_string());
        assert_eq!(d["groups"][0]["tasks"], serde_json::json!([]));
    }
}
