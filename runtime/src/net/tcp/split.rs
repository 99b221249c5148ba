//! The owned halves of [`TcpStream::into_split`].

use super::TcpStream;
use std::net::SocketAddr;

crate::net::split::owned_halves!(TcpStream, SocketAddr, TcpRead, TcpWrite);
