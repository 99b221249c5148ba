//! [`stdin`], [`stdout`], [`stderr`] (tokio's `io::{stdin, stdout, stderr}`): each handle is
//! a `dup(2)` of the descriptor inside a goro [`File`], which does the blocking-pool work;
//! what users see of it is described in the `io` module docs ("Standard streams").

use crate::fs::File;
use crate::stats::WaitOp;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::pin::Pin;
use std::task::{Context, Poll};

/// A duplicate of `fd` as a goro file, or why there is none: the OS error number (kept to
/// rebuild the error for every operation: `io::Error` is not `Clone`).
#[derive(Debug)]
struct Stream(Result<File, i32>);

impl Stream {
    fn dup(fd: BorrowedFd<'_>) -> Stream {
        Stream(
            fd.try_clone_to_owned()
                .map(|fd| File::from_std(std::fs::File::from(fd)))
                // `dup(2)` failures always carry an errno; EBADF if somehow not.
                .map_err(|e| e.raw_os_error().unwrap_or(libc::EBADF)),
        )
    }

    /// The file, or the `dup(2)` error again.
    fn file(&mut self) -> io::Result<Pin<&mut File>> {
        match &mut self.0 {
            Ok(file) => Ok(Pin::new(file)),
            Err(errno) => Err(io::Error::from_raw_os_error(*errno)),
        }
    }
}

/// The process's standard input; see the [`io` module docs](crate::io#standard-streams).
#[derive(Debug)]
pub struct Stdin(Stream);

/// The process's standard output; see the [`io` module docs](crate::io#standard-streams).
#[derive(Debug)]
pub struct Stdout(Stream);

/// The process's standard error; see the [`io` module docs](crate::io#standard-streams).
#[derive(Debug)]
pub struct Stderr(Stream);

/// A handle to the process's standard input.
///
/// ```no_run
/// use goro::io::{AsyncReadExt, AsyncWriteExt};
/// # goro::Runtime::new().unwrap().block_on(async {
/// let mut input = Vec::new();
/// goro::io::stdin().read_to_end(&mut input).await?;
/// let mut out = goro::io::stdout();
/// out.write_all(&input.to_ascii_uppercase()).await?;
/// out.flush().await?; // waits for the write
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
pub fn stdin() -> Stdin {
    Stdin(Stream::dup(io::stdin().as_fd()))
}

/// A handle to the process's standard output. Flush it before the program ends.
pub fn stdout() -> Stdout {
    Stdout(Stream::dup(io::stdout().as_fd()))
}

/// A handle to the process's standard error. Flush it before the program ends.
pub fn stderr() -> Stderr {
    Stderr(Stream::dup(io::stderr().as_fd()))
}

/// A stdin read waits on `Stdin::read` at its caller (an outside wait: the terminal or the
/// pipe's writer ends it), not on the blocking pool's `JoinHandle` inside `File`.
impl futures_io::AsyncRead for Stdin {
    #[track_caller]
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let poll = futures_io::AsyncRead::poll_read(self.0.file()?, cx, buf);
        crate::net::trace::tag(WaitOp::StdinRead, poll)
    }
}

/// `futures_io::AsyncWrite` (and tokio's, with `tokio-io`) for an output stream type.
macro_rules! output_stream {
    ($ty:ident) => {
        impl futures_io::AsyncWrite for $ty {
            fn poll_write(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                futures_io::AsyncWrite::poll_write(self.0.file()?, cx, buf)
            }

            fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                futures_io::AsyncWrite::poll_flush(self.0.file()?, cx)
            }

            fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                futures_io::AsyncWrite::poll_close(self.0.file()?, cx)
            }
        }

        #[cfg(feature = "tokio-io")]
        impl tokio::io::AsyncWrite for $ty {
            fn poll_write(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                tokio::io::AsyncWrite::poll_write(self.0.file()?, cx, buf)
            }

            fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                tokio::io::AsyncWrite::poll_flush(self.0.file()?, cx)
            }

            fn poll_shutdown(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
            ) -> Poll<io::Result<()>> {
                tokio::io::AsyncWrite::poll_shutdown(self.0.file()?, cx)
            }
        }
    };
}

output_stream!(Stdout);
output_stream!(Stderr);

#[cfg(feature = "tokio-io")]
impl tokio::io::AsyncRead for Stdin {
    #[track_caller]
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let poll = tokio::io::AsyncRead::poll_read(self.0.file()?, cx, buf);
        crate::net::trace::tag(WaitOp::StdinRead, poll)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// A task waiting for input names `Stdin::read` at its own line, an outside wait (not
    /// the blocking pool's `JoinHandle` inside goro's `File`).
    #[test]
    fn a_waiting_read_names_stdin_at_the_caller() {
        use crate::io::AsyncReadExt;
        use std::io::Write;
        let rt = crate::Runtime::builder().processors(1).build().unwrap();
        rt.block_on(async {
            let (reader, mut writer) = std::io::pipe().unwrap();
            let file = File::from_std(std::fs::File::from(std::os::fd::OwnedFd::from(reader)));
            let mut input = Stdin(Stream(Ok(file)));
            let read_line = line!() + 3;
            let task = crate::spawn(async move {
                let mut buf = [0u8; 5];
                input.read_exact(&mut buf).await.map(|_| buf)
            });
            let deadline = Instant::now() + Duration::from_secs(10);
            let at = loop {
                let dump = crate::stats::tasks();
                let waiting = dump
                    .groups
                    .iter()
                    .find(|g| g.wait_op == Some(WaitOp::StdinRead));
                if let Some(at) = waiting.and_then(|g| g.suspended_at) {
                    break at;
                }
                assert!(
                    Instant::now() < deadline,
                    "no task waits on Stdin::read:\n{dump}"
                );
                crate::time::sleep(Duration::from_millis(5)).await;
            };
            assert_eq!((at.file(), at.line()), (file!(), read_line));
            assert_eq!(WaitOp::StdinRead.kind(), crate::stats::WaitKind::Socket);
            writer.write_all(b"hello").unwrap();
            assert_eq!(&task.await.unwrap().unwrap(), b"hello");
        });
    }
}
