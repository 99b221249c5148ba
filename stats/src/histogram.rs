//! Latency histograms.
//!
//! A [`Histogram`] is an HDR histogram of nanosecond values with a fixed range (1 ns to
//! 1 hour) and 2 significant digits: about 36 KiB, constant-time recording, and quantiles
//! within 1% of the truth. A value above the range is recorded as the top of the range
//! (saturated) rather than dropped, so a pathological 2-hour poll still shows up as "at least
//! an hour" in `max`.
//!
//! Which events are timed is the scheduler's business (it samples; see its docs): this module
//! only keeps what it is fed. A processor records into its own [`SharedHistogram`] (a mutex
//! nobody else takes except a reader, so it is uncontended on the hot path), and a reader
//! merges every processor's histogram into one with [`SharedHistogram::add_to`] before
//! computing [`Quantiles`].
//!
//! [`Quantiles::from_durations`] computes exact quantiles of a short list (the recent pauses)
//! by sorting it; both paths use the nearest-rank definition, so they agree.

use crate::report::Quantiles;
use parking_lot::Mutex;
use std::time::Duration;

/// The largest value a histogram tells apart: one hour, in nanoseconds.
const HIGHEST: u64 = 3_600 * 1_000_000_000;
/// Significant digits kept per value.
const SIGFIG: u8 = 2;

/// An HDR histogram of durations in nanoseconds (1 ns ..= 1 h, 2 significant digits;
/// larger values saturate to 1 h).
///
/// ```
/// use goro_stats::Histogram;
/// let mut h = Histogram::new();
/// for us in 1..=100 {
///     h.record(us * 1_000);
/// }
/// let q = h.quantiles();
/// assert_eq!(q.count, 100);
/// assert!(q.p50.as_micros() >= 49 && q.p50.as_micros() <= 51);
/// ```
#[derive(Debug, Clone)]
pub struct Histogram {
    inner: hdrhistogram::Histogram<u64>,
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Histogram {
        let inner = hdrhistogram::Histogram::new_with_bounds(1, HIGHEST, SIGFIG)
            .expect("constant bounds are valid");
        Histogram { inner }
    }

    /// Records one value in nanoseconds; values over an hour count as an hour.
    #[inline]
    pub fn record(&mut self, nanos: u64) {
        self.inner.saturating_record(nanos);
    }

    /// Records a [`Duration`] (saturating like [`Histogram::record`]).
    #[inline]
    pub fn record_duration(&mut self, d: Duration) {
        self.record(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    }

    /// Adds every value of `other` to this histogram.
    pub fn add(&mut self, other: &Histogram) {
        // Both sides have the same bounds, so `add` cannot fail; should it ever, fall back
        // to re-recording value by value, saturating.
        if self.inner.add(&other.inner).is_err() {
            for v in other.inner.iter_recorded() {
                let value = v.value_iterated_to().min(HIGHEST);
                self.inner.saturating_record_n(value, v.count_at_value());
            }
        }
    }

    /// Forgets every value.
    pub fn clear(&mut self) {
        self.inner.reset();
    }

    /// How many values were recorded.
    pub fn len(&self) -> u64 {
        self.inner.len()
    }

    /// Whether no value was recorded.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Count, min, quartiles, p90/p95/p99, max and mean; all zero when empty.
    pub fn quantiles(&self) -> Quantiles {
        if self.is_empty() {
            return Quantiles::default();
        }
        let h = &self.inner;
        Quantiles::from_fn(
            h.len(),
            Duration::from_nanos(h.mean().round() as u64),
            |q: f64| match q {
                0.0 => Duration::from_nanos(h.min()),
                1.0 => Duration::from_nanos(h.max()),
                q => Duration::from_nanos(h.value_at_quantile(q)),
            },
        )
    }
}

impl Default for Histogram {
    fn default() -> Histogram {
        Histogram::new()
    }
}

/// A [`Histogram`] behind a mutex: one processor records into it, a reader merges it.
///
/// The lock is only ever contended when a reader takes a snapshot, so recording costs an
/// uncontended lock and unlock. The histogram (about 36 KiB) is allocated by the first
/// record, so the histograms of a processor that never records (most of them, in a runtime
/// of thousands of processors on a few cores) cost a word each.
#[derive(Debug, Default)]
pub struct SharedHistogram {
    inner: Mutex<Option<Box<Histogram>>>,
}

impl SharedHistogram {
    /// An empty histogram.
    pub fn new() -> SharedHistogram {
        SharedHistogram::default()
    }

