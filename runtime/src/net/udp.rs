//! [`UdpSocket`]: datagrams.
//!
//! Receives wait for read readiness, sends for write readiness, each retried after
//! `WouldBlock` (which clears the readiness it acted on); see the [`net`](crate::net) module
//! docs. A datagram is sent or received whole by one call, so there is no short-transfer
//! rule here.
//!
//! Sends (and `connect`, which only waits for name resolution) suspend a task as
//! `UdpSocket::send`, receives as `UdpSocket::recv`, at the caller of the method (see
//! `net::trace`).

use crate::net::addr::{each_addr, no_addresses, resolve, ToSocketAddrs};
use crate::net::source::IoSource;
use crate::net::trace;
use crate::stats::WaitOp;
use goro_netpoll::Direction;
use goro_sched::task::traced;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::panic::Location;
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
    #[track_caller]
    pub fn connect<'a, A: ToSocketAddrs + 'a>(
        &'a self,
        addr: A,
    ) -> impl Future<Output = io::Result<()>> + 'a {
        let connect = each_addr(addr, |a| std::future::ready(self.io.get_ref().connect(a)));
        traced(WaitOp::UdpSend, Location::caller(), connect)
    }

    /// Sends `buf` to the connected peer; returns the bytes sent.
    #[track_caller]
    pub fn send<'a>(&'a self, buf: &'a [u8]) -> impl Future<Output = io::Result<usize>> + 'a {
        trace::wait(WaitOp::UdpSend, move |cx| self.send_op(cx, buf))
    }

    /// Polls to send `buf` to the connected peer.
    #[track_caller]
    pub fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        trace::tag(WaitOp::UdpSend, self.send_op(cx, buf))
    }

    fn send_op(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io.poll_op(cx, Direction::Write, |s| s.send(buf))
    }

    /// Receives a datagram from the connected peer into `buf` (the excess of a longer one
    /// is discarded); returns its length.
    #[track_caller]
    pub fn recv<'a>(&'a self, buf: &'a mut [u8]) -> impl Future<Output = io::Result<usize>> + 'a {
        trace::wait(WaitOp::UdpRecv, move |cx| self.recv_op(cx, buf))
    }

    /// Polls to receive a datagram from the connected peer.
    #[track_caller]
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        trace::tag(WaitOp::UdpRecv, self.recv_op(cx, buf))
    }

    fn recv_op(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_op(cx, Direction::Read, |s| s.recv(buf))
    }

    /// Sends `buf` to `target` (its first resolved address); returns the bytes sent.
    #[track_caller]
    pub fn send_to<'a, A: ToSocketAddrs + 'a>(
        &'a self,
        buf: &'a [u8],
        target: A,
    ) -> impl Future<Output = io::Result<usize>> + 'a {
        let send = async move {
            let target = resolve(target)
                .await?
                .into_iter()
                .next()
                .ok_or_else(no_addresses)?;
            poll_fn(|cx| self.send_to_op(cx, buf, target)).await
        };
        traced(WaitOp::UdpSend, Location::caller(), send)
    }

    /// Polls to send `buf` to `target`.
    #[track_caller]
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        trace::tag(WaitOp::UdpSend, self.send_to_op(cx, buf, target))
    }

    fn send_to_op(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_op(cx, Direction::Write, |s| s.send_to(buf, target))
    }

    /// Receives a datagram into `buf`; returns its length and sender.
    #[track_caller]
    pub fn recv_from<'a>(
        &'a self,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<(usize, SocketAddr)>> + 'a {
        trace::wait(WaitOp::UdpRecv, move |cx| self.recv_from_op(cx, buf))
    }

    /// Polls to receive a datagram.
    #[track_caller]
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        trace::tag(WaitOp::UdpRecv, self.recv_from_op(cx, buf))
    }

    fn recv_from_op(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.io.poll_op(cx, Direction::Read, |s| s.recv_from(buf))
    }

    /// Receives a datagram without removing it from the queue.
    #[track_caller]
    pub fn peek_from<'a>(
        &'a self,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<(usize, SocketAddr)>> + 'a {
        trace::wait(WaitOp::UdpRecv, move |cx| {
            self.io
                .poll_op(cx, Direction::Read, |s| s.peek_from(&mut *buf))
        })
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
