//! [`GoroTimer`]: hyper's `rt::Timer`, on goro's timers.

use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// goro timers for hyper: header-read timeouts, HTTP/2 keep-alive pings, the client pool's
/// idle expiry. A task waiting on one of them has the `GoroTimer::new()` line as its
/// suspension point (`sleep`).
///
/// ```
/// # goro::Runtime::new().unwrap().block_on(async {
/// use hyper::rt::Timer;
/// use std::time::{Duration, Instant};
/// let timer = goro::hyper::GoroTimer::new();
/// let start = Instant::now();
/// timer.sleep(Duration::from_millis(5)).await;
/// assert!(start.elapsed() >= Duration::from_millis(5));
/// # });
/// ```
#[derive(Clone, Copy, Debug)]
pub struct GoroTimer {
    at: &'static Location<'static>,
}

impl GoroTimer {
    /// A timer whose sleeps name the caller's line as their suspension point.
    #[track_caller]
    #[allow(clippy::new_without_default)] // `default()` could not see its caller
    pub fn new() -> GoroTimer {
        GoroTimer::at(Location::caller())
    }

    pub(crate) fn at(at: &'static Location<'static>) -> GoroTimer {
        GoroTimer { at }
    }
}

/// A goro sleep as hyper's `rt::Sleep` (its suspension point is the timer's line).
struct GoroSleep {
    sleep: crate::time::Sleep,
}

impl Future for GoroSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.sleep).poll(cx)
    }
}

impl hyper::rt::Sleep for GoroSleep {}

impl hyper::rt::Timer for GoroTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(GoroSleep {
            sleep: crate::time::sleep(duration).reported_at(self.at),
        })
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(GoroSleep {
            sleep: crate::time::sleep_until(deadline).reported_at(self.at),
        })
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<GoroSleep>() {
            Some(goro) => goro.get_mut().sleep.reset(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}
