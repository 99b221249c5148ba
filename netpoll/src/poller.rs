//! [`Poller`]: a `mio::Poll` with a `mio::Waker`, owned by one processor, and the set of
//! registrations whose events it dispatches.
//!
//! ## Tokens and the lifetime of registration state
//!
//! A registration's shared state (`IoState`: its readiness word and waker slots, see
//! `registration.rs`) lives in the poller's **registration set**, a slab of `Arc<IoState>`.
//! The token a source is registered with is its slot's index plus the slot's **generation**,
//! which changes each time the slot is freed. A wait looks its events' tokens up in the set
//! under the set's lock, once per batch, takes an `Arc` of each live state, releases the lock,
//! and then dispatches (so wakers never run under a lock). An event whose token is stale (its
//! registration was deregistered or dropped after `epoll_wait` fetched it, or its source was
//! never removed from epoll) finds an empty slot or another generation and is ignored.
//!
//! So no token can ever reach freed state, whatever safe code does (deregister the wrong
//! source, drop a registration without deregistering, duplicate a file descriptor), and no
//! `unsafe` is needed. The cost is one uncontended lock per wait with events and one `Arc`
//! increment and decrement per event, small next to the `epoll_wait` itself. Registration,
//! deregistration and [`Poller::shutdown_all`] take only the set's lock, never the poll lock,
//! so they work from any thread while another thread blocks in [`Poller::wait`].

use crate::readiness::Ready;
use crate::registration::IoState;
use parking_lot::Mutex;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The token reserved for the poller's own waker (its index part is never a slot's).
const WAKE_TOKEN: mio::Token = mio::Token(usize::MAX);

/// Events fetched per `epoll_wait` (a few in unit tests, so that they see full batches).
const EVENTS_CAPACITY: usize = if cfg!(test) { 4 } else { 1024 };

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
///
/// Sources are registered through [`Registration::new`](crate::Registration::new), which
/// takes an `&Arc<Poller>`: a registration keeps its poller alive.
pub struct Poller {
    /// The epoll instance and its event buffer. Taken by whoever polls: the owning
    /// processor, a processor stealing the poll (`try_lock`), or the monitor.
    poll: Mutex<PollState>,
    /// Registers and deregisters sources; used from any thread without the poll lock.
    registry: mio::Registry,
    /// Written by anyone to unpark a processor blocked in this poller.
    waker: mio::Waker,
    /// The registered sources; registration and deregistration write it (any thread), the
    /// poller reads it to dispatch events.
    regs: Mutex<RegSet>,
    /// Set once by `shutdown_all`; read by new registrations and `is_shutdown`.
    shutdown: AtomicBool,
    /// Completed waits; written only under the poll lock.
    polls: AtomicU64,
    /// Mirrors `RegSet::live` (written under its lock) for lock-free reads.
    live: AtomicUsize,
    /// The epoll instance's descriptor, for a [`PollerWatch`](crate::PollerWatch).
    epoll_fd: RawFd,
}

struct PollState {
    poll: mio::Poll,
    events: mio::Events,
    /// The live states a batch of events is dispatched to, and their readiness.
    batch: Vec<(Arc<IoState>, Ready)>,
}

/// Low bits of a token: the slot index. High bits: the slot's generation.
const INDEX_BITS: u32 = usize::BITS / 2;
const INDEX_MASK: usize = (1 << INDEX_BITS) - 1;
/// At most this many registrations per poller; keeps tokens away from `WAKE_TOKEN`.
const MAX_REGISTRATIONS: usize = INDEX_MASK;

/// The registered states, a slab: `slots[state.index]` holds the state while registered.
#[derive(Default)]
struct RegSet {
    slots: Vec<Slot>,
    free: Vec<usize>,
    live: usize,
}

#[derive(Default)]
struct Slot {
    /// Bumped (wrapping) whenever the slot is freed, so old tokens stop matching.
    generation: usize,
    state: Option<Arc<IoState>>,
}

impl RegSet {
    fn token(&self, index: usize) -> mio::Token {
        let generation = self.slots[index].generation & (usize::MAX >> INDEX_BITS);
        mio::Token(generation << INDEX_BITS | index)
    }

    fn lookup(&self, token: mio::Token) -> Option<&Arc<IoState>> {
        let index = token.0 & INDEX_MASK;
        let slot = self.slots.get(index)?;
        match &slot.state {
            Some(state) if self.token(index) == token => Some(state),
            _ => None,
        }
    }
}

