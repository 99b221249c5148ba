//! [`OpenOptions`]: how to open a [`File`], as `std::fs::OpenOptions` (and tokio's), with the
//! open itself on the blocking pool.

use super::{blocking, File};
use std::future::Future;
use std::io;
use std::panic::Location;
use std::path::Path;

/// Options for opening a file: read, write, append, truncate, create. Each setter mirrors
/// `std::fs::OpenOptions`'s; [`open`](OpenOptions::open) runs the open on the blocking pool.
/// Also made by [`File::options`].
///
/// ```
/// use goro::fs::OpenOptions;
/// use goro::io::AsyncWriteExt;
/// # goro::Runtime::new().unwrap().block_on(async {
/// let path = std::env::temp_dir().join(format!("goro-open-doc-{}", std::process::id()));
/// let mut log = OpenOptions::new().create(true).append(true).open(&path).await?;
/// log.write_all(b"one\n").await?;
/// log.flush().await?;
/// let mut log = OpenOptions::new().append(true).open(&path).await?;
/// log.write_all(b"two\n").await?;
/// log.flush().await?;
/// assert_eq!(goro::fs::read_to_string(&path).await?, "one\ntwo\n");
/// let exists = OpenOptions::new().write(true).create_new(true).open(&path).await;
/// assert_eq!(exists.unwrap_err().kind(), std::io::ErrorKind::AlreadyExists);
/// goro::fs::remove_file(&path).await?;
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct OpenOptions {
    std: std::fs::OpenOptions,
}

impl OpenOptions {
    /// All options off (as `std::fs::OpenOptions::new`): set at least `read`, `write` or
    /// `append` before opening.
    pub fn new() -> OpenOptions {
        OpenOptions {
            std: std::fs::OpenOptions::new(),
        }
    }

    /// Open for reading.
    pub fn read(&mut self, read: bool) -> &mut OpenOptions {
        self.std.read(read);
        self
    }

    /// Open for writing.
    pub fn write(&mut self, write: bool) -> &mut OpenOptions {
        self.std.write(write);
        self
    }

    /// Open for appending: every write goes to the end of the file.
    pub fn append(&mut self, append: bool) -> &mut OpenOptions {
        self.std.append(append);
        self
    }

    /// Truncate the file to 0 bytes on opening (needs `write`).
    pub fn truncate(&mut self, truncate: bool) -> &mut OpenOptions {
        self.std.truncate(truncate);
        self
    }

    /// Create the file if it does not exist (needs `write` or `append`).
    pub fn create(&mut self, create: bool) -> &mut OpenOptions {
        self.std.create(create);
        self
    }

    /// Create the file, failing with `AlreadyExists` if it exists (needs `write` or
    /// `append`); `create` and `truncate` are then ignored.
    pub fn create_new(&mut self, create_new: bool) -> &mut OpenOptions {
        self.std.create_new(create_new);
        self
    }

    /// The permission bits a created file gets (before the umask), as
    /// `std::os::unix::fs::OpenOptionsExt::mode`.
    #[cfg(unix)]
    pub fn mode(&mut self, mode: u32) -> &mut OpenOptions {
        std::os::unix::fs::OpenOptionsExt::mode(&mut self.std, mode);
        self
    }

    /// Extra `open(2)` flags, as `std::os::unix::fs::OpenOptionsExt::custom_flags`.
    #[cfg(unix)]
    pub fn custom_flags(&mut self, flags: i32) -> &mut OpenOptions {
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut self.std, flags);
        self
    }

    /// Opens the file at `path` with these options. The errors are `std`'s: `NotFound`,
    /// `AlreadyExists` (`create_new`), `InvalidInput` for contradictory options (such as
    /// `create` without `write`), and so on.
    #[track_caller]
    pub fn open(&self, path: impl AsRef<Path>) -> impl Future<Output = io::Result<File>> {
        let (options, path) = (self.std.clone(), path.as_ref().to_owned());
        let open = blocking(Location::caller(), move || options.open(path));
        async move { open.await.map(File::from_std) }
    }
}

impl Default for OpenOptions {
    fn default() -> OpenOptions {
        OpenOptions::new()
    }
}

impl From<std::fs::OpenOptions> for OpenOptions {
    fn from(std: std::fs::OpenOptions) -> OpenOptions {
        OpenOptions { std }
    }
}
