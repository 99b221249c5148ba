//! Plain-words explanation of an experiment, computed from its figures: for each runtime,
//! what each request cost more (or less) at n processors than at the fewest, whether the
//! single-processor effect (more requests per second with fewer processors) appeared, and
//! which figures account for it or, if it did not appear, which did not move.

use super::{Costs, Point, Side};

/// A relative change below this is "did not move".
pub const STILL: f64 = 0.10;

/// One per-request cost, named for sentences.
struct Figure {
    name: &'static str,
    unit: &'static str,
    read: fn(&Costs) -> Option<f64>,
}

const FIGURES: [Figure; 8] = [
    Figure {
        name: "CPU time",
        unit: " us",
        read: |c| Some(c.cpu_us()),
    },
    Figure {
        name: "context switches",
        unit: "",
        read: |c| Some(c.switches()),
    },
    Figure {
        name: "cross-processor wakes",
        unit: "",
        read: |c| Some(c.goro?.cross_wakes),
    },
    Figure {
        name: "parks",
        unit: "",
        read: |c| Some(c.goro?.parks),
    },
    Figure {
        name: "unparks",
        unit: "",
        read: |c| Some(c.goro?.unparks),
    },
    Figure {
        name: "stolen tasks",
        unit: "",
        read: |c| Some(c.goro?.steals),
    },
    Figure {
        name: "poll steals",
        unit: "",
        read: |c| Some(c.goro?.poll_steals),
    },
    Figure {
        name: "task polls",
        unit: "",
        read: |c| Some(c.goro?.polls),
    },
];

/// The explanation, one paragraph per runtime and one line per processor count compared.
pub fn explain(points: &[Point]) -> Vec<String> {
    let mut out = Vec::new();
    for side in [Side::Goro, Side::Tokio, Side::Go] {
        let mine: Vec<&Point> = points.iter().filter(|p| p.side == side).collect();
        let Some(base) = mine.iter().min_by_key(|p| p.procs) else {
            continue;
        };
        for p in mine.iter().filter(|p| p.procs > base.procs) {
            out.push(costs_sentence(base, p));
            out.push(effect_sentence(base, p));
        }
    }
    out.extend(versus(points));
    out.extend(points.iter().filter_map(saturation));
    if out.is_empty() {
        out.push("Only one processor count was measured: nothing to compare.".into());
    }
    out
}

fn rel(a: f64, b: f64) -> Option<f64> {
    (a > 0.0).then(|| (b - a) / a)
}

fn pct(x: f64) -> String {
    format!("{:+.0}%", x * 100.0)
}

/// What each request cost more at `p` than at `base`.
fn costs_sentence(base: &Point, p: &Point) -> String {
    let (b, c) = (&base.costs, &p.costs);
    let mut parts = vec![format!(
        "{:.2} more context switches ({:.2} -> {:.2})",
        c.switches() - b.switches(),
        b.switches(),
        c.switches()
    )];
    if let (Some(bg), Some(cg)) = (b.goro, c.goro) {
        parts.push(format!(
            "{:.3} more cross-processor wakes ({:.3} -> {:.3})",
            cg.cross_wakes - bg.cross_wakes,
            bg.cross_wakes,
            cg.cross_wakes
        ));
        for (name, x, y) in [
            ("parks", bg.parks, cg.parks),
            ("unparks", bg.unparks, cg.unparks),
            ("stolen tasks", bg.steals, cg.steals),
            ("poll steals", bg.poll_steals, cg.poll_steals),
        ] {
            if (y - x).abs() >= 0.005 {
                parts.push(format!("{:+.3} {name}", y - x));
            }
        }
        if let (Some(x), Some(y)) = (bg.events_per_netpoll, cg.events_per_netpoll) {
            parts.push(format!("{x:.1} -> {y:.1} I/O events per poller poll"));
        }
    }
    let cpu = match rel(b.cpu_us(), c.cpu_us()) {
        Some(r) => {
            let (du, ds) = (c.user_us - b.user_us, c.system_us - b.system_us);
            let where_ = if ds.abs() > du.abs() {
                "mostly in the kernel"
            } else {
                "mostly in user space"
            };
            format!(
                "CPU per request {} ({:.1} -> {:.1} us), {where_} (user {du:+.1} us, system {ds:+.1} us)",
                pct(r),
                b.cpu_us(),
                c.cpu_us()
            )
        }
        None => "no CPU time was measured at the base count".into(),
    };
    format!(
        "{}: each request at {} processors cost {} than at {}; {cpu}.",
        p.side.name(),
        p.procs,
        parts.join(", "),
        base.procs
    )
}