/// What one [`Poller::wait`] saw.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WaitOutcome {
    /// I/O events dispatched to registrations (the poller's own wake-up is not counted).
    pub io_events: usize,
    /// Whether [`Poller::wake`] was among the events.
    pub woken: bool,
    /// Whether the wait fetched a full batch of events: more may be ready, and edge-triggered
    /// watchers (a [`PollerWatch`](crate::PollerWatch)) are not told again.
    pub more: bool,
}

impl Poller {
    /// Creates the poller and its waker (an epoll instance and an eventfd on Linux).
    ///
    /// Wrap it in an `Arc` to register sources with it.
    pub fn new() -> io::Result<Poller> {
        let poll = mio::Poll::new()?;
        let epoll_fd = poll.as_raw_fd();
        let registry = poll.registry().try_clone()?;
        let waker = mio::Waker::new(poll.registry(), WAKE_TOKEN)?;
        Ok(Poller {
            poll: Mutex::new(PollState {
                poll,
                events: mio::Events::with_capacity(EVENTS_CAPACITY),
                batch: Vec::with_capacity(EVENTS_CAPACITY),
            }),
            registry,
            waker,
            regs: Mutex::new(RegSet::default()),
            shutdown: AtomicBool::new(false),
            polls: AtomicU64::new(0),
            live: AtomicUsize::new(0),
            epoll_fd,
        })
    }

    /// The registry through which sources are (de)registered, from any thread.
    pub(crate) fn registry(&self) -> &mio::Registry {
        &self.registry
    }

    /// Blocks until an event, a [`Poller::wake`], or the timeout (`None`: no timeout;
    /// `Some(ZERO)`: do not block), and dispatches every I/O event to its registration (whose
    /// wakers therefore run on this thread). Interrupted waits (`EINTR`) return as an empty
    /// outcome.
    pub fn wait(&self, timeout: Option<Duration>) -> io::Result<WaitOutcome> {
        self.wait_then(timeout, || {})
    }

