//! Files and directories, with tokio's names: each call runs the `std::fs` call of the same
//! name on the runtime's blocking pool, so a slow disk never stalls a processor.
//!
//! Filesystems have no readiness to wait for (epoll reports regular files as always
//! ready), so goro does what tokio does: every operation is a closure on a blocking thread,
//! and the task waits on its `JoinHandle`. That costs a thread hand-off per call (a few
//! microseconds): read and write whole files with [`read`] and [`write()`] where you can, and
//! keep [`File`] for streaming. [`File`] reads ahead and writes behind in a buffer so that
//! small reads and writes do not each pay the hand-off; see its docs. [`OpenOptions`] opens
//! a [`File`] for appending, with `create_new` and so on; [`read_dir`] lists a directory a
//! chunk of entries per hand-off.
//!
//! The spawn site of each blocking call is the caller's line (`#[track_caller]`), so task
//! dumps show where the file operation came from.
//!
//! Like tokio's, these futures panic when polled outside a goro runtime.
//!
//! ```
//! # goro::Runtime::new().unwrap().block_on(async {
//! let dir = std::env::temp_dir().join(format!("goro-fs-doc-{}", std::process::id()));
//! goro::fs::create_dir_all(&dir).await?;
//! let path = dir.join("hello.txt");
//! goro::fs::write(&path, "hello").await?;
//! assert_eq!(goro::fs::read_to_string(&path).await?, "hello");
//! assert_eq!(goro::fs::metadata(&path).await?.len(), 5);
//! goro::fs::remove_file(&path).await?;
//! goro::fs::remove_dir(&dir).await?;
//! # Ok::<(), std::io::Error>(())
//! # }).unwrap();
//! ```

mod file;
mod open_options;
mod read_dir;

pub use file::File;
pub use open_options::OpenOptions;
pub use read_dir::{read_dir, DirEntry, ReadDir};
pub use std::fs::{FileType, Metadata, Permissions};

use crate::Handle;
use std::future::Future;
use std::io;
use std::panic::Location;
use std::path::{Path, PathBuf};

/// Runs `f` on the blocking pool of the current runtime, with `at` as its spawn site.
pub(crate) async fn blocking<T, F>(at: &'static Location<'static>, f: F) -> io::Result<T>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    let handle = Handle::current();
    match handle.as_sched().spawn_blocking_at(f, at).await {
        Ok(res) => res,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(io::Error::other(format!("blocking file operation: {e}"))),
    }
}

/// Reads the whole file at `path`.
#[track_caller]
pub fn read(path: impl AsRef<Path>) -> impl Future<Output = io::Result<Vec<u8>>> {
    let path = path.as_ref().to_owned();
    blocking(Location::caller(), move || std::fs::read(path))
}

/// Reads the whole file at `path` as UTF-8 (`InvalidData` if it is not).
#[track_caller]
pub fn read_to_string(path: impl AsRef<Path>) -> impl Future<Output = io::Result<String>> {
    let path = path.as_ref().to_owned();
    blocking(Location::caller(), move || std::fs::read_to_string(path))
}

/// Writes `contents` to the file at `path`, creating it or truncating it first.
#[track_caller]
pub fn write(
    path: impl AsRef<Path>,
    contents: impl AsRef<[u8]>,
) -> impl Future<Output = io::Result<()>> {
    let path = path.as_ref().to_owned();
    let contents = contents.as_ref().to_owned();
    blocking(Location::caller(), move || std::fs::write(path, contents))
}

/// Creates the directory `path` (its parent must exist).
#[track_caller]
pub fn create_dir(path: impl AsRef<Path>) -> impl Future<Output = io::Result<()>> {
    let path = path.as_ref().to_owned();
    blocking(Location::caller(), move || std::fs::create_dir(path))
}

/// Creates the directory `path` and any missing parents.
#[track_caller]
pub fn create_dir_all(path: impl AsRef<Path>) -> impl Future<Output = io::Result<()>> {
    let path = path.as_ref().to_owned();
    blocking(Location::caller(), move || std::fs::create_dir_all(path))
}

/// Removes the file at `path`.
#[track_caller]
pub fn remove_file(path: impl AsRef<Path>) -> impl Future<Output = io::Result<()>> {
    let path = path.as_ref().to_owned();
    blocking(Location::caller(), move || std::fs::remove_file(path))
}

/// Removes the empty directory `path`.
#[track_caller]
pub fn remove_dir(path: impl AsRef<Path>) -> impl Future<Output = io::Result<()>> {
    let path = path.as_ref().to_owned();
    blocking(Location::caller(), move || std::fs::remove_dir(path))
}

/// Removes the directory `path` and everything in it.
#[track_caller]
pub fn remove_dir_all(path: impl AsRef<Path>) -> impl Future<Output = io::Result<()>> {
    let path = path.as_ref().to_owned();
    blocking(Location::caller(), move || std::fs::remove_dir_all(path))
}

/// Renames `from` to `to`, replacing `to` if it exists.
#[track_caller]
pub fn rename(
    from: impl AsRef<Path>,
    to: impl AsRef<Path>,
) -> impl Future<Output = io::Result<()>> {
    let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
    blocking(Location::caller(), move || std::fs::rename(from, to))
}

/// Copies the file `from` to `to`; returns the number of bytes copied.
#[track_caller]
pub fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> impl Future<Output = io::Result<u64>> {
    let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
    blocking(Location::caller(), move || std::fs::copy(from, to))
}

/// The metadata of `path`, following symbolic links.
#[track_caller]
pub fn metadata(path: impl AsRef<Path>) -> impl Future<Output = io::Result<Metadata>> {
    let path = path.as_ref().to_owned();
    blocking(Location::caller(), move || std::fs::metadata(path))
}

/// The absolute form of `path`, with symbolic links resolved.
#[track_caller]
pub fn canonicalize(path: impl AsRef<Path>) -> impl Future<Output = io::Result<PathBuf>> {
    let path = path.as_ref().to_owned();
    blocking(Location::caller(), move || std::fs::canonicalize(path))
}

/// Whether `path` exists; an error if that cannot be told (permissions, ...).
#[track_caller]
pub fn try_exists(path: impl AsRef<Path>) -> impl Future<Output = io::Result<bool>> {
    let path = path.as_ref().to_owned();
    blocking(Location::caller(), move || path.try_exists())
}
