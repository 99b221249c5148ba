//! Whether the soak's samples stay flat after the warm-up: live heap, RSS and threads.
//!
//! Every round of the soak settles its tasks, so its live set is bounded; what it holds
//! at a given second depends only on which rounds are in flight. A leak, even of a few
//! bytes per task, grows with the number of tasks run, which is millions a minute.
//!
//! * **Live heap** (exact, from the counting allocator): the median of the last third of
//!   the samples after the warm-up may exceed the median of the first third by at most
//!   [`HEAP_SLACK`]. Medians, because one sample may land in the middle of a round. The
//!   heap also follows the thread count (each machine and blocking thread holds some):
//!   60 s runs beside other builds moved between 600 and 790 KiB at 1 processor (medians
//!   +96 KiB) and 740 and 1090 KiB at 2 (+158 KiB). A leak of 16 bytes per 100 churn
//!   tasks, injected once, failed a 40 s soak with medians of 1.6 MB and 2.8 MB, while
//!   its RSS passed.
//! * **RSS** (what an operator sees, noisy): the mean of the last third at most 10% +
//!   4 MiB above the mean of the first. RSS moves by whole pages and thread stacks and
//!   keeps what the allocator keeps, so it checks only gross growth.
//! * **Threads**: the most threads seen in the second half after the warm-up at most
//!   2 plus a quarter above the most in the first half ([`thread_limit`]). The blocking
//!   pool and the spare machines start threads on demand and retire what a keep-alive
//!   window did not need (`sched/src/low_water.rs`), so the count follows the peak demand
//!   of the last 10 s, and that demand includes threads slow to get back to idle when the
//!   machine is busy (a 60 s soak at 2 processors beside other builds: blocking threads 6
//!   to 11 and back). A thread leaked per stuck poll climbs all the way (one injected: 7
//!   to 126 threads in a 30 s soak).

use super::sampler::Sample;
use std::time::Duration;

/// The fewest samples after the warm-up that the check needs.
pub const MIN_SAMPLES: usize = 6;
/// How much the live heap's median may grow from the first third to the last, in bytes.
pub const HEAP_SLACK: u64 = 512 * 1024;
/// The most threads the second half after the warm-up may peak at, when the first
/// peaked at `early`.
pub fn thread_limit(early: u64) -> u64 {
    early + 2 + early / 4
}

/// Why the samples after `warmup` are not flat (empty if they are); `None` if there are
/// too few samples after the warm-up to tell.
pub fn check_flat(samples: &[Sample], warmup: Duration) -> Option<Vec<String>> {
    let after: Vec<Sample> = samples.iter().filter(|s| s.at >= warmup).copied().collect();
    if after.len() < MIN_SAMPLES || warmup.is_zero() {
        return None;
    }
    let third = after.len() / 3;
    let (first, last) = (&after[..third], &after[after.len() - third..]);
    let half = after.len() / 2;
    let problems = [
        heap_grew(first, last),
        rss_grew(first, last),
        threads_grew(&after[..half], &after[half..]),
    ];
    Some(problems.into_iter().flatten().collect())
}

fn heap_grew(first: &[Sample], last: &[Sample]) -> Option<String> {
    let median = |s: &[Sample]| {
        let mut bytes: Vec<u64> = s.iter().filter_map(|s| s.heap_bytes).collect();
        bytes.sort_unstable();
        bytes.get(bytes.len() / 2).copied()
    };
    let (first, last) = (median(first)?, median(last)?);
    (last > first + HEAP_SLACK).then(|| {
        format!(
            "the live heap grew after the warm-up: median {first} bytes in its first third, \
             {last} bytes in its last (more than {HEAP_SLACK} bytes of growth)"
        )
    })
}

fn rss_grew(first: &[Sample], last: &[Sample]) -> Option<String> {
    let mean = |s: &[Sample]| s.iter().map(|s| s.rss_kb).sum::<u64>() / s.len() as u64;
    let (first, last) = (mean(first), mean(last));
    (last > first + first / 10 + 4096).then(|| {
        format!(
            "RSS grew after the warm-up: {first} kB on average in its first third, {last} kB in \
             its last"
        )
    })
}

fn threads_grew(early: &[Sample], late: &[Sample]) -> Option<String> {
    let peak = |s: &[Sample]| s.iter().map(|s| s.threads.total()).max().unwrap_or(0);
    let (early, late) = (peak(early), peak(late));
    (late > thread_limit(early)).then(|| {
        format!(
            "threads grew after the warm-up: at most {early} in the first half, {late} in the \
             second"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::super::census::{ThreadCounts, ThreadKind};
    use super::*;

    /// One sample a second: RSS (kB), live heap (KiB) and machine threads.
    fn series(rss: &[u64], heap_kib: &[u64], threads: &[u64]) -> Vec<Sample> {
        (0u64..)
            .zip(rss.iter().zip(heap_kib).zip(threads))
            .map(|(i, ((&rss_kb, &heap), &machines))| Sample {
                at: Duration::from_secs(i),
                rss_kb,
                heap_bytes: Some(heap * 1024),
                threads: ThreadCounts::from_iter([
                    (ThreadKind::Machine, machines),
                    (ThreadKind::Monitor, 1),
                ]),
            })
            .collect()
    }

    const WARMUP: Duration = Duration::from_secs(2);
    const RSS: [u64; 8] = [
        5_000, 30_000, 31_000, 30_500, 31_200, 30_900, 31_100, 30_800,
    ];
    const HEAP: [u64; 8] = [100, 900, 1_000, 950, 1_020, 980, 1_010, 990];
    const THREADS: [u64; 8] = [3, 9, 8, 9, 9, 8, 9, 9];

    #[test]
    fn flat_series_pass_and_too_few_samples_are_not_judged() {
        let flat = series(&RSS, &HEAP, &THREADS);
        assert_eq!(check_flat(&flat, WARMUP), Some(vec![]));
        assert_eq!(check_flat(&flat[..4], WARMUP), None);
        assert_eq!(check_flat(&flat, Duration::ZERO), None);
    }

    #[test]
    fn a_growing_heap_fails_even_when_rss_stays_flat() {
        // 300 KiB a second: within RSS's slack, beyond the heap's.
        let heap = [100, 900, 1_200, 1_500, 1_800, 2_100, 2_400, 2_700];
        let problems = check_flat(&series(&RSS, &heap, &THREADS), WARMUP).unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("live heap grew"), "{problems:?}");
        // Just within the slack passes.
        let heap = [100, 900, 1_000, 1_000, 1_300, 1_400, 1_500, 1_500];
        assert_eq!(
            check_flat(&series(&RSS, &heap, &THREADS), WARMUP),
            Some(vec![])
        );
    }

    #[test]
    fn growing_rss_and_threads_fail() {
        let rss = [
            5_000, 30_000, 31_000, 40_000, 50_000, 60_000, 70_000, 80_000,
        ];
        let problems = check_flat(&series(&rss, &HEAP, &THREADS), WARMUP).unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("RSS grew"), "{problems:?}");
        let threads = [3, 9, 9, 10, 11, 14, 16, 17];
        assert_eq!(thread_limit(11), 15);
        let problems = check_flat(&series(&RSS, &HEAP, &threads), WARMUP).unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("threads grew"), "{problems:?}");
    }
}
