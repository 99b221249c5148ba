//! TCP: [`TcpListener`], [`TcpStream`], and the owned halves of [`TcpStream::into_split`].
//!
//! See the [`net`](crate::net) module docs for how an operation waits for readiness.

mod listener;
mod split;
mod stream;

pub use listener::TcpListener;
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReuniteError};
pub use stream::TcpStream;

/// The read half of [`TcpStream::split`]: the stream itself, borrowed (tokio's
/// `tcp::ReadHalf`).
pub type ReadHalf<'a> = &'a TcpStream;
/// The write half of [`TcpStream::split`]: the stream itself, borrowed (tokio's
/// `tcp::WriteHalf`).
pub type WriteHalf<'a> = &'a TcpStream;
