//! The experiment as tables for people, and as files: `procs-effect.json` (every figure)
//! next to the two SVGs of [`super::svg`].

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::{Experiment, Point};

/// The experiment as text: placement, a throughput and latency table, a costs table (both
/// grouped by processor count), then the explanation.
pub fn table(e: &Experiment) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "procs-effect: workload {}, {} connections, {} cores{}",
        e.workload.name(),
        super::CONNECTIONS,
        e.cores,
        if e.quick { ", quick" } else { "" }
    );
    let _ = match e.loadgen_cpu {
        Some(cpu) => writeln!(
            t,
            "goro-loadgen pinned to CPU {cpu}; servers pinned to CPUs 1..=n (all CPUs once n reaches the core count)"
        ),
        None => writeln!(t, "NOT pinned: fewer than 2 cores"),
    };
    let _ = writeln!(
        t,
        "hardware counters: {}",
        e.perf_note
            .as_deref()
            .unwrap_or("perf stat (cycles, instructions, cache misses per request)")
    );
    if let Some(b) = e.busy_before {
        let _ = writeln!(
            t,
            "CPUs busy with other work just before the run: {:.0}%{}",
            b * 100.0,
            if b > 0.1 {
                " (the figures are noisy)"
            } else {
                ""
            }
        );
    }
    for note in &e.notes {
        let _ = writeln!(t, "note: {note}");
    }
    let fractions: Vec<String> = super::FRACTIONS
        .iter()
        .map(|f| format!("p50/p99 us @{:.0}%", f * 100.0))
        .collect();
    let _ = writeln!(
        t,
        "\n{:<6} {:<7} {:<6} {:>11} {:>8} {:>21} {:>21} {:>7}",
        "procs", "runtime", "cpus", "max req/s", "gen cpu", fractions[0], fractions[1], "errors"
    );
    for p in &e.points {
        let lat: Vec<String> = (0..super::FRACTIONS.len())
            .map(|i| {
                p.latency
                    .get(i)
                    .map_or("-".into(), |l| format!("{:.0}/{:.0}", l.p50_us, l.p99_us))
            })
            .collect();
        let errors = p.errors + p.latency.iter().map(|l| l.errors).sum::<u64>();
        let _ = writeln!(
            t,
            "{:<6} {:<7} {:<6} {:>11.0} {:>7.0}% {:>21} {:>21} {:>7}",
            p.procs,
            p.side.name(),
            p.server_cpus.as_deref().unwrap_or("-"),
            p.max_rps,
            p.generator_busy * 100.0,
            lat[0],
            lat[1],
            errors
        );
    }
    if let Some(p) = e.points.iter().find(|p| !p.latency.is_empty()) {
        let rates: Vec<String> = p.latency.iter().map(|l| format!("{:.0}", l.rate)).collect();
        let _ = writeln!(
            t,
            "(fixed offered rates: {} req/s, from the smallest max)",
            rates.join(" and ")
        );
    }
    costs_table(&mut t, &e.points);
    let _ = writeln!(t, "\nWhat the figures say:");
    for line in &e.explanation {
        let _ = writeln!(t, "- {line}");
    }
    t
}

fn costs_table(t: &mut String, points: &[Point]) {
    let _ = writeln!(
        t,
        "\nper request (server side): CPU us user/system, context switches voluntary/involuntary; goro counters\n\
         {:<6} {:<7} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>8} {:>8}",
        "procs", "runtime", "user", "sys", "vol", "invol", "polls", "cross", "stolen", "p.stl", "parks", "unprk", "hoffs", "ev/poll", "instr"
    );
    let f =
        |x: Option<f64>, digits: usize| x.map_or("n/a".to_string(), |v| format!("{v:.digits$}"));
    for p in points {
        let c = &p.costs;
        let g = c.goro;
        let _ = writeln!(
            t,
            "{:<6} {:<7} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>8} {:>8}",
            p.procs,
            p.side.name(),
            f(Some(c.user_us), 2),
            f(Some(c.system_us), 2),
            f(Some(c.voluntary_cs), 3),
            f(Some(c.involuntary_cs), 3),
            f(g.map(|g| g.polls), 2),
            f(g.map(|g| g.cross_wakes), 3),
            f(g.map(|g| g.steals), 3),
            f(g.map(|g| g.poll_steals), 3),
            f(g.map(|g| g.parks), 3),
            f(g.map(|g| g.unparks), 3),
            f(g.map(|g| g.handoffs), 4),
            f(g.and_then(|g| g.events_per_netpoll), 1),
            f(c.perf.map(|p| p.instructions), 0),
        );
    }
}

/// Writes `procs-effect.json`, `throughput.svg` and `costs.svg` into `dir` (created if
/// needed) and returns their paths.
pub fn write_outputs(e: &Experiment, dir: &Path) -> io::Result<Vec<PathBuf>> {
    fs::create_dir_all(dir)?;
    let json = dir.join("procs-effect.json");
    let text = serde_json::to_string_pretty(e).map_err(io::Error::other)?;
    fs::write(&json, text)?;
    let throughput = dir.join("throughput.svg");
    let costs = dir.join("costs.svg");
    super::svg::throughput(e, &throughput)?;
    super::svg::costs(e, &costs)?;
    Ok(vec![json, throughput, costs])
}
