//! Test data shared by the format tests: a small but complete [`Snapshot`].

use crate::counters::CounterSnapshot;
use crate::report::{Histograms, Pauses, ProcSnapshot, Quantiles, SiteStats, Snapshot, TaskCounts};
use std::panic::Location;
use std::time::Duration;

/// Two processors (P0 busy with 3 queued and 100 polls, P1 idle with 101 polls and 5
/// steals), 45 live tasks of 1000, one site with 40 live, polls of 1..=100 µs, two pauses
/// (2 ms newest, then 50 µs), one stall alarm.
pub(crate) fn snapshot() -> Snapshot {
    let procs: Vec<ProcSnapshot> = (0..2)
        .map(|index| ProcSnapshot {
            index,
            runqueue: 3 * (1 - index),
            idle: index == 1,
            io_sources: 0,
            counters: CounterSnapshot {
                polls: 100 + index as u64,
                steals: 5 * index as u64,
                ..CounterSnapshot::default()
            },
        })
        .collect();
    let mut totals = CounterSnapshot::default();
    for p in &procs {
        totals.merge(&p.counters);
    }
    let polls: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
    let pauses = vec![Duration::from_millis(2), Duration::from_micros(50)];
    Snapshot {
        uptime: Duration::from_millis(2003),
        processors: 2,
        idle_processors: 1,
        spinning: 0,
        threads: 5,
        idle_threads: 2,
        injector: 4,
        procs,
        totals,
        tasks: TaskCounts {
            live: 45,
            spawned: 1000,
            completed: 955,
            orphaned: 2,
            reclaimed: 1,
            deadlocked: 2,
        },
        sites: vec![SiteStats {
            spawned_at: Location::caller(),
            spawned: 1000,
            completed: 960,
            live: 40,
            lifetime: Quantiles::from_durations(&[Duration::from_millis(1)]),
        }],
        histograms: Histograms {
            poll_duration: Quantiles::from_durations(&polls),
            ..Histograms::default()
        },
        pauses: Pauses {
            num_cycles: 2,
            last_cycle: Some(Duration::from_secs(2)),
            pause_total: Duration::from_micros(2050),
            quantiles: Quantiles::from_durations(&pauses),
            pauses,
            stall_alarms: 1,
            baseline: Duration::from_micros(40),
        },
        stats_enabled: true,
    }
}
