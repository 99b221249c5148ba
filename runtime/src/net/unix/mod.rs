//! Unix-domain stream sockets: [`UnixListener`], [`UnixStream`], and the owned halves of
//! [`UnixStream::into_split`].
//!
//! They work like their TCP counterparts (see the [`net`](crate::net) module docs), with
//! filesystem paths for addresses. Addresses are `std::os::unix::net::SocketAddr`.

mod listener;
mod split;
mod stream;

pub use listener::UnixListener;
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReuniteError};
pub use std::os::unix::net::SocketAddr;
pub use stream::UnixStream;

/// The read half of [`UnixStream::split`]: the stream itself, borrowed (tokio's
/// `unix::ReadHalf`).
pub type ReadHalf<'a> = &'a UnixStream;
/// The write half of [`UnixStream::split`]: the stream itself, borrowed (tokio's
/// `unix::WriteHalf`).
pub type WriteHalf<'a> = &'a UnixStream;
