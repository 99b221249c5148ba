//! [`File`]: an open file whose reads, writes and seeks run on the blocking pool.
//!
//! The design is tokio's. A `File` is either *idle*, holding a buffer, or *busy* with one
//! operation running on a blocking thread, which owns the buffer until it is done:
//!
//! * a read with nothing buffered starts a blocking read of up to [`MAX_BUF`] bytes (at
//!   least [`MIN_READ`], so small reads do not each pay a hand-off) and waits for it; later
//!   reads are served from the buffer (read-ahead);
//! * a write copies the caller's bytes (up to [`MAX_BUF`]) into the buffer, starts a
//!   blocking `write_all` and returns at once (write-behind). Its error, if any, is returned
//!   by the next operation: a write, a flush, a seek. **Flush before dropping a `File`**
//!   whose last write must be known to have succeeded, as with tokio;
//! * a seek waits for the running operation, then runs on a blocking thread; bytes read
//!   ahead and not consumed are accounted for (`SeekFrom::Current` is relative to what the
//!   caller has read), and a write after a read-ahead first moves the OS position back to
//!   where the caller is.
//!
//! It implements `futures_io`'s `AsyncRead`, `AsyncWrite` and `AsyncSeek`, and with the
//! `tokio-io` feature tokio's `AsyncRead`, `AsyncWrite` and `AsyncSeek`.

use super::{blocking, OpenOptions};
use crate::task::JoinHandle;
use std::fs::Metadata;
use std::future::{poll_fn, Future};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::panic::Location;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

/// The most bytes one blocking read or write moves.
const MAX_BUF: usize = 2 * 1024 * 1024;
/// The fewest bytes a blocking read asks for.
const MIN_READ: usize = 8 * 1024;

/// An open file. Read and write it with [`goro::io`](crate::io)'s extension traits.
///
/// ```
/// use goro::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
/// use std::io::SeekFrom;
/// # goro::Runtime::new().unwrap().block_on(async {
/// let path = std::env::temp_dir().join(format!("goro-file-doc-{}", std::process::id()));
/// let mut file = goro::fs::File::create(&path).await?;
/// file.write_all(b"hello, world").await?;
/// file.flush().await?; // the write's error, if any, shows here
///
/// let mut file = goro::fs::File::open(&path).await?;
/// file.seek(SeekFrom::Start(7)).await?;
/// let mut rest = Vec::new();
/// file.read_to_end(&mut rest).await?;
/// assert_eq!(rest, b"world");
/// goro::fs::remove_file(&path).await?;
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct File {
    std: Arc<std::fs::File>,
    state: State,
    /// The running operation is a seek (its result is the answer to `poll_seek`).
    seeking: bool,
}

#[derive(Debug)]
enum State {
    Idle(Buf),
    Busy(JoinHandle<(Operation, Buf)>),
}

/// What a finished blocking operation reports.
#[derive(Debug)]
enum Operation {
    Read(io::Result<()>),
    Write(io::Result<()>),
    Seek(io::Result<u64>),
}

/// Bytes read ahead (`data[pos..]` not yet handed out) or to be written (`data`).
#[derive(Debug, Default)]
struct Buf {
    data: Vec<u8>,
    pos: usize,
}

impl Buf {
    fn unread(&self) -> usize {
        self.data.len() - self.pos
    }

    fn clear(&mut self) {
        self.data.clear();
        self.pos = 0;
    }

    /// Hands out buffered bytes; returns how many.
    fn copy_to(&mut self, dst: &mut [u8]) -> usize {
        let n = self.unread().min(dst.len());
        dst[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        n
    }

    fn read_from(&mut self, file: &std::fs::File, len: usize) -> io::Result<()> {
        self.clear();
        self.data.resize(len, 0);
        let res = loop {
            match (&*file).read(&mut self.data) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                res => break res,
            }
        };
        self.data.truncate(*res.as_ref().unwrap_or(&0));
        res.map(drop)
    }
}

impl File {
    /// Opens the file at `path` for reading.
    #[track_caller]
    pub fn open(path: impl AsRef<Path>) -> impl Future<Output = io::Result<File>> {
        let path = path.as_ref().to_owned();
        let open = blocking(Location::caller(), move || std::fs::File::open(path));
        async move { open.await.map(File::from_std) }
    }