    /// Records one value in nanoseconds.
    #[inline]
    pub fn record(&self, nanos: u64) {
        self.inner
            .lock()
            .get_or_insert_with(Box::default)
            .record(nanos);
    }

    /// Records a [`Duration`] (saturating like [`Histogram::record`]).
    #[inline]
    pub fn record_duration(&self, d: Duration) {
        self.inner
            .lock()
            .get_or_insert_with(Box::default)
            .record_duration(d);
    }

    /// Adds every value recorded so far to `dst`.
    pub fn add_to(&self, dst: &mut Histogram) {
        if let Some(h) = &*self.inner.lock() {
            dst.add(h);
        }
    }

    /// Adds every value recorded so far to `dst` and forgets them here, in one step.
    pub fn drain_into(&self, dst: &mut Histogram) {
        if let Some(h) = &mut *self.inner.lock() {
            dst.add(h);
            h.clear();
        }
    }

    /// Forgets every value.
    pub fn clear(&self) {
        if let Some(h) = &mut *self.inner.lock() {
            h.clear();
        }
    }

    /// Quantiles of the values recorded so far.
    pub fn quantiles(&self) -> Quantiles {
        match &*self.inner.lock() {
            Some(h) => h.quantiles(),
            None => Quantiles::default(),
        }
    }

    /// Whether the histogram was allocated (something was ever recorded).
    pub fn is_allocated(&self) -> bool {
        self.inner.lock().is_some()
    }
}

/// The value at quantile `q` of a sorted, non-empty slice, by nearest rank.
pub(crate) fn nearest_rank<T: Copy>(sorted: &[T], q: f64) -> T {
    let n = sorted.len();
    let rank = (q * n as f64).ceil() as usize;
    sorted[rank.clamp(1, n) - 1]
}

impl Quantiles {
    /// Exact quantiles of a list of durations (sorts a copy; nearest-rank definition). All
    /// zero when the list is empty.
    ///
    /// ```
    /// use goro_stats::Quantiles;
    /// use std::time::Duration;
    /// let q = Quantiles::from_durations(&[Duration::from_millis(3), Duration::from_millis(1)]);
    /// assert_eq!((q.count, q.min, q.max), (2, Duration::from_millis(1), Duration::from_millis(3)));
    /// ```
    pub fn from_durations(values: &[Duration]) -> Quantiles {
        if values.is_empty() {
            return Quantiles::default();
        }
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        let total: u128 = sorted.iter().map(Duration::as_nanos).sum();
        let mean = total / sorted.len() as u128;
        let mean = Duration::from_nanos(u64::try_from(mean).unwrap_or(u64::MAX));
        Quantiles::from_fn(sorted.len() as u64, mean, |q| match q {
            0.0 => sorted[0],
            q => nearest_rank(&sorted, q),
        })
    }

