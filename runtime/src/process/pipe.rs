//! The child's stdio pipes as nonblocking goro I/O: [`ChildStdin`], [`ChildStdout`],
//! [`ChildStderr`]. Each is a mio pipe end registered with a processor's poller; reads and
//! writes run the readiness → operation → clear loop of every goro socket.

use crate::net::source::IoSource;
use goro_netpoll::Direction;
use mio::unix::pipe::{Receiver, Sender};
use std::io::{self, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

/// A child's output pipe type (`$name`) made from `$std`.
macro_rules! child_reader {
    ($(#[$doc:meta])* $name:ident, $std:ty) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name {
            io: IoSource<Receiver>,
        }

        impl $name {
            pub(super) fn new(std: $std) -> io::Result<$name> {
                let pipe = Receiver::from(std);
                pipe.set_nonblocking(true)?;
                let poller = crate::net::current_poller();
                Ok($name {
                    io: IoSource::with_poller(pipe, mio::Interest::READABLE, &poller)?,
                })
            }
        }

        impl futures_io::AsyncRead for $name {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.io.poll_op(cx, Direction::Read, |mut p| p.read(buf))
            }
        }

        #[cfg(feature = "tokio-io")]
        impl tokio::io::AsyncRead for $name {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                let dst = buf.initialize_unfilled();
                let n = std::task::ready!(self.io.poll_op(cx, Direction::Read, |mut p| p.read(dst)))?;
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
        }
    };
}

child_reader!(
    /// The read end of a child's stdout (`Stdio::piped()`).
    ChildStdout,
    std::process::ChildStdout
);
child_reader!(
    /// The read end of a child's stderr (`Stdio::piped()`).
    ChildStderr,
    std::process::ChildStderr
);

/// The write end of a child's stdin (`Stdio::piped()`). Drop it to close the child's stdin.
#[derive(Debug)]
pub struct ChildStdin {
    io: IoSource<Sender>,
}

impl ChildStdin {
    pub(super) fn new(std: std::process::ChildStdin) -> io::Result<ChildStdin> {
        let pipe = Sender::from(std);
        pipe.set_nonblocking(true)?;
        let poller = crate::net::current_poller();
        Ok(ChildStdin {
            io: IoSource::with_poller(pipe, mio::Interest::WRITABLE, &poller)?,
        })
    }

    fn poll_write_inner(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io.poll_op(cx, Direction::Write, |mut p| p.write(buf))
    }
}

impl futures_io::AsyncWrite for ChildStdin {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_inner(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Does nothing: drop the `ChildStdin` to close the pipe.
    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(feature = "tokio-io")]
impl tokio::io::AsyncWrite for ChildStdin {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_inner(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
