//! [`Poller`]: a `mio::Poll` with a `mio::Waker`, owned by one processor.

use parking_lot::Mutex;
use std::io;
use std::time::Duration;

/// The token reserved for the poller's own waker.
const WAKE_TOKEN: mio::Token = mio::Token(usize::MAX);

/// Events fetched per `epoll_wait`.
const EVENTS_CAPACITY: usize = 1024;

/// One processor's poller.
///
/// ```
/// use goro_netpoll::Poller;
/// use std::time::Duration;
///
/// let poller = Poller::new()?;
/// poller.wake()?;
/// // The wake is remembered: this returns at once instead of after a second.
/// poller.wait(Some(Duration::from_secs(1)))?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Poller {
    poll: Mutex<PollState>,
    registry: mio::Registry,
    waker: mio::Waker,
}

struct PollState {
    poll: mio::Poll,
    events: mio::Events,
}

/// What one [`Poller::wait`] saw.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WaitOutcome {
    /// I/O events delivered (the poller's own wake-up is not counted).
    pub io_events: usize,
    /// Whether [`Poller::wake`] was among the events.
    pub woken: bool,
}

impl Poller {
    /// Creates the poller and its waker (an epoll instance and an eventfd on Linux).
    pub fn new() -> io::Result<Poller> {
        let poll = mio::Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = mio::Waker::new(poll.registry(), WAKE_TOKEN)?;
        Ok(Poller {
            poll: Mutex::new(PollState {
                poll,
                events: mio::Events::with_capacity(EVENTS_CAPACITY),
            }),
            registry,
            waker,
        })
    }

    /// The registry through which sources are (de)registered, from any thread.
    pub fn registry(&self) -> &mio::Registry {
        &self.registry
    }

    /// Blocks until an event, a [`Poller::wake`], or the timeout (`None`: no timeout;
    /// `Some(ZERO)`: do not block). Interrupted waits (`EINTR`) return as an empty outcome.
    pub fn wait(&self, timeout: Option<Duration>) -> io::Result<WaitOutcome> {
        let mut state = self.poll.lock();
        Self::wait_locked(&mut state, timeout)
    }

    /// Like [`Poller::wait`] with a zero timeout, but gives up at once (returning `None`) if
    /// another thread is polling this poller. This is poll stealing's entry point.
    pub fn try_poll_now(&self) -> Option<io::Result<WaitOutcome>> {
        let mut state = self.poll.try_lock()?;
        Some(Self::wait_locked(&mut state, Some(Duration::ZERO)))
    }

    fn wait_locked(state: &mut PollState, timeout: Option<Duration>) -> io::Result<WaitOutcome> {
        let PollState { poll, events } = state;
        match poll.poll(events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(WaitOutcome::default()),
            Err(e) => return Err(e),
        }
        let mut outcome = WaitOutcome::default();
        for event in events.iter() {
            if event.token() == WAKE_TOKEN {
                outcome.woken = true;
            } else {
                outcome.io_events += 1;
            }
        }
        Ok(outcome)
    }

    /// Wakes a thread blocked in [`Poller::wait`], or makes the next wait return at once.
    pub fn wake(&self) -> io::Result<()> {
        self.waker.wake()
    }
}

impl std::fmt::Debug for Poller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poller").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Instant;

    #[test]
    fn wake_from_another_thread_ends_a_blocking_wait() {
        let poller = Arc::new(Poller::new().unwrap());
        let p2 = poller.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            p2.wake().unwrap();
        });
        let start = Instant::now();
        let out = poller.wait(Some(Duration::from_secs(10))).unwrap();
        assert!(out.woken);
        assert!(start.elapsed() < Duration::from_secs(5));
        t.join().unwrap();
    }

    #[test]
    fn timeout_without_events() {
        let poller = Poller::new().unwrap();
        let start = Instant::now();
        let out = poller.wait(Some(Duration::from_millis(20))).unwrap();
        assert_eq!(out, WaitOutcome::default());
        assert!(start.elapsed() >= Duration::from_millis(19));
    }

    #[test]
    fn try_poll_now_fails_while_another_thread_waits() {
        let poller = Arc::new(Poller::new().unwrap());
        let p2 = poller.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let t = std::thread::spawn(move || {
            let guard = p2.poll.lock();
            tx.send(()).unwrap();
            std::thread::sleep(Duration::from_millis(50));
            drop(guard);
        });
        rx.recv().unwrap();
        assert!(poller.try_poll_now().is_none());
        t.join().unwrap();
        assert!(poller.try_poll_now().is_some());
    }
}