    /// Fills every quantile from `at(q)` (`at(0.0)` is the minimum, `at(1.0)` the maximum).
    fn from_fn(count: u64, mean: Duration, at: impl Fn(f64) -> Duration) -> Quantiles {
        Quantiles {
            count,
            min: at(0.0),
            p25: at(0.25),
            p50: at(0.50),
            p75: at(0.75),
            p90: at(0.90),
            p95: at(0.95),
            p99: at(0.99),
            max: at(1.0),
            mean,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_histogram_allocates_on_its_first_record() {
        let h = SharedHistogram::new();
        assert!(!h.is_allocated());
        assert_eq!(h.quantiles(), Quantiles::default());
        let mut merged = Histogram::new();
        h.add_to(&mut merged);
        assert_eq!(merged.quantiles().count, 0);
        h.record(1_000);
        assert!(h.is_allocated());
        h.drain_into(&mut merged);
        assert_eq!((merged.quantiles().count, h.quantiles().count), (1, 0));
    }

    /// Whether `got` is within 1% of `want` (the histogram's precision).
    fn close(got: Duration, want: Duration) -> bool {
        let (g, w) = (got.as_nanos() as f64, want.as_nanos() as f64);
        (g - w).abs() <= w * 0.01 + 1.0
    }

    #[test]
    fn empty_is_all_zero() {
        let h = Histogram::new();
        assert!(h.is_empty());
        assert_eq!(h.len(), 0);
        assert_eq!(h.quantiles(), Quantiles::default());
        assert_eq!(Quantiles::from_durations(&[]), Quantiles::default());
    }

    #[test]
    fn quantiles_of_a_uniform_spread() {
        let mut h = Histogram::new();
        for i in 1..=10_000u64 {
            h.record(i * 1_000); // 1 µs ..= 10 ms
        }
        let q = h.quantiles();
        assert_eq!(q.count, 10_000);
        assert!(close(q.min, Duration::from_micros(1)), "{q:?}");
        assert!(close(q.p25, Duration::from_micros(2_500)), "{q:?}");
        assert!(close(q.p50, Duration::from_micros(5_000)), "{q:?}");
        assert!(close(q.p75, Duration::from_micros(7_500)), "{q:?}");
        assert!(close(q.p90, Duration::from_micros(9_000)), "{q:?}");
        assert!(close(q.p95, Duration::from_micros(9_500)), "{q:?}");
        assert!(close(q.p99, Duration::from_micros(9_900)), "{q:?}");
        assert!(close(q.max, Duration::from_micros(10_000)), "{q:?}");
        assert!(close(q.mean, Duration::from_nanos(5_000_500)), "{q:?}");
    }

    #[test]
    fn out_of_range_values_saturate_and_zero_is_kept() {
        let mut h = Histogram::new();
        h.record(0);
        h.record(u64::MAX);
        h.record_duration(Duration::from_secs(10 * 3600));
        let q = h.quantiles();
        assert_eq!(q.count, 3);
        assert_eq!(q.min, Duration::ZERO);
        assert!(close(q.max, Duration::from_secs(3600)), "{q:?}");
    }

    #[test]
    fn add_merges_and_clear_forgets() {
        let mut a = Histogram::new();
        let mut b = Histogram::new();
        a.record(1_000);
        b.record(1_000_000);
        b.record(2_000_000);
        a.add(&b);
        assert_eq!(a.len(), 3);
        assert!(close(a.quantiles().max, Duration::from_millis(2)));
        assert_eq!(b.len(), 2, "the source is untouched");
        a.clear();
        assert!(a.is_empty());
        assert_eq!(a.quantiles().count, 0);
    }

    #[test]
    fn shared_histograms_merge_across_threads() {
        let procs: Vec<SharedHistogram> = (0..4).map(|_| SharedHistogram::new()).collect();
        std::thread::scope(|s| {
            for (i, p) in procs.iter().enumerate() {
                s.spawn(move || {
                    for v in 0..1_000u64 {
                        p.record((i as u64 + 1) * 1_000 + v);
                    }
                });
            }
        });
        let mut all = Histogram::new();
        for p in &procs {
            p.add_to(&mut all);
        }
        assert_eq!(all.len(), 4_000);
        assert_eq!(procs[0].quantiles().count, 1_000, "add_to keeps the values");

        let mut drained = Histogram::new();
        procs[1].drain_into(&mut drained);
        assert_eq!(drained.len(), 1_000);
        assert_eq!(procs[1].quantiles().count, 0, "drain_into forgets them");
        procs[0].clear();
        assert_eq!(procs[0].quantiles(), Quantiles::default());
    }

    #[test]
    fn exact_quantiles_of_a_list() {
        let values: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        let q = Quantiles::from_durations(&values);
        assert_eq!(q.count, 100);
        assert_eq!(q.min, Duration::from_millis(1));
        assert_eq!(q.p25, Duration::from_millis(25));
        assert_eq!(q.p50, Duration::from_millis(50));
        assert_eq!(q.p95, Duration::from_millis(95));
        assert_eq!(q.p99, Duration::from_millis(99));
        assert_eq!(q.max, Duration::from_millis(100));
        assert_eq!(q.mean, Duration::from_micros(50_500));

        let one = Quantiles::from_durations(&[Duration::from_micros(7)]);
        let seven = Duration::from_micros(7);
        assert_eq!(
            (one.min, one.p50, one.p99, one.max, one.mean),
            (seven, seven, seven, seven, seven)
        );
    }
}
