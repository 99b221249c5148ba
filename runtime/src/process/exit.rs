//! [`ExitWatch`]: waiting for a child's exit without reaping it (see the
//! [module docs](super)): a pidfd on the poller, or a blocking `waitid` on the blocking pool.

use crate::net::source::IoSource;
use crate::task::JoinHandle;
use goro_netpoll::Direction;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::task::{ready, Context, Poll};

/// Tells when a child has exited.
pub(super) enum ExitWatch {
    /// The child's pidfd, registered with a poller: readable once the child exits.
    PidFd(IoSource<PidFd>),
    /// No pidfds (old kernel): a blocking thread waits in `waitid(WNOWAIT)`.
    Blocking(u32, Option<JoinHandle<io::Result<bool>>>),
}

impl ExitWatch {
    /// Watches `child` (which must not have been reaped).
    ///
    /// # Panics
    /// Outside a goro runtime.
    pub(super) fn new(child: &std::process::Child) -> io::Result<ExitWatch> {
        match pidfd_open(child.id()) {
            Ok(fd) => {
                let poller = crate::net::current_poller();
                let source = IoSource::with_poller(PidFd(fd), mio::Interest::READABLE, &poller)?;
                Ok(ExitWatch::PidFd(source))
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
                Ok(ExitWatch::Blocking(child.id(), None))
            }
            Err(e) => Err(e),
        }
    }

    /// Ready once the child has exited; it is then left for the caller to reap.
    pub(super) fn poll_exited(
        &mut self,
        cx: &mut Context<'_>,
        child: &std::process::Child,
    ) -> Poll<io::Result<()>> {
        match self {
            ExitWatch::PidFd(source) => source.poll_op(cx, Direction::Read, |_| {
                // The readiness says it exited; check, so a spurious event just waits again.
                match exited(child.id(), false)? {
                    true => Ok(()),
                    false => Err(io::ErrorKind::WouldBlock.into()),
                }
            }),
            ExitWatch::Blocking(pid, running) => {
                let pid = *pid;
                let handle = running
                    .get_or_insert_with(|| crate::task::spawn_blocking(move || exited(pid, true)));
                let res = ready!(std::pin::Pin::new(handle).poll(cx));
                *running = None;
                Poll::Ready(match res {
                    Ok(res) => res.map(drop),
                    Err(e) => Err(io::Error::other(format!("waiting for the child: {e}"))),
                })
            }
        }
    }
}

use std::future::Future;

/// Whether child `pid` has exited, without reaping it (`waitid` with `WNOWAIT`); `block`
/// waits for the exit.
fn exited(pid: u32, block: bool) -> io::Result<bool> {
    let flags = libc::WEXITED | libc::WNOWAIT | if block { 0 } else { libc::WNOHANG };
    loop {
        // SAFETY: an all-zero `siginfo_t` is a valid value (it is plain data), and `waitid`
        // writes at most one `siginfo_t` to the pointer we pass, which points to it.
        let (res, info) = unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            let res = libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, flags);
            (res, info)
        };
        if res == 0 {
            // SAFETY: `waitid` succeeded, so `info` holds a `SIGCHLD` record (or zeros with
            // `WNOHANG` and no exit yet), for which `si_pid` is the field to read.
            return Ok(unsafe { info.si_pid() } != 0);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    // SAFETY: `pidfd_open` takes a pid and flags by value and returns a new descriptor or -1;
    // it touches no memory of ours.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the syscall returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

/// A pidfd as a mio source.
#[derive(Debug)]
pub(super) struct PidFd(OwnedFd);

impl mio::event::Source for PidFd {
    fn register(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> io::Result<()> {
        mio::unix::SourceFd(&self.0.as_raw_fd()).register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &mio::Registry,
        token: mio::Token,
        interests: mio::Interest,
    ) -> io::Result<()> {
        mio::unix::SourceFd(&self.0.as_raw_fd()).reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &mio::Registry) -> io::Result<()> {
        mio::unix::SourceFd(&self.0.as_raw_fd()).deregister(registry)
    }
}
