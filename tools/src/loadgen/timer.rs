//! A wake-up at a precise instant for a mio poll loop: a Linux `timerfd`.
//!
//! mio rounds poll timeouts up to whole milliseconds (epoll_wait takes milliseconds), which
//! would send open-loop requests up to 1 ms late and add that to every latency. A timerfd
//! armed for the next due send fires within microseconds and is just another readable fd in
//! the poll, so the generator neither oversleeps nor spins.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Instant;

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

/// A one-shot timer that makes its poll token readable when it expires.
pub struct Timer {
    fd: OwnedFd,
}

impl Timer {
    /// A disarmed timer on `CLOCK_MONOTONIC`.
    pub fn new() -> io::Result<Timer> {
        // SAFETY: timerfd_create takes no pointers; a non-negative result is a new fd that
        // nothing else owns, so OwnedFd may take it.
        let fd = unsafe {
            let fd = libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            );
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            OwnedFd::from_raw_fd(fd)
        };
        Ok(Timer { fd })
    }

    /// Registers the timer's readability with `registry` under `token`.
    pub fn register(&self, registry: &Registry, token: Token) -> io::Result<()> {
        registry.register(
            &mut SourceFd(&self.fd.as_raw_fd()),
            token,
            Interest::READABLE,
        )
    }

    /// Arms the timer for `at` (at once if `at` has passed), replacing any earlier arming.
    pub fn arm(&self, at: Instant) -> io::Result<()> {
        let wait = at.saturating_duration_since(Instant::now());
        // A zero it_value would disarm the timer: fire after 1 ns instead.
        let nanos = wait.subsec_nanos().max(u32::from(wait.is_zero()));
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: wait.as_secs().min(i32::MAX as u64) as libc::time_t,
                tv_nsec: nanos as libc::c_long,
            },
        };
        // SAFETY: the fd is a timerfd we own; `spec` is a valid itimerspec that the call
        // only reads, and a null old_value is allowed.
        let rc =
            unsafe { libc::timerfd_settime(self.fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Consumes an expiry so that the next one makes the fd readable again.
    pub fn clear(&self) {
        let mut expirations = [0u8; 8];
        // SAFETY: reads at most 8 bytes into an 8-byte buffer from a non-blocking fd we own;
        // EAGAIN (nothing expired) is fine to ignore.
        unsafe {
            libc::read(
                self.fd.as_raw_fd(),
                expirations.as_mut_ptr().cast(),
                expirations.len(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mio::{Events, Poll};
    use std::time::Duration;

    #[test]
    fn fires_at_the_instant_not_at_the_next_millisecond() {
        let mut poll = Poll::new().unwrap();
        let timer = Timer::new().unwrap();
        timer.register(poll.registry(), Token(0)).unwrap();
        let mut events = Events::with_capacity(4);
        let start = Instant::now();
        timer.arm(start + Duration::from_micros(300)).unwrap();
        poll.poll(&mut events, Some(Duration::from_secs(5)))
            .unwrap();
        let waited = start.elapsed();
        assert!(events.iter().any(|e| e.token() == Token(0)));
        assert!(waited >= Duration::from_micros(300), "{waited:?}");
        // A second arming fires again after clear().
        timer.clear();
        timer.arm(Instant::now()).unwrap();
        poll.poll(&mut events, Some(Duration::from_secs(5)))
            .unwrap();
        assert!(events.iter().any(|e| e.token() == Token(0)));
    }
}
