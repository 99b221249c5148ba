//! The owned halves of [`UnixStream::into_split`].

use super::UnixStream;
use std::os::unix::net::SocketAddr;

crate::net::split::owned_halves!(UnixStream, SocketAddr, UnixRead, UnixWrite);
