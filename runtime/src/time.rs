//! Time: `sleep`, `sleep_until`, `timeout`, `interval`.
//!
//! Timers live on the processor where they were armed: a parked processor wakes for its
//! earliest timer, and the timers of a busy processor are fired by idle ones. A timer never
//! fires early; a parked processor fires it within about a millisecond.
//!
//! ```
//! use std::time::Duration;
//! # goro::Runtime::new().unwrap().block_on(async {
//! goro::time::sleep(Duration::from_millis(1)).await;
//!
//! let slow = goro::time::sleep(Duration::from_secs(60));
//! assert!(goro::time::timeout(Duration::from_millis(1), slow).await.is_err());
//!
//! let mut every = goro::time::interval(Duration::from_millis(1));
//! every.tick().await; // the first tick completes at once
//! every.tick().await;
//! # });
//! ```

pub use goro_sched::time::{
    interval, interval_at, sleep, sleep_until, timeout, timeout_at, Elapsed, Interval,
    MissedTickBehavior, Sleep, Timeout,
};
pub use std::time::{Duration, Instant};
