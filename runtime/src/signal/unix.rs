//! Unix signals: [`signal`] makes a [`Signal`] stream for a [`SignalKind`]; see the
//! [module docs](super) for how delivery works.

use crate::net::trace;
use crate::net::UnixStream;
use crate::stats::WaitOp;
use signal_hook::SigId;
use std::fmt;
use std::future::Future;
use std::io;
use std::os::raw::c_int;
use std::task::{Context, Poll};

/// Which signal to listen for (tokio's type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignalKind(c_int);

impl SignalKind {
    /// Any signal by number, for those without a constructor here.
    pub const fn from_raw(signum: c_int) -> SignalKind {
        SignalKind(signum)
    }

    /// The signal's number.
    pub const fn as_raw_value(&self) -> c_int {
        self.0
    }

    /// `SIGINT`: Ctrl-C in a terminal.
    pub const fn interrupt() -> SignalKind {
        SignalKind(libc::SIGINT)
    }

    /// `SIGTERM`: the polite request to stop (`kill`, container runtimes, systemd).
    pub const fn terminate() -> SignalKind {
        SignalKind(libc::SIGTERM)
    }

    /// `SIGHUP`: the terminal went away; by convention, reload the configuration.
    pub const fn hangup() -> SignalKind {
        SignalKind(libc::SIGHUP)
    }

    /// `SIGQUIT`.
    pub const fn quit() -> SignalKind {
        SignalKind(libc::SIGQUIT)
    }

    /// `SIGUSR1`.
    pub const fn user_defined1() -> SignalKind {
        SignalKind(libc::SIGUSR1)
    }

    /// `SIGUSR2`.
    pub const fn user_defined2() -> SignalKind {
        SignalKind(libc::SIGUSR2)
    }

    /// `SIGCHLD`: a child process changed state.
    pub const fn child() -> SignalKind {
        SignalKind(libc::SIGCHLD)
    }

    /// `SIGPIPE`.
    pub const fn pipe() -> SignalKind {
        SignalKind(libc::SIGPIPE)
    }

    /// `SIGALRM`.
    pub const fn alarm() -> SignalKind {
        SignalKind(libc::SIGALRM)
    }

    /// `SIGWINCH`: the terminal's size changed.
    pub const fn window_change() -> SignalKind {
        SignalKind(libc::SIGWINCH)
    }
}

/// A stream of deliveries of one signal; see [`signal`]. Dropping it stops listening.
pub struct Signal {
    kind: SignalKind,
    pipe: UnixStream,
    id: SigId,
}

/// Starts listening for `kind`. Fails with `InvalidInput` for signals a process cannot or
/// must not handle (`SIGKILL`, `SIGSTOP`, `SIGSEGV`, `SIGILL`, `SIGFPE`), and with the OS
/// error if the handler or the pipe cannot be set up.
///
/// # Panics
/// Outside a goro runtime (the pipe registers with a processor's poller).
///
/// ```
/// use goro::signal::unix::{signal, SignalKind};
/// # goro::Runtime::new().unwrap().block_on(async {
/// let mut usr1 = signal(SignalKind::user_defined1())?;
/// // SAFETY (of the example): raise only sends a signal to this process.
/// unsafe { libc::raise(libc::SIGUSR1) };
/// assert_eq!(usr1.recv().await, Some(()));
///
/// let err = signal(SignalKind::from_raw(libc::SIGKILL)).unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
#[track_caller]
pub fn signal(kind: SignalKind) -> io::Result<Signal> {
    if signal_hook::consts::FORBIDDEN.contains(&kind.0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "signal {}: SIGKILL, SIGSTOP, SIGSEGV, SIGILL and SIGFPE cannot be listened for",
                kind.0
            ),
        ));
    }
    let (read, write) = std::os::unix::net::UnixStream::pair()?;
    write.set_nonblocking(true)?;
    let pipe = UnixStream::from_std(read)?;
    // The handler writes a byte to `write` on each delivery (and drops it if the pipe is full:
    // deliveries coalesce anyway).
    let id = signal_hook::low_level::pipe::register(kind.0, write)?;
    Ok(Signal { kind, pipe, id })
}

/// Bytes taken from the pipe per read: deliveries pending at once are coalesced.
const DRAIN: usize = 64;

impl Signal {
    /// Waits for the next delivery; `None` once no more can come (never, while the stream
    /// lives). Cancel-safe: a delivery is not lost if the future is dropped.
    #[track_caller]
    pub fn recv(&mut self) -> impl Future<Output = Option<()>> + '_ {
        trace::wait(WaitOp::Signal, move |cx| self.poll_recv(cx))
    }

    /// Polls for a delivery: every delivery pending now counts as one.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        let mut buf = [0u8; DRAIN];
        let mut got = false;
        loop {
            match self.pipe.io.poll_read(cx, &mut buf) {
                Poll::Ready(Ok(DRAIN)) => got = true,
                Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => return Poll::Ready(got.then_some(())),
                Poll::Ready(Ok(_)) => return Poll::Ready(Some(())),
                Poll::Pending if got => return Poll::Ready(Some(())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        signal_hook::low_level::unregister(self.id);
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal").field("kind", &self.kind).finish()
    }
}
