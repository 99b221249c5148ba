//! The experiment's pictures, drawn with plotters' SVG backend: `throughput.svg`
//! (maximum requests/s and p99 at 80% of the smallest maximum against the processor count,
//! one line per runtime) and `costs.svg` (per-request CPU time, context switches and goro's
//! cross-processor wakes, parks, unparks, stolen tasks, poll steals and I/O events per
//! poller poll against the processor count).

use std::io;
use std::path::Path;

use plotters::prelude::*;

use super::{Costs, Experiment, Point, Side};

const COLORS: [RGBColor; 3] = [
    RGBColor(200, 40, 40),
    RGBColor(40, 90, 200),
    RGBColor(30, 150, 60),
];

fn color(side: Side) -> RGBColor {
    match side {
        Side::Goro => COLORS[0],
        Side::Tokio => COLORS[1],
        Side::Go => COLORS[2],
    }
}

/// One small chart: `value` of each runtime's points against the processor count.
fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    points: &[Point],
    value: impl Fn(&Point) -> Option<f64>,
) -> Result<(), String> {
    let max_procs = points.iter().map(|p| p.procs).max().unwrap_or(1) as f64;
    let top = points
        .iter()
        .filter_map(&value)
        .fold(0.0f64, f64::max)
        .max(1e-9)
        * 1.15;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 16))
        .margin(8)
        .x_label_area_size(28)
        .y_label_area_size(60)
        .build_cartesian_2d(0.5..max_procs + 0.5, 0.0..top)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("processors")
        .x_labels(points.iter().map(|p| p.procs).max().unwrap_or(1).min(16))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .draw()
        .map_err(|e| e.to_string())?;
    for side in [Side::Goro, Side::Tokio, Side::Go] {
        let series: Vec<(f64, f64)> = points
            .iter()
            .filter(|p| p.side == side)
            .filter_map(|p| Some((p.procs as f64, value(p)?)))
            .collect();
        if series.is_empty() {
            continue;
        }
        let c = color(side);
        chart
            .draw_series(LineSeries::new(series.clone(), c.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(side.name())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2)));
        chart
            .draw_series(series.into_iter().map(|xy| Circle::new(xy, 4, c.filled())))
            .map_err(|e| e.to_string())?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// A panel's title and the figure it plots.
type Panel<'a> = (&'a str, &'a dyn Fn(&Point) -> Option<f64>);

fn draw(
    path: &Path,
    size: (u32, u32),
    grid: (usize, usize),
    title: &str,
    panels: &[Panel],
    points: &[Point],
) -> io::Result<()> {
    let root = SVGBackend::new(path, size).into_drawing_area();
    let result = (|| -> Result<(), String> {
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let root = root
            .titled(title, ("sans-serif", 20))
            .map_err(|e| e.to_string())?;
        for (area, (name, value)) in root.split_evenly(grid).iter().zip(panels) {
            panel(area, name, points, value)?;
        }
        root.present().map_err(|e| e.to_string())
    })();
    result.map_err(|e| io::Error::other(format!("drawing {}: {e}", path.display())))
}

/// `throughput.svg`.
pub fn throughput(e: &Experiment, path: &Path) -> io::Result<()> {
    let p99 = |p: &Point| p.latency.last().map(|l| l.p99_us);
    let rate = e
        .points
        .iter()
        .find_map(|p| p.latency.last())
        .map_or(0.0, |l| l.rate);
    let title = format!(
        "procs-effect, {} workload: throughput and latency",
        e.workload.name()
    );
    let p99_title = format!("p99 us at {rate:.0} req/s (80% of the smallest max)");
    draw(
        path,
        (1000, 420),
        (1, 2),
        &title,
        &[
            ("max requests/s (closed loop)", &|p| Some(p.max_rps)),
            (&p99_title, &p99),
        ],
        &e.points,
    )
}

/// `costs.svg`.
pub fn costs(e: &Experiment, path: &Path) -> io::Result<()> {
    let goro = |f: fn(&super::GoroCosts) -> f64| move |p: &Point| p.costs.goro.map(|g| f(&g));
    let cpu = |p: &Point| Some(Costs::cpu_us(&p.costs));
    let switches = |p: &Point| Some(Costs::switches(&p.costs));
    let parks = goro(|g| g.parks);
    let unparks = goro(|g| g.unparks);
    let stolen = goro(|g| g.steals);
    let cross = goro(|g| g.cross_wakes);
    let poll_steals = goro(|g| g.poll_steals);
    let ev = |p: &Point| p.costs.goro.and_then(|g| g.events_per_netpoll);
    draw(
        path,
        (1600, 720),
        (2, 4),
        &format!(
            "procs-effect, {} workload: cost per request (server side)",
            e.workload.name()
        ),
        &[
            ("CPU us per request", &cpu),
            ("context switches per request", &switches),
            ("goro cross-processor wakes per request", &cross),
            ("goro parks per request", &parks),
            ("goro unparks per request", &unparks),
            ("goro stolen tasks per request", &stolen),
            ("goro poll steals per request", &poll_steals),
            ("goro I/O events per poller poll", &ev),
        ],
        &e.points,
    )
}
