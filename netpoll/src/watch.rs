//! [`PollerWatch`]: one blocking wait for the events of several pollers.
//!
//! With one poller per processor, every idle processor blocking in its own poller means that
//! a burst of I/O on the connections of *n* pollers wakes *n* threads, even when one could
//! serve it all. The watch is an epoll instance whose only entries are the pollers' own
//! epoll descriptors (epoll instances nest: one is readable while it has events ready) and
//! a waker. One thread at a time blocks in it (the holder of its lock); when it returns, the
//! thread polls, without blocking, the pollers that reported events, and their wakes land on
//! that thread, as for poll stealing.
//!
//! ## Why no event is missed
//!
//! The entries are edge-triggered (mio registers nothing else). The kernel signals a nested
//! instance's entry in the outer one each time an event enters the inner instance's ready
//! list, so an event that arrives after a watch wait returned signals the watch again. An
//! entry reported for a poller whose events someone else took meanwhile is dropped by the
//! kernel's readiness check, or yields an empty poll. What the watch cannot see is an inner
//! poller left with events after a poll: [`Poller::try_poll_now`] fetches at most its batch
//! capacity, so the pollers of a watch are polled with [`Poller::try_drain_now`], which
//! polls until a batch comes back short.

use crate::Poller;
use parking_lot::{Mutex, MutexGuard};
use std::io;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::Duration;

/// The token of the watch's own waker (pollers are registered with their index).
const WAKE_TOKEN: mio::Token = mio::Token(usize::MAX);

/// An epoll set over several [`Poller`]s, so that one thread can block for all of them.
///
/// ```
/// use goro_netpoll::{Poller, PollerWatch};
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// let pollers = [Arc::new(Poller::new()?), Arc::new(Poller::new()?)];
/// let watch = PollerWatch::new(&pollers)?;
/// pollers[1].wake()?;
/// let mut ready = Vec::new();
/// let guard = watch.try_claim().expect("nobody else waits");
/// guard.wait_then(Some(Duration::from_secs(5)), || {}, &mut ready)?;
/// assert_eq!(ready, [1]);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct PollerWatch {
    wait: Mutex<WatchState>,
    waker: mio::Waker,
}

struct WatchState {
    poll: mio::Poll,
    events: mio::Events,
}

/// The right to wait in a [`PollerWatch`]: held by one thread at a time.
pub struct WatchGuard<'a> {
    state: MutexGuard<'a, WatchState>,
}

impl PollerWatch {
    /// Creates the watch over `pollers`; a wait reports poller `i` by its index `i`.
    pub fn new(pollers: &[Arc<Poller>]) -> io::Result<PollerWatch> {
        let poll = mio::Poll::new()?;
        for (index, poller) in pollers.iter().enumerate() {
            let fd: RawFd = poller.epoll_fd();
            poll.registry().register(
                &mut mio::unix::SourceFd(&fd),
                mio::Token(index),
                mio::Interest::READABLE,
            )?;
        }
        let waker = mio::Waker::new(poll.registry(), WAKE_TOKEN)?;
        Ok(PollerWatch {
            wait: Mutex::new(WatchState {
                poll,
                events: mio::Events::with_capacity(pollers.len() + 1),
            }),
            waker,
        })
    }

    /// Takes the right to wait, or returns `None` if another thread holds it.
    pub fn try_claim(&self) -> Option<WatchGuard<'_>> {
        self.wait.try_lock().map(|state| WatchGuard { state })
    }

    /// Whether some thread holds the right to wait (a racy hint).
    pub fn is_claimed(&self) -> bool {
        self.wait.is_locked()
    }

    /// Ends the current wait in the watch, or makes the next one return at once.
    pub fn wake(&self) -> io::Result<()> {
        self.waker.wake()
    }
}

impl WatchGuard<'_> {
    /// Blocks until a watched poller has events, a [`PollerWatch::wake`], or the timeout
    /// (`Some(ZERO)`: do not block). Calls `woke` as soon as the wait is over, then gives up
    /// the right to wait, then puts the indices of the pollers with events in `ready`
    /// (cleared first). Returns whether the watch was woken. `EINTR` returns as a wait
    /// without events.
    pub fn wait_then(
        mut self,
        timeout: Option<Duration>,
        woke: impl FnOnce(),
        ready: &mut Vec<usize>,
    ) -> io::Result<bool> {
        ready.clear();
        let WatchState { poll, events } = &mut *self.state;
        let polled = poll.poll(events, timeout);
        woke();
        match polled {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(false),
            Err(e) => return Err(e),
        }
        let mut woken = false;
        for event in events.iter() {
            match event.token() {
                WAKE_TOKEN => woken = true,
                mio::Token(index) => ready.push(index),
            }
        }
        Ok(woken)
    }
}

impl std::fmt::Debug for PollerWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PollerWatch")
            .field("claimed", &self.is_claimed())
            .finish_non_exhaustive()
    }
}
