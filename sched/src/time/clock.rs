//! The timer clock: nanoseconds since a process-wide base `Instant`, so a deadline fits in
//! an `AtomicU64`.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

/// Now, in clock nanoseconds.
#[inline]
pub(crate) fn now() -> u64 {
    to_nanos(Instant::now())
}

/// `instant` in clock nanoseconds (instants before the base map to 0).
pub(crate) fn to_nanos(instant: Instant) -> u64 {
    let nanos = instant.saturating_duration_since(base()).as_nanos();
    u64::try_from(nanos).unwrap_or(u64::MAX - 1)
}

/// The time from `now` to `deadline`, zero if it has passed.
pub(crate) fn duration_between(now: u64, deadline: u64) -> Duration {
    Duration::from_nanos(deadline.saturating_sub(now))
}

/// The coarse clock: the last [`now`] any monitor published (see [`refresh_coarse`]). Task
/// records read it on every poll, where a real clock reading would cost more than the rest
/// of the bookkeeping; it lags the real clock by at most one monitor round (20 µs to 10 ms).
static COARSE: AtomicU64 = AtomicU64::new(0);

/// [`now`] as of the last monitor round.
#[inline]
pub(crate) fn coarse_now() -> u64 {
    COARSE.load(Relaxed)
}

/// Publishes the current time to the coarse clock and returns it. Called by every runtime's
/// monitor each round (and at start); `fetch_max` keeps it monotonic across runtimes.
pub(crate) fn refresh_coarse() -> u64 {
    let now = now();
    COARSE.fetch_max(now, Relaxed);
    now
}
