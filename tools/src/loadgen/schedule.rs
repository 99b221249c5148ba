//! When each request is meant to be sent, and what its latency is.
//!
//! Open loop (wrk2's model): the run offers `rate` requests per second in total, spread
//! evenly over the connections. Request `k` of connection `c` (of `C`) is *intended* to go
//! out at `start + (c + k*C) / rate`: each connection sends every `C / rate` seconds, and the
//! connections take turns, so the whole run sends one request every `1 / rate` seconds. A
//! connection carries one request at a time (HTTP/1.1 without pipelining); when a response
//! comes back after the next request's intended time, that request goes out at once, late.
//! Its latency is still counted from its intended time: a server that stalls for 50 ms
//! shows those 50 ms (less the time each request was due into the stall) on every request
//! that was due while it stalled, not only on the few that were in flight. Measuring from
//! the actual send instead would hide them (coordinated omission: the generator, blocked
//! behind the slow response, politely does not send what it should have).
//!
//! Closed loop: a connection sends its next request as soon as the previous response is
//! complete; there is no schedule, and latency runs from the actual send.

use std::time::{Duration, Instant};

/// The sending discipline of a run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Schedule {
    /// A fixed total rate from `start` over `connections` connections.
    Open {
        /// When the first request is due.
        start: Instant,
        /// Requests per second over all connections.
        rate: f64,
        /// Connections sharing the rate.
        connections: usize,
    },
    /// Each response triggers the next request.
    Closed,
}

impl Schedule {
    /// The open-loop schedule for `rate` requests/s in total over `connections`, or the
    /// closed loop if `rate` is `None`.
    pub fn new(start: Instant, rate: Option<f64>, connections: usize) -> Schedule {
        match rate {
            Some(rate) => Schedule::Open {
                start,
                rate,
                connections,
            },
            None => Schedule::Closed,
        }
    }

    /// When request `k` of connection `conn` is intended to be sent; `None` in closed loop
    /// (send as soon as the connection is free).
    pub fn intended(&self, conn: usize, k: u64) -> Option<Instant> {
        let (start, rate, connections) = self.open()?;
        let slot = conn as f64 + k as f64 * connections as f64;
        Some(start + Duration::from_secs_f64(slot / rate))
    }

    /// How many of `conn`'s requests are intended before `t` (closed loop: 0).
    pub fn slots_before(&self, conn: usize, t: Instant) -> u64 {
        let Some((start, rate, connections)) = self.open() else {
            return 0;
        };
        // intended(conn, k) < t  <=>  k < ((t - start) * rate - conn) / connections
        let x = (t.saturating_duration_since(start).as_secs_f64() * rate - conn as f64)
            / connections as f64;
        if x <= 0.0 {
            0
        } else {
            x.ceil() as u64
        }
    }

    fn open(&self) -> Option<(Instant, f64, usize)> {
        match *self {
            Schedule::Open {
                start,
                rate,
                connections,
            } => Some((start, rate, connections)),
            Schedule::Closed => None,
        }
    }

    /// The latency of a request intended for `intended` (if scheduled), sent at `sent`, whose
    /// response completed at `done`: from the intended time in open loop, from the actual send
    /// in closed loop.
    pub fn latency(intended: Option<Instant>, sent: Instant, done: Instant) -> Duration {
        done.saturating_duration_since(intended.unwrap_or(sent))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_loop_spreads_the_rate_over_connections() {
        let t0 = Instant::now();
        let s = Schedule::new(t0, Some(1000.0), 4);
        let at = |c, k| s.intended(c, k).unwrap() - t0;
        // The run as a whole sends every 1 ms: connection 0, 1, 2, 3, then 0 again.
        assert_eq!(at(0, 0), Duration::ZERO);
        assert_eq!(at(1, 0), Duration::from_millis(1));
        assert_eq!(at(3, 0), Duration::from_millis(3));
        assert_eq!(at(0, 1), Duration::from_millis(4));
        assert_eq!(at(2, 10), Duration::from_millis(42));
        // A long run keeps its rate: one million requests at 1000/s take 1000 s.
        let late = s.intended(0, 250_000).unwrap() - t0;
        assert!((late.as_secs_f64() - 1000.0).abs() < 1e-6, "{late:?}");
        assert_eq!(Schedule::new(t0, None, 4).intended(0, 0), None);
    }

    #[test]
    fn slots_before_counts_intended_times() {
        let t0 = Instant::now();
        let s = Schedule::new(t0, Some(1000.0), 4);
        for conn in 0..4 {
            for ms in [0u64, 1, 2, 3, 4, 5, 40, 41, 1000] {
                let t = t0 + Duration::from_millis(ms) + Duration::from_nanos(500);
                let counted = (0..2000)
                    .filter(|&k| s.intended(conn, k).unwrap() < t)
                    .count() as u64;
                assert_eq!(s.slots_before(conn, t), counted, "conn {conn} at {ms} ms");
            }
        }
        assert_eq!(
            Schedule::new(t0, None, 4).slots_before(0, t0 + Duration::from_secs(9)),
            0
        );
    }

    #[test]
    fn latency_counts_from_the_intended_time() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        // Due at t0, sent 40 ms late behind a stalled response, answered 1 ms later: 41 ms.
        assert_eq!(
            Schedule::latency(Some(t0), t0 + ms(40), t0 + ms(41)),
            ms(41)
        );
        // Closed loop: from the send.
        assert_eq!(Schedule::latency(None, t0 + ms(40), t0 + ms(41)), ms(1));
        // Never negative.
        assert_eq!(
            Schedule::latency(Some(t0 + ms(5)), t0, t0 + ms(1)),
            Duration::ZERO
        );
    }
}
