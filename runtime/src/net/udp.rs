//! [`UdpSocket`]: datagrams.
//!
//! Receives wait for read readiness, sends for write readiness, each retried after
//! `WouldBlock` (which clears the readiness it acted on); see the [`net`](crate::net) module
//! docs. A datagram is sent or received whole by one call, so there is no short-transfer
//! rule here.

use crate::net::addr::{each_addr, no_addresses, resolve, ToSocketAddrs};
use crate::net::source::IoSource;
use goro_netpoll::Direction;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};

const INTEREST: mio::Interest = mio::Interest::READABLE.add(mio::Interest::WRITABLE);

/// A UDP socket.
///
/// Unconnected, it sends with [`UdpSocket::send_to`] and receives with
/// [`UdpSocket::recv_from`]; after [`UdpSocket::connect`], [`UdpSocket::send`] and
/// [`UdpSocket::recv`] talk to that one peer. All methods take `&self`, so the socket can be
/// shared (in an `Arc`) by a sending task and a receiving task.
///
/// ```
/// use goro::net::UdpSocket;
/// # goro::Runtime::new().unwrap().block_on(async {
/// let a = UdpSocket::bind("127.0.0.1:0").await?;
/// let b = UdpSocket::bind("127.0.0.1:0").await?;
/// a.send_to(b"ping", b.local_addr()?).await?;
/// let mut buf = [0; 16];
/// let (n, from) = b.recv_from(&mut buf).await?;
/// assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr()?));
///
/// b.connect(a.local_addr()?).await?;
/// b.send(b"pong").await?;
/// let n = a.recv(&mut buf).await?;
/// assert_eq!(&buf[..n], b"pong");
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct UdpSocket {
    io: IoSource<mio::net::UdpSocket>,
}

impl UdpSocket {
    /// Binds to `addr`, trying each resolved address in turn.
    ///
    /// # Panics
    /// When polled outside a goro runtime.
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        let poller = crate::net::current_poller();
        each_addr(addr, |a| {
            let res = mio::net::UdpSocket::bind(a)
                .and_then(|s| IoSource::with_poller(s, INTEREST, &poller))
                .map(|io| UdpSocket { io });
            std::future::ready(res)
        })
        .await
    }

    /// Wraps a std socket (switching it to nonblocking mode) and registers it with the
    /// current processor's poller.
    ///
    /// # Panics
    /// Outside a goro runtime.
    #[track_caller]
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        let poller = crate::net::current_poller();
        socket.set_nonblocking(true)?;
        let io = IoSource::with_poller(mio::net::UdpSocket::from_std(socket), INTEREST, &poller)?;
        Ok(UdpSocket { io })
    }

    /// Sets the socket's default peer (trying each resolved address in turn): `send` goes
    /// there and `recv` accepts only its datagrams.
    pub async fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        each_addr(addr, |a| std::future::ready(self.io.get_ref().connect(a))).await
    }

    /// Sends `buf` to the connected peer; returns the bytes sent.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_send(cx, buf)).await
    }

    /// Polls to send `buf` to the connected peer.
    pub fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io.poll_op(cx, Direction::Write, |s| s.send(buf))
    }

    /// Receives a datagram from the connected peer into `buf` (the excess of a longer one
    /// is discarded); returns its length.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_recv(cx, buf)).await
    }

    /// Polls to receive a datagram from the connected peer.
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_op(cx, Direction::Read, |s| s.recv(buf))
    }

    /// Sends `buf` to `target` (its first resolved address); returns the bytes sent.
    pub async fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], target: A) -> io::Result<usize> {
        let target = resolve(target)
            .await?
            .into_iter()
            .next()
            .ok_or_else(no_addresses)?;
        poll_fn(|cx| self.poll_send_to(cx, buf, target)).await
    }

    /// Polls to send `buf` to `target`.
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_op(cx, Direction::Write, |s| s.send_to(buf, target))
    }

    /// Receives a datagram into `buf`; returns its length and sender.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| self.poll_recv_from(cx, buf)).await
    }

    /// Polls to receive a datagram.
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.io.poll_op(cx, Direction::Read, |s| s.recv_from(buf))
    }

    /// Receives a datagram without removing it from the queue.
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| self.io.poll_op(cx, Direction::Read, |s| s.peek_from(buf))).await
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The connected peer's address (`NotConnected` before [`UdpSocket::connect`]).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Sets `SO_BROADCAST`.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_broadcast(on)
    }

    /// `SO_BROADCAST`.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.io.get_ref().broadcast()
    }

    /// Sets `IP_TTL`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// `IP_TTL`.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Takes the socket's pending error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }
}
