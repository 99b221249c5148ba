//! [`Registration`]: a mio source registered on one [`Poller`], with its readiness.
//!
//! ## Life cycle
//!
//! 1. [`Registration::new`] puts a fresh shared state (`IoState`: the [`Readiness`] word and
//!    its two waker slots) into the poller's registration set, then registers the source with
//!    the poller's `mio::Registry`, edge-triggered, under the token of the state's slot (index
//!    and generation, see `poller.rs`). The source stays on this poller (this processor) for
//!    its whole life.
//! 2. Tasks wait with [`Registration::poll_ready`] and report `WouldBlock` with
//!    [`Registration::clear_readiness`], or let [`Registration::poll_io`] (and its `async`
//!    twin [`Registration::io`]) run that loop: wait until ready, try the operation, on
//!    `WouldBlock` clear the readiness of the event it acted on (with that event's tick) and
//!    wait again. Whoever polls the poller dispatches events to the state and wakes the
//!    waiting task on its own thread.
//! 3. [`Registration::deregister`] (from any thread, also while another thread blocks in
//!    [`Poller::wait`]) removes the source from epoll and the state from the poller's set (an
//!    event for it that a concurrent wait already fetched is then ignored) and shuts the
//!    readiness down, so a task still waiting (the other half of a split stream, say) wakes
//!    and gets an error. Owners of a source should call it before closing the source.
//!    Dropping a `Registration` without it removes the state from the set too and drops the
//!    wakers; only the epoll entry stays until the source is closed (its events are ignored).
//!
//! A registration whose poller ran [`Poller::shutdown_all`] answers every wait with an
//! `io::ErrorKind::Other` error "goro runtime is shutting down".

use crate::poller::Poller;
use crate::readiness::{Direction, Readiness, ReadyEvent};
use std::fmt;
use std::io;
use std::sync::Arc;
use std::task::{Context, Poll};

/// The state a poller event reaches through its token.
pub(crate) struct IoState {
    pub(crate) readiness: Readiness,
    /// The slot of the poller's registration set that holds this state.
    pub(crate) index: usize,
}

impl IoState {
    pub(crate) fn new(index: usize) -> IoState {
        IoState {
            readiness: Readiness::new(),
            index,
        }
    }
}

/// The error a wait returns once the runtime shuts down.
pub(crate) fn shutdown_error() -> io::Error {
    io::Error::other("goro runtime is shutting down")
}

fn deregistered_error() -> io::Error {
    io::Error::other("I/O source was deregistered from its goro poller")
}

/// A source registered on one [`Poller`], and its readiness.
///
/// ```
/// use goro_netpoll::{Direction, Poller, Registration};
/// use std::sync::Arc;
///
/// let poller = Arc::new(Poller::new()?);
/// let mut listener = mio::net::TcpListener::bind("127.0.0.1:0".parse().unwrap())?;
/// let reg = Registration::new(&poller, &mut listener, mio::Interest::READABLE)?;
/// let mut client = std::net::TcpStream::connect(listener.local_addr()?)?;
/// // The connection makes the listener readable; the poller dispatches that event.
/// while reg.readiness(Direction::Read).ready().is_empty() {
///     poller.wait(None)?;
/// }
/// let (_stream, _peer) = reg.try_io(Direction::Read, || listener.accept())?;
/// reg.deregister(&mut listener)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Registration {
    state: Arc<IoState>,
    poller: Arc<Poller>,
}

impl Registration {
    /// Registers `source` with `poller` for `interest`, edge-triggered. Fails if the OS
    /// refuses or the poller is shutting down.
    pub fn new<S>(
        poller: &Arc<Poller>,
        source: &mut S,
        interest: mio::Interest,
    ) -> io::Result<Registration>
    where
        S: mio::event::Source + ?Sized,
    {
        let (state, token) = poller.insert_state()?;
        if let Err(e) = poller.registry().register(source, token, interest) {
            poller.remove_state(&state);
            return Err(e);
        }
        Ok(Registration {
            state,
            poller: poller.clone(),
        })
    }

    /// The poller this source is registered on.
    pub fn poller(&self) -> &Arc<Poller> {
        &self.poller
    }

