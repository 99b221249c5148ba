//! The process's resident memory and thread count, read from `/proc/self/status` once a
//! second by a thread of its own, and the check that both stay flat after the warm-up.
//!
//! Flat means: the mean RSS of the last third of the samples after the warm-up is at most
//! 10% + 4 MiB above the mean of the first third (a leak of a few bytes per task, over
//! millions of tasks, grows far more than that), and the highest thread count of the second
//! half of the samples after the warm-up is at most 2 above that of the first half. (The
//! blocking pool and the spare machines start threads on demand, and retire the ones they
//! did not need during a keep-alive window (`sched/src/low_water.rs`), so the count follows
//! the peak demand of the last 10 s: it wanders by a few threads, up and down. A thread
//! leaked per stuck poll climbs all the way: with one injected, a 30 s soak went from 7 to
//! 126 threads and failed "at most 84 in the first half, 126 in the second".)

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// Time since sampling started.
    pub at: Duration,
    /// Resident set size, KiB.
    pub rss_kb: u64,
    /// Threads of the process.
    pub threads: u64,
}

/// Reads `VmRSS` (kB) and `Threads` from `/proc/self/status`.
pub fn read() -> io::Result<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|value| value.parse().ok())
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("no {name} in /proc/self/status"),
                )
            })
    };
    Ok((field("VmRSS:")?, field("Threads:")?))
}

/// A thread taking a [`Sample`] every period until [`Sampler::finish`].
pub struct Sampler {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<io::Result<Vec<Sample>>>,
}

impl Sampler {
    /// Starts sampling now, then every `period`.
    pub fn start(period: Duration) -> io::Result<Sampler> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("soak-sampler".into())
            .spawn(move || {
                let started = Instant::now();
                let mut samples = Vec::new();
                let mut next = started;
                while !flag.load(Ordering::Relaxed) {
                    let (rss_kb, threads) = read()?;
                    samples.push(Sample {
                        at: started.elapsed(),
                        rss_kb,
                        threads,
                    });
                    next += period;
                    while !flag.load(Ordering::Relaxed) && Instant::now() < next {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                }
                Ok(samples)
            })?;
        Ok(Sampler { stop, thread })
    }

    /// Stops sampling and returns the samples.
    pub fn finish(self) -> io::Result<Vec<Sample>> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .join()
            .map_err(|_| io::Error::other("the sampler thread panicked"))?
    }
}

/// The fewest samples after the warm-up that the flatness check needs.
pub const MIN_SAMPLES: usize = 6;

/// Why the samples after `warmup` are not flat (empty if they are); `None` if there are
/// too few samples after the warm-up to tell.
pub fn check_flat(samples: &[Sample], warmup: Duration) -> Option<Vec<String>> {
    let after: Vec<Sample> = samples.iter().filter(|s| s.at >= warmup).copied().collect();
    if after.len() < MIN_SAMPLES || warmup.is_zero() {
        return None;
    }
    let mut problems = Vec::new();
    let third = after.len() / 3;
    let mean = |s: &[Sample]| s.iter().map(|s| s.rss_kb).sum::<u64>() / s.len() as u64;
    let (first, last) = (mean(&after[..third]), mean(&after[after.len() - third..]));
    if last > first + first / 10 + 4096 {
        problems.push(format!(
            "RSS grew after the warm-up: {first} kB on average in its first third, {last} kB in \
             its last"
        ));
    }
    let half = after.len() / 2;
    let max_threads = |s: &[Sample]| s.iter().map(|s| s.threads).max().unwrap_or(0);
    let (early, late) = (max_threads(&after[..half]), max_threads(&after[half..]));
    if late > early + 2 {
        problems.push(format!(
            "threads grew after the warm-up: at most {early} in the first half, {late} in the \
             second"
        ));
    }
    Some(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(rss: &[u64], threads: &[u64]) -> Vec<Sample> {
        (0u64..)
            .zip(rss.iter().zip(threads))
            .map(|(i, (&rss_kb, &threads))| Sample {
                at: Duration::from_secs(i),
                rss_kb,
                threads,
            })
            .collect()
    }

    #[test]
    fn flat_series_pass_and_growth_fails() {
        let warmup = Duration::from_secs(2);
        let flat = series(
            &[
                5_000, 30_000, 31_000, 30_500, 31_200, 30_900, 31_100, 30_800,
            ],
            &[3, 9, 8, 9, 9, 8, 9, 9],
        );
        assert_eq!(check_flat(&flat, warmup), Some(vec![]));
        let leaking = series(
            &[
                5_000, 30_000, 31_000, 40_000, 50_000, 60_000, 70_000, 80_000,
            ],
            &[3, 9, 8, 9, 9, 8, 9, 9],
        );
        let problems = check_flat(&leaking, warmup).unwrap();
        assert!(problems[0].contains("RSS grew"), "{problems:?}");
        let threads = series(&[30_000; 8], &[3, 9, 9, 10, 11, 14, 16, 18]);
        let problems = check_flat(&threads, warmup).unwrap();
        assert!(problems[0].contains("threads grew"), "{problems:?}");
        assert_eq!(check_flat(&flat[..4], warmup), None);
    }

    #[test]
    fn reads_this_process() {
        let (rss, threads) = read().unwrap();
        assert!(rss > 0 && threads >= 1);
    }
}
