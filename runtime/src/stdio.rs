//! [`stdin`], [`stdout`], [`stderr`] (tokio's `io::{stdin, stdout, stderr}`): each handle is
//! a `dup(2)` of the descriptor inside a goro [`File`], which does the blocking-pool work;
//! what users see of it is described in the `io` module docs ("Standard streams").

use crate::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::pin::Pin;
use std::task::{Context, Poll};

/// A duplicate of `fd` as a goro file, or why there is none (kept to be returned by every
/// operation: `io::Error` is not `Clone`).
#[derive(Debug)]
struct Stream(Result<File, (io::ErrorKind, String)>);

impl Stream {
    fn dup(name: &str, fd: BorrowedFd<'_>) -> Stream {
        Stream(
            fd.try_clone_to_owned()
                .map(|fd| File::from_std(std::fs::File::from(fd)))
                .map_err(|e| (e.kind(), format!("goro::io::{name}: duplicating fd: {e}"))),
        )
    }

    /// The file, or the error as a fresh `io::Error`.
    fn file(&mut self) -> io::Result<Pin<&mut File>> {
        match &mut self.0 {
            Ok(file) => Ok(Pin::new(file)),
            Err((kind, msg)) => Err(io::Error::new(*kind, msg.clone())),
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
    Stdin(Stream::dup("stdin", io::stdin().as_fd()))
}

/// A handle to the process's standard output. Flush it before the program ends.
pub fn stdout() -> Stdout {
    Stdout(Stream::dup("stdout", io::stdout().as_fd()))
}

/// A handle to the process's standard error. Flush it before the program ends.
pub fn stderr() -> Stderr {
    Stderr(Stream::dup("stderr", io::stderr().as_fd()))
}

impl futures_io::AsyncRead for Stdin {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        futures_io::AsyncRead::poll_read(self.0.file()?, cx, buf)
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
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        tokio::io::AsyncRead::poll_read(self.0.file()?, cx, buf)
    }
}
