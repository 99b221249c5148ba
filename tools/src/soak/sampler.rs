//! A thread of its own that reads, once a period, the process's resident memory
//! (`/proc/self/status`), its live heap bytes (`heap`, when `goro-soak`'s counting
//! allocator is installed) and its threads by kind (`census`). The samples are judged by
//! `flatness`.

use super::census::{Census, ThreadCounts};
use super::heap;
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
    /// Bytes allocated and not freed, if the counting allocator is installed.
    pub heap_bytes: Option<u64>,
    /// Threads of the process, by kind.
    pub threads: ThreadCounts,
}

/// Reads `VmRSS` (kB) from `/proc/self/status`.
pub fn read_rss_kb() -> io::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|value| value.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no VmRSS in /proc/self/status"))
}

/// What a sampler saw: its samples, and how many distinct threads of each kind lived at
/// one of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Samples {
    /// The readings, one a period.
    pub series: Vec<Sample>,
    /// Distinct threads seen per kind over all the readings.
    pub distinct_threads: ThreadCounts,
}

/// A thread taking a [`Sample`] every period until [`Sampler::finish`].
pub struct Sampler {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<io::Result<Samples>>,
}

impl Sampler {
    /// Starts sampling now, then every `period`.
    pub fn start(period: Duration) -> io::Result<Sampler> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("soak-sampler".into())
            .spawn(move || sample_until(&flag, period))?;
        Ok(Sampler { stop, thread })
    }

    /// Stops sampling and returns the samples.
    pub fn finish(self) -> io::Result<Samples> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .join()
            .map_err(|_| io::Error::other("the sampler thread panicked"))?
    }
}

fn sample_until(stop: &AtomicBool, period: Duration) -> io::Result<Samples> {
    let started = Instant::now();
    let mut census = Census::default();
    let mut series = Vec::new();
    let mut next = started;
    while !stop.load(Ordering::Relaxed) {
        series.push(Sample {
            at: started.elapsed(),
            rss_kb: read_rss_kb()?,
            heap_bytes: heap::live_bytes(),
            threads: census.take()?,
        });
        next += period;
        while !stop.load(Ordering::Relaxed) && Instant::now() < next {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    Ok(Samples {
        series,
        distinct_threads: census.distinct(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_this_process() {
        assert!(read_rss_kb().unwrap() > 0);
        let sampler = Sampler::start(Duration::from_millis(20)).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let samples = sampler.finish().unwrap();
        assert!(!samples.series.is_empty());
        // The sampler itself is alive at every reading.
        let soak = super::super::census::ThreadKind::Soak;
        assert!(samples.series.iter().all(|s| s.threads.get(soak) >= 1));
        assert!(samples.distinct_threads.get(soak) >= 1);
    }
}