/// Whether fewer processors served more, and which figures account for it (or did not move).
fn effect_sentence(base: &Point, p: &Point) -> String {
    let Some(r) = rel(p.max_rps, base.max_rps) else {
        return format!(
            "{}: nothing was served at {} processors.",
            p.side.name(),
            p.procs
        );
    };
    let moved: Vec<(&str, String)> = FIGURES
        .iter()
        .filter_map(|f| {
            let (x, y) = ((f.read)(&base.costs)?, (f.read)(&p.costs)?);
            let change = match rel(x, y) {
                Some(c) => c,
                None if y > 0.0 => f64::INFINITY,
                None => 0.0,
            };
            let text = format!("{} per request {x:.2}{u} -> {y:.2}{u}", f.name, u = f.unit);
            Some((
                if change.abs() >= STILL {
                    "moved"
                } else {
                    "still"
                },
                text,
            ))
        })
        .collect();
    let list = |kind: &str| -> Vec<String> {
        moved
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, t)| t.clone())
            .collect()
    };
    let (grew, still) = (list("moved"), list("still"));
    let head = format!(
        "{}: {} processor(s) served {:.0} req/s, {} processors {:.0} req/s",
        p.side.name(),
        base.procs,
        base.max_rps,
        p.procs,
        p.max_rps
    );
    if r >= 0.0 {
        let why = if grew.is_empty() {
            "but no per-request cost moved by 10% or more".to_string()
        } else {
            format!("the costs that moved: {}", grew.join("; "))
        };
        format!(
            "{head}: the effect appeared ({} more at {}); {why}.",
            pct(r),
            base.procs
        )
    } else {
        let why = if still.is_empty() {
            "every cost moved, but the added processors' capacity outweighed it".to_string()
        } else {
            format!("figures that did not move: {}", still.join("; "))
        };
        format!(
            "{head}: the effect did not appear on this machine ({} processors served {} more); {why}.",
            p.procs,
            pct(-r / (1.0 + r))
        )
    }
}

/// A note when a server kept well under its CPUs busy: then something else (the generator,
/// other work on the machine) limited the throughput, not the runtime.
fn saturation(p: &Point) -> Option<String> {
    let busy = p.costs.cpu_us() * p.max_rps / 1e6;
    let cpus = p.server_cpus.as_deref().map_or(p.procs, cpu_count);
    (busy < 0.7 * cpus as f64).then(|| {
        let culprit = if p.generator_busy > 0.8 {
            format!("the load generator was: it kept {:.2} of its CPU busy", p.generator_busy)
        } else {
            format!(
                "the load generator kept only {:.2} of its CPU busy, so other work on the machine or \
                 the CPUs' sharing was",
                p.generator_busy
            )
        };
        format!(
            "At {} processor(s) the {} server kept {busy:.2} of its {cpus} CPU(s) busy: it was not the \
             bottleneck ({culprit}), so that throughput says more about the set-up than about the runtime.",
            p.procs,
            p.side.name()
        )
    })
}

/// CPUs in a list such as `1`, `0-1`, `1-3`.
fn cpu_count(list: &str) -> usize {
    list.split(',')
        .map(|part| match part.split_once('-') {
            Some((a, b)) => {
                b.parse::<usize>()
                    .unwrap_or(0)
                    .saturating_sub(a.parse().unwrap_or(0))
                    + 1
            }
            None => 1,
        })
        .sum()
}