    /// Opens the file at `path` for writing, creating it or truncating it.
    #[track_caller]
    pub fn create(path: impl AsRef<Path>) -> impl Future<Output = io::Result<File>> {
        let path = path.as_ref().to_owned();
        let create = blocking(Location::caller(), move || std::fs::File::create(path));
        async move { create.await.map(File::from_std) }
    }

    /// Options to open a file with (append, create_new, ...): [`OpenOptions::new`].
    ///
    /// ```
    /// # goro::Runtime::new().unwrap().block_on(async {
    /// let path = std::env::temp_dir().join(format!("goro-options-doc-{}", std::process::id()));
    /// let mut file = goro::fs::File::options().write(true).create(true).open(&path).await?;
    /// assert_eq!(file.metadata().await?.len(), 0);
    /// goro::fs::remove_file(&path).await?;
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Wraps an open std file.
    pub fn from_std(file: std::fs::File) -> File {
        File {
            std: Arc::new(file),
            state: State::Idle(Buf::default()),
            seeking: false,
        }
    }

    /// Waits for the running operation (a write's error comes out here), then runs `f` on
    /// the blocking pool with the file.
    #[track_caller]
    fn after_pending<T, F>(&mut self, f: F) -> impl Future<Output = io::Result<T>> + '_
    where
        F: FnOnce(&std::fs::File) -> io::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let at = Location::caller();
        async move {
            poll_fn(|cx| self.poll_idle(cx)).await?;
            let std = self.std.clone();
            blocking(at, move || f(&std)).await
        }
    }

    /// Flushes and syncs data and metadata to the disk (`fsync`).
    #[track_caller]
    pub fn sync_all(&mut self) -> impl Future<Output = io::Result<()>> + '_ {
        self.after_pending(|f| f.sync_all())
    }

    /// Flushes and syncs the data to the disk (`fdatasync`).
    #[track_caller]
    pub fn sync_data(&mut self) -> impl Future<Output = io::Result<()>> + '_ {
        self.after_pending(|f| f.sync_data())
    }

    /// Truncates or extends the file to `size` bytes.
    #[track_caller]
    pub fn set_len(&mut self, size: u64) -> impl Future<Output = io::Result<()>> + '_ {
        self.after_pending(move |f| f.set_len(size))
    }

    /// The file's metadata.
    #[track_caller]
    pub fn metadata(&mut self) -> impl Future<Output = io::Result<Metadata>> + '_ {
        self.after_pending(|f| f.metadata())
    }

    /// Waits for the running operation and drops its result; a failed write is returned.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match ready!(self.poll_busy(cx)) {
            Some(Operation::Write(Err(e))) => Poll::Ready(Err(e)),
            _ => Poll::Ready(Ok(())),
        }
    }

    /// Waits for the running operation, if any, and returns what it reports.
    fn poll_busy(&mut self, cx: &mut Context<'_>) -> Poll<Option<Operation>> {
        let State::Busy(handle) = &mut self.state else {
            return Poll::Ready(None);
        };
        let (op, buf) = match ready!(Pin::new(handle).poll(cx)) {
            Ok(done) => done,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => {
                let err = io::Error::other(format!("file operation cancelled: {e}"));
                (Operation::Write(Err(err)), Buf::default())
            }
        };
        self.state = State::Idle(buf);
        self.seeking = false;
        Poll::Ready(Some(op))
    }

    fn idle_buf(&mut self) -> &mut Buf {
        match &mut self.state {
            State::Idle(buf) => buf,
            State::Busy(_) => unreachable!("File: the buffer is taken while an operation runs"),
        }
    }

    fn start(&mut self, op: impl FnOnce(&std::fs::File, &mut Buf) -> Operation + Send + 'static) {
        let mut buf = std::mem::take(self.idle_buf());
        let std = self.std.clone();
        self.state = State::Busy(crate::task::spawn_blocking(move || {
            let op = op(&std, &mut buf);
            (op, buf)
        }));
    }

    fn poll_read_inner(&mut self, cx: &mut Context<'_>, dst: &mut [u8]) -> Poll<io::Result<usize>> {
        loop {
            match ready!(self.poll_busy(cx)) {
                Some(Operation::Read(res)) => {
                    let buf = self.idle_buf();
                    if let Err(e) = res {
                        buf.clear();
                        return Poll::Ready(Err(e));
                    }
                    return Poll::Ready(Ok(buf.copy_to(dst)));
                }
                Some(Operation::Write(Err(e))) => return Poll::Ready(Err(e)),
                Some(_) => continue,
                None => {}
            }
            let buf = self.idle_buf();
            if buf.unread() > 0 || dst.is_empty() {
                return Poll::Ready(Ok(buf.copy_to(dst)));
            }
            let len = dst.len().clamp(MIN_READ, MAX_BUF);
            self.start(move |f, buf| Operation::Read(buf.read_from(f, len)));
        }
    }

    fn poll_write_inner(&mut self, cx: &mut Context<'_>, src: &[u8]) -> Poll<io::Result<usize>> {
        ready!(self.poll_idle(cx))?;
        let buf = self.idle_buf();
        // Bytes read ahead: the OS position is past the caller's; write where the caller is.
        let back = buf.unread() as i64;
        buf.clear();
        let n = src.len().min(MAX_BUF);
        buf.data.extend_from_slice(&src[..n]);
        self.start(move |mut f, buf| {
            let mut res = Ok(());
            if back > 0 {
                res = f.seek(SeekFrom::Current(-back)).map(drop);
            }
            let res = res.and_then(|()| f.write_all(&buf.data));
            buf.clear();
            Operation::Write(res)
        });
        Poll::Ready(Ok(n))
    }

    /// Starts a seek to `pos` (after waiting for the running operation), adjusting a
    /// relative seek by the bytes read ahead.
    fn start_seek_inner(&mut self, pos: SeekFrom) {
        let buf = self.idle_buf();
        let pos = match pos {
            SeekFrom::Current(n) => SeekFrom::Current(n - buf.unread() as i64),
            pos => pos,
        };
        buf.clear();
        self.start(move |mut f, _| Operation::Seek(f.seek(pos)));
        self.seeking = true;
    }

    /// Seeks to `pos`, or, if a seek started earlier is still running, waits for that one
    /// (then `pos` is not used: the caller is polling the same seek again).
    fn poll_seek_inner(&mut self, cx: &mut Context<'_>, pos: SeekFrom) -> Poll<io::Result<u64>> {
        if !self.seeking {
            ready!(self.poll_idle(cx))?;
            self.start_seek_inner(pos);
        }
        match ready!(self.poll_busy(cx)) {
            Some(Operation::Seek(res)) => Poll::Ready(res),
            _ => unreachable!("File: the running operation is the seek"),
        }
    }
}

