//! The timer clock: nanoseconds since a process-wide base `Instant`, so a deadline fits in
//! an `AtomicU64`.

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