/// goro against the other runtimes at each processor count.
fn versus(points: &[Point]) -> Vec<String> {
    let mut out = Vec::new();
    for g in points.iter().filter(|p| p.side == Side::Goro) {
        for o in points
            .iter()
            .filter(|o| o.side != Side::Goro && o.procs == g.procs)
        {
            if let Some(r) = rel(o.max_rps, g.max_rps) {
                out.push(format!(
                    "At {} processor(s) goro served {} requests/s against {}'s ({:.0} vs {:.0}); CPU per request {:.1} vs {:.1} us.",
                    g.procs,
                    pct(r),
                    o.side.name(),
                    g.max_rps,
                    o.max_rps,
                    g.costs.cpu_us(),
                    o.costs.cpu_us()
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::GoroCosts;
    use super::*;

    fn point(procs: usize, rps: f64, cpu: f64, cs: f64, parks: f64) -> Point {
        Point {
            side: Side::Goro,
            procs,
            server_cpus: None,
            max_rps: rps,
            generator_busy: 0.5,
            requests: 1000,
            errors: 0,
            costs: Costs {
                user_us: cpu * 0.4,
                system_us: cpu * 0.6,
                voluntary_cs: cs,
                involuntary_cs: 0.0,
                goro: Some(GoroCosts {
                    polls: 1.0,
                    cross_wakes: if procs == 1 { 0.0 } else { parks * 2.0 },
                    parks,
                    unparks: parks,
                    events_per_netpoll: Some(4.0),
                    ..GoroCosts::default()
                }),
                perf: None,
            },
            latency: vec![],
        }
    }

    #[test]
    fn the_effect_appears_and_its_costs_are_named() {
        let text = explain(&[
            point(1, 180_000.0, 5.0, 0.1, 0.01),
            point(2, 150_000.0, 6.0, 0.9, 0.3),
        ]);
        let all = text.join("\n");
        assert!(
            all.contains("the effect appeared (+20% more at 1)"),
            "{all}"
        );
        assert!(
            all.contains("0.80 more context switches (0.10 -> 0.90)"),
            "{all}"
        );
        assert!(
            all.contains("CPU per request +20% (5.0 -> 6.0 us), mostly in the kernel"),
            "{all}"
        );
        assert!(all.contains("the costs that moved: CPU time"), "{all}");
        assert!(all.contains("parks per request 0.01 -> 0.30"), "{all}");
        assert!(
            all.contains("0.600 more cross-processor wakes (0.000 -> 0.600)"),
            "{all}"
        );
        assert!(
            all.contains("cross-processor wakes per request 0.00 -> 0.60"),
            "{all}"
        );
    }

    #[test]
    fn when_it_does_not_appear_the_still_figures_are_named() {
        let text = explain(&[
            point(1, 100_000.0, 5.0, 0.5, 0.1),
            point(2, 190_000.0, 5.1, 0.52, 0.1),
        ]);
        let all = text.join("\n");
        assert!(
            all.contains(
                "the effect did not appear on this machine (2 processors served +90% more)"
            ),
            "{all}"
        );
        assert!(all.contains("figures that did not move: CPU time per request 5.00 us -> 5.10 us; context switches per request 0.50 -> 0.52"), "{all}");
        let other = explain(&[
            point(1, 180_000.0, 5.0, 0.1, 0.01),
            point(2, 150_000.0, 6.0, 0.9, 0.3),
        ]);
        assert_ne!(text, other, "different figures, different words");
    }

    #[test]
    fn an_unsaturated_server_is_called_out() {
        // 5 us per request at 180 000 req/s = 0.9 CPU: saturated. At 20 000 req/s: 0.1.
        let busy = explain(&[point(1, 180_000.0, 5.0, 0.1, 0.01)]).join("\n");
        assert!(!busy.contains("was not the bottleneck"), "{busy}");
        let idle = explain(&[point(1, 20_000.0, 5.0, 0.1, 0.01)]).join("\n");
        assert!(idle.contains("kept 0.10 of its 1 CPU(s) busy"), "{idle}");
        assert!(idle.contains("other work on the machine"), "{idle}");
        let mut p = point(1, 20_000.0, 5.0, 0.1, 0.01);
        p.generator_busy = 0.97;
        let gen = explain(&[p]).join("\n");
        assert!(
            gen.contains("the load generator was: it kept 0.97 of its CPU busy"),
            "{gen}"
        );
        assert_eq!(cpu_count("0-1"), 2);
        assert_eq!(cpu_count("1,3-5"), 4);
    }

    #[test]
    fn against_another_runtime() {
        let mut tokio = point(1, 200_000.0, 4.0, 0.1, 0.0);
        tokio.side = Side::Tokio;
        tokio.costs.goro = None;
        let all = explain(&[point(1, 180_000.0, 5.0, 0.1, 0.01), tokio]).join("\n");
        assert!(
            all.contains("At 1 processor(s) goro served -10% requests/s against tokio's"),
            "{all}"
        );
    }
}
