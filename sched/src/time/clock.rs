//! The timer clock: nanoseconds since a process-wide base `Instant`, so a deadline fits in
//! an `AtomicU64`; and the coarse clock, the last reading any runtime published.
//!
//! Reading the real clock costs about 40 ns here (`clock_gettime` through the vDSO, and the
//! conversion to nanoseconds since the base). A processor with a timer armed would pay it
//! before every task, to see whether the timer is due, and every `Sleep` on its first
//! poll, to see whether its deadline has passed: two readings per request of an HTTP
//! server whose connections each keep a header-read timeout armed. [`now_if_due`] asks the
//! coarse clock first, which lags the real one by one monitor round (at most 8 ms while
//! the runtime is calm, less under load): a deadline more than [`COARSE_HORIZON`] past it
//! cannot be due yet, and costs no reading. tokio makes the same trade with a coarser
//! answer (its timer wheel looks at the clock only when its driver is polled).
//!
//! The coarse clock moves when a monitor goes round, when a processor parks (it reads the
//! clock for the park's timeout anyway) and when a processor wakes from a park, so a
//! processor coming back from a long sleep never judges its timers by a stale reading.
//! If a monitor thread is starved by the OS for longer than [`COARSE_HORIZON`], timers on
//! processors that never park fire late by the excess: they never fire early.

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

/// The coarse clock: the last [`now`] any monitor or parking processor published (see
/// [`refresh_coarse`]). Task records read it on every poll, where a real clock reading
/// would cost more than the rest of the bookkeeping, and timer checks read it first
/// ([`now_if_due`]); it lags the real clock by at most one monitor round (20 µs to 8 ms)
/// while any processor is awake.
static COARSE: AtomicU64 = AtomicU64::new(0);

/// How far ahead of the coarse clock a deadline may be and still be due: far more than the
/// coarse clock's lag (one monitor round, at most 8 ms while calm), so that judging by it
/// makes no timer late unless the monitor thread itself is starved that long.
pub(crate) const COARSE_HORIZON: u64 = 50_000_000;

/// [`now`] as of the last publication (see [`COARSE`]).
#[inline]
pub(crate) fn coarse_now() -> u64 {
    COARSE.load(Relaxed)
}

/// `Some(now)` if `deadline` (clock nanoseconds) has passed, `None` if not. Reads the real
/// clock only if the coarse clock leaves it open (see the module docs).
#[inline]
pub(crate) fn now_if_due(deadline: u64) -> Option<u64> {
    if deadline > coarse_now().saturating_add(COARSE_HORIZON) {
        return None;
    }
    let now = now();
    (deadline <= now).then_some(now)
}

/// Publishes the current time to the coarse clock and returns it. Called by every runtime's
/// monitor each round (and at start), and by a processor as it parks and as it wakes;
/// `fetch_max` keeps it monotonic across runtimes and threads.
pub(crate) fn refresh_coarse() -> u64 {
    let now = now();
    COARSE.fetch_max(now, Relaxed);
    now
}