    fn closed_error(&self) -> io::Error {
        if self.poller.is_shutdown() {
            shutdown_error()
        } else {
            deregistered_error()
        }
    }

    /// Waits for readiness in `dir`; see [`Readiness::poll_ready`]. Fails once the
    /// registration is deregistered or the runtime shuts down.
    pub fn poll_ready(&self, cx: &mut Context<'_>, dir: Direction) -> Poll<io::Result<ReadyEvent>> {
        match self.state.readiness.poll_ready(cx, dir) {
            Poll::Ready(ev) if ev.ready().is_shutdown() => Poll::Ready(Err(self.closed_error())),
            Poll::Ready(ev) => Poll::Ready(Ok(ev)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// The current readiness in `dir` (possibly empty), without waiting.
    pub fn readiness(&self, dir: Direction) -> ReadyEvent {
        self.state.readiness.current(dir)
    }

    /// An operation on the source returned `WouldBlock` after `ev`: forget `ev`'s readiness
    /// unless newer readiness arrived meanwhile. See [`Readiness::clear_readiness`].
    pub fn clear_readiness(&self, ev: ReadyEvent) {
        self.state.readiness.clear_readiness(ev);
    }

    /// Runs `op` once readiness in `dir` allows: waits until ready, calls `op`, and on
    /// `WouldBlock` clears that readiness and waits again. Any other result is returned.
    ///
    /// ```
    /// use goro_netpoll::{Direction, Registration};
    /// use std::io::{self, Read};
    /// use std::task::{Context, Poll};
    ///
    /// fn poll_read(
    ///     reg: &Registration,
    ///     stream: &mio::net::TcpStream,
    ///     cx: &mut Context<'_>,
    ///     buf: &mut [u8],
    /// ) -> Poll<io::Result<usize>> {
    ///     reg.poll_io(cx, Direction::Read, || (&*stream).read(buf))
    /// }
    /// ```
    pub fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            let ev = match self.poll_ready(cx, dir) {
                Poll::Ready(Ok(ev)) => ev,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            };
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear_readiness(ev),
                res => return Poll::Ready(res),
            }
        }
    }

    /// Runs `op` if the current readiness in `dir` allows, without registering a waker:
    /// `WouldBlock` if not ready (or if `op` says so, which also clears the readiness).
    pub fn try_io<R>(&self, dir: Direction, op: impl FnOnce() -> io::Result<R>) -> io::Result<R> {
        let ev = self.readiness(dir);
        if ev.ready().is_shutdown() {
            return Err(self.closed_error());
        }
        if ev.ready().is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let res = op();
        if matches!(&res, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
            self.clear_readiness(ev);
        }
        res
    }

    /// `async` form of [`Registration::poll_ready`].
    pub async fn ready(&self, dir: Direction) -> io::Result<ReadyEvent> {
        std::future::poll_fn(|cx| self.poll_ready(cx, dir)).await
    }

    /// `async` form of [`Registration::poll_io`].
    pub async fn io<R>(
        &self,
        dir: Direction,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        std::future::poll_fn(|cx| self.poll_io(cx, dir, &mut op)).await
    }

    /// Removes `source` (the one given to [`Registration::new`]) from the poller, from any
    /// thread, and wakes any task still waiting on this registration (its wait fails). Later
    /// waits fail too. Returns the OS's error if the source could not be removed from epoll
    /// (the registration is shut down all the same).
    pub fn deregister<S>(&self, source: &mut S) -> io::Result<()>
    where
        S: mio::event::Source + ?Sized,
    {
        let res = self.poller.registry().deregister(source);
        self.poller.remove_state(&self.state);
        self.state.readiness.shutdown();
        res
    }

    #[cfg(test)]
    pub(crate) fn state_weak(&self) -> std::sync::Weak<IoState> {
        Arc::downgrade(&self.state)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // Without the source it cannot leave epoll, but its events are ignored from now on.
        self.poller.remove_state(&self.state);
        // A concurrent wait may still hold the state for a moment: drop the wakers now.
        self.state.readiness.clear_wakers();
    }
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("readiness", &self.state.readiness)
            .finish_non_exhaustive()
    }
}