    /// Like [`Poller::wait`], but calls `woke` as soon as the wait is over (events, wake,
    /// timeout, `EINTR` or error alike) and before any event is dispatched, so the caller
    /// can record that it no longer waits before the events' wakers run on its thread.
    ///
    /// ```
    /// use goro_netpoll::Poller;
    /// use std::time::Duration;
    ///
    /// let poller = Poller::new()?;
    /// let mut woke = false;
    /// poller.wait_then(Some(Duration::ZERO), || woke = true)?;
    /// assert!(woke);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn wait_then(
        &self,
        timeout: Option<Duration>,
        woke: impl FnOnce(),
    ) -> io::Result<WaitOutcome> {
        let mut state = self.poll.lock();
        self.wait_locked(&mut state, timeout, woke)
    }

    /// Like [`Poller::wait`] with a zero timeout, but gives up at once (returning `None`) if
    /// another thread is polling this poller. This is poll stealing's entry point.
    pub fn try_poll_now(&self) -> Option<io::Result<WaitOutcome>> {
        let mut state = self.poll.try_lock()?;
        Some(self.wait_locked(&mut state, Some(Duration::ZERO), || {}))
    }

    /// [`Poller::try_poll_now`] again and again while a poll fetches a full batch, calling
    /// `each` with every outcome; stops when another thread polls this poller or a poll
    /// fails. Whoever polls a poller that a [`PollerWatch`](crate::PollerWatch) watches must
    /// poll this way: the watch is not told again of events a full batch left behind.
    pub fn try_drain_now(&self, mut each: impl FnMut(WaitOutcome)) {
        while let Some(Ok(outcome)) = self.try_poll_now() {
            each(outcome);
            if !outcome.more {
                break;
            }
        }
    }

    fn wait_locked(
        &self,
        state: &mut PollState,
        timeout: Option<Duration>,
        woke: impl FnOnce(),
    ) -> io::Result<WaitOutcome> {
        // Single writer: the poll lock is held.
        self.polls
            .store(self.polls.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        let PollState {
            poll,
            events,
            batch,
        } = state;
        let polled = poll.poll(events, timeout);
        woke();
        match polled {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(WaitOutcome::default()),
            Err(e) => return Err(e),
        }
        let mut outcome = WaitOutcome::default();
        if !events.is_empty() {
            let regs = self.regs.lock();
            let mut fetched = 0;
            for event in events.iter() {
                fetched += 1;
                if event.token() == WAKE_TOKEN {
                    outcome.woken = true;
                } else if let Some(io) = regs.lookup(event.token()) {
                    batch.push((io.clone(), ready_of(event)));
                }
            }
            outcome.more = fetched == EVENTS_CAPACITY;
        }
        outcome.io_events = batch.len();
        // Outside the set's lock: wakers may (de)register.
        for (io, ready) in batch.drain(..) {
            io.readiness.dispatch(ready);
        }
        Ok(outcome)
    }

    /// The descriptor of the epoll instance (stays valid as long as the poller). It is
    /// readable while events are ready, which lets an observer (the scheduler's monitor)
    /// see them with `poll(2)` without taking them from the owner.
    pub fn epoll_fd(&self) -> RawFd {
        self.epoll_fd
    }

    /// Wakes a thread blocked in [`Poller::wait`], or makes the next wait return at once.
    pub fn wake(&self) -> io::Result<()> {
        self.waker.wake()
    }

    /// Runtime shutdown: marks every registration of this poller [`Ready::SHUTDOWN`], which
    /// wakes all their waiters (their waits then fail), and refuses new registrations.
    /// Idempotent.
    pub fn shutdown_all(&self) {
        let states: Vec<Arc<IoState>> = {
            let regs = self.regs.lock();
            self.shutdown.store(true, Ordering::Release);
            regs.slots.iter().filter_map(|s| s.state.clone()).collect()
        };
        // Wakers run outside the set's lock (they may deregister).
        for state in &states {
            state.readiness.shutdown();
        }
    }

    /// Whether [`Poller::shutdown_all`] ran.
    pub fn is_shutdown(&self) -> bool {
        self.shutdown.load(Ordering::Acquire)
    }

    /// The number of live registrations (neither deregistered nor dropped); for leak checks.
    pub fn registrations(&self) -> usize {
        self.regs.lock().live
    }

    /// Whether any source is registered, without taking a lock (a racy hint: a registration
    /// made concurrently may not be seen yet). Lets a processor skip a non-blocking poll of a
    /// poller with nothing on it.
    pub fn has_registrations(&self) -> bool {
        self.live.load(Ordering::Acquire) > 0
    }

    /// Waits completed so far ([`Poller::wait`] and [`Poller::try_poll_now`]); a monitor that
    /// sees it unchanged over an interval knows nobody polled this poller meanwhile.
    pub fn poll_count(&self) -> u64 {
        self.polls.load(Ordering::Relaxed)
    }

    /// Inserts a new state into the set and returns it with its token, or fails if the
    /// poller is shutting down or full.
    pub(crate) fn insert_state(&self) -> io::Result<(Arc<IoState>, mio::Token)> {
        let mut regs = self.regs.lock();
        if self.shutdown.load(Ordering::Acquire) {
            return Err(crate::registration::shutdown_error());
        }
        let index = match regs.free.pop() {
            Some(i) => i,
            None if regs.slots.len() < MAX_REGISTRATIONS => {
                regs.slots.push(Slot::default());
                regs.slots.len() - 1
            }
            None => {
                return Err(io::Error::other(
                    "too many registrations on one goro poller",
                ))
            }
        };
        let state = Arc::new(IoState::new(index));
        regs.slots[index].state = Some(state.clone());
        regs.live += 1;
        self.live.store(regs.live, Ordering::Release);
        Ok((state, regs.token(index)))
    }

    /// Removes `state` from the set if it is still there; events still carrying its token
    /// are ignored from now on. Returns whether it was there.
    pub(crate) fn remove_state(&self, state: &Arc<IoState>) -> bool {
        let removed = {
            let mut regs = self.regs.lock();
            let index = state.index;
            let slot = &mut regs.slots[index];
            match &slot.state {
                Some(s) if Arc::ptr_eq(s, state) => {}
                _ => return false,
            }
            slot.generation = slot.generation.wrapping_add(1);
            let removed = slot.state.take();
            regs.free.push(index);
            regs.live -= 1;
            self.live.store(regs.live, Ordering::Release);
            removed
        };
        // Dropped outside the set's lock.
        drop(removed);
        true
    }
}

/// The readiness an event reports.
fn ready_of(event: &mio::event::Event) -> Ready {
    let mut ready = Ready::EMPTY;
    if event.is_readable() {
        ready |= Ready::READABLE;
    }
    if event.is_writable() {
        ready |= Ready::WRITABLE;
    }
    if event.is_read_closed() {
        ready |= Ready::READ_CLOSED;
    }
    if event.is_write_closed() {
        ready |= Ready::WRITE_CLOSED;
    }
    if event.is_error() {
        ready |= Ready::ERROR;
    }
    ready
}

impl std::fmt::Debug for Poller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poller")
            .field("registrations", &self.registrations())
            .field("shutdown", &self.is_shutdown())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
        assert_eq!(poller.poll_count(), 1);
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
