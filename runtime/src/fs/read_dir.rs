//! [`read_dir`]: a directory's entries, read on the blocking pool a chunk at a time.
//!
//! `std::fs::ReadDir` is an iterator whose `next` may block on the disk. [`ReadDir`] moves
//! it to a blocking thread to read up to [`CHUNK`] entries, keeps them, and hands them out
//! one per [`next_entry`](ReadDir::next_entry) without a hand-off until they run out (as
//! tokio does). A [`DirEntry`]'s `metadata` and `file_type` may also touch the disk, so they
//! are async too.

use super::{blocking, Metadata};
use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt;
use std::fs::FileType;
use std::future::{poll_fn, Future};
use std::io;
use std::panic::Location;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

/// Entries read per blocking hand-off.
const CHUNK: usize = 32;

/// Entries read ahead, and the iterator if the directory may hold more.
type Chunk = (
    VecDeque<io::Result<std::fs::DirEntry>>,
    Option<std::fs::ReadDir>,
);

/// Opens the directory `path` for reading its entries (not `.` and `..`), in the order the
/// filesystem gives them.
///
/// ```
/// # goro::Runtime::new().unwrap().block_on(async {
/// let dir = std::env::temp_dir().join(format!("goro-read-dir-doc-{}", std::process::id()));
/// goro::fs::create_dir_all(&dir).await?;
/// goro::fs::write(dir.join("a.txt"), "a").await?;
/// goro::fs::create_dir(dir.join("sub")).await?;
/// let mut names = Vec::new();
/// let mut entries = goro::fs::read_dir(&dir).await?;
/// while let Some(entry) = entries.next_entry().await? {
///     let kind = if entry.file_type().await?.is_dir() { "dir" } else { "file" };
///     names.push(format!("{} {kind}", entry.file_name().to_string_lossy()));
/// }
/// names.sort();
/// assert_eq!(names, ["a.txt file", "sub dir"]);
/// goro::fs::remove_dir_all(&dir).await?;
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
#[track_caller]
pub fn read_dir(path: impl AsRef<Path>) -> impl Future<Output = io::Result<ReadDir>> {
    let at = Location::caller();
    let path = path.as_ref().to_owned();
    let open = blocking(at, move || std::fs::read_dir(path));
    async move {
        let std = open.await?;
        Ok(ReadDir {
            entries: VecDeque::new(),
            std: Some(std),
            reading: None,
            at,
        })
    }
}

/// The entries of a directory, from [`read_dir`].
pub struct ReadDir {
    entries: VecDeque<io::Result<std::fs::DirEntry>>,
    /// `None` once the directory is exhausted, or while a chunk is being read.
    std: Option<std::fs::ReadDir>,
    reading: Option<Pin<Box<dyn Future<Output = io::Result<Chunk>> + Send>>>,
    /// The spawn site of the blocking reads: the `read_dir` call.
    at: &'static Location<'static>,
}

impl ReadDir {
    /// The next entry, `Ok(None)` at the end. An error reading one entry is returned in its
    /// place; the entries after it can still be read. Cancel-safe: dropping the future
    /// loses no entry.
    pub async fn next_entry(&mut self) -> io::Result<Option<DirEntry>> {
        poll_fn(|cx| self.poll_next_entry(cx)).await
    }

    /// Polls for the next entry, `Ready(Ok(None))` at the end.
    pub fn poll_next_entry(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<DirEntry>>> {
        loop {
            if let Some(entry) = self.entries.pop_front() {
                return Poll::Ready(entry.map(|std| Some(DirEntry { std: Arc::new(std) })));
            }
            if let Some(reading) = &mut self.reading {
                let res = ready!(reading.as_mut().poll(cx));
                self.reading = None;
                (self.entries, self.std) = res?;
                continue;
            }
            let Some(mut std) = self.std.take() else {
                return Poll::Ready(Ok(None));
            };
            self.reading = Some(Box::pin(blocking(self.at, move || {
                let entries: VecDeque<_> = std.by_ref().take(CHUNK).collect();
                let more = entries.len() == CHUNK;
                Ok((entries, more.then_some(std)))
            })));
        }
    }
}

impl fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadDir")
            .field("buffered", &self.entries.len())
            .field("done", &(self.std.is_none() && self.reading.is_none()))
            .finish()
    }
}

/// One entry of a directory, from [`ReadDir::next_entry`].
#[derive(Debug, Clone)]
pub struct DirEntry {
    std: Arc<std::fs::DirEntry>,
}

impl DirEntry {
    /// The entry's full path: the directory given to [`read_dir`] joined with its name.
    pub fn path(&self) -> PathBuf {
        self.std.path()
    }

    /// The entry's name, without its directory.
    pub fn file_name(&self) -> OsString {
        self.std.file_name()
    }

    /// The entry's metadata, not following a symbolic link.
    #[track_caller]
    pub fn metadata(&self) -> impl Future<Output = io::Result<Metadata>> {
        let std = self.std.clone();
        blocking(Location::caller(), move || std.metadata())
    }

    /// The entry's type (file, directory, symbolic link...), not following a link.
    #[track_caller]
    pub fn file_type(&self) -> impl Future<Output = io::Result<FileType>> {
        let std = self.std.clone();
        blocking(Location::caller(), move || std.file_type())
    }

    /// The entry's inode number.
    #[cfg(unix)]
    pub fn ino(&self) -> u64 {
        std::os::unix::fs::DirEntryExt::ino(&*self.std)
    }
}
