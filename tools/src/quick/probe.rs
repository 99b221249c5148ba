//! What the machine is doing, from `/proc`, so a report can say whether it was quiet.

use std::thread;
use std::time::Duration;

/// The 1, 5 and 15 minute load averages from `/proc/loadavg`, if there is one.
pub fn loadavg() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let fields: Vec<&str> = text.split_whitespace().take(3).collect();
    (fields.len() == 3).then(|| fields.join(" "))
}

/// The share (0 to 1) of all CPUs' time spent not idle over the next `window`, from
/// `/proc/stat`; `None` where there is no such file.
pub fn cpu_busy(window: Duration) -> Option<f64> {
    fn sample() -> Option<(u64, u64)> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let fields: Vec<u64> = stat
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .take(8)
            .map(|f| f.parse().ok())
            .collect::<Option<_>>()?;
        // user nice system idle iowait irq softirq steal
        let idle = fields.get(3)? + fields.get(4)?;
        Some((fields.iter().sum(), idle))
    }
    let (t0, i0) = sample()?;
    thread::sleep(window);
    let (t1, i1) = sample()?;
    let total = t1.checked_sub(t0).filter(|&t| t > 0)?;
    let idle = i1.saturating_sub(i0).min(total);
    Some((total - idle) as f64 / total as f64)
}

/// The machine's core count as the process sees it.
pub fn available_cores() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}