impl futures_io::AsyncRead for File {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_read_inner(cx, buf)
    }
}

impl futures_io::AsyncWrite for File {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_inner(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_idle(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_idle(cx)
    }
}

impl futures_io::AsyncSeek for File {
    fn poll_seek(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        self.get_mut().poll_seek_inner(cx, pos)
    }
}

#[cfg(feature = "tokio-io")]
mod tokio_io {
    use super::*;

    impl tokio::io::AsyncRead for File {
        fn poll_read(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let n = ready!(self
                .get_mut()
                .poll_read_inner(cx, buf.initialize_unfilled()))?;
            buf.advance(n);
            Poll::Ready(Ok(()))
        }
    }

    impl tokio::io::AsyncWrite for File {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.get_mut().poll_write_inner(cx, buf)
        }

        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            self.get_mut().poll_idle(cx)
        }

        fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            self.get_mut().poll_idle(cx)
        }
    }

    impl tokio::io::AsyncSeek for File {
        /// Fails if another operation is running: call `poll_complete` first (tokio's rule).
        fn start_seek(self: Pin<&mut Self>, pos: SeekFrom) -> io::Result<()> {
            let this = self.get_mut();
            if let State::Busy(_) = this.state {
                return Err(io::Error::other(
                    "another file operation is running: call poll_complete before start_seek",
                ));
            }
            this.start_seek_inner(pos);
            Ok(())
        }

        fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
            // With no seek running, this reports the position, as tokio's does.
            self.get_mut().poll_seek_inner(cx, SeekFrom::Current(0))
        }
    }
}
