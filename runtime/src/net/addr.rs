//! [`ToSocketAddrs`]: what socket constructors accept, resolved without blocking a processor.
//!
//! Like tokio's trait of the same name (and unlike `std::net::ToSocketAddrs`, whose string
//! impls may block in DNS), resolution is split in two: literal addresses are parsed at once,
//! and only host names go to the blocking pool.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// Types that name one or more socket addresses: [`SocketAddr`] and its V4/V6 forms,
/// `(IpAddr, u16)` and friends, `&[SocketAddr]`, and strings (`"127.0.0.1:80"`,
/// `"localhost:80"`, `("localhost", 80)`), plus references to any of these.
///
/// Sealed: the set of implementations mirrors `std::net::ToSocketAddrs`. Host names are
/// resolved on goro's blocking pool.
///
/// ```
/// # goro::Runtime::new().unwrap().block_on(async {
/// use std::net::{Ipv4Addr, SocketAddr};
/// let a = goro::net::UdpSocket::bind("127.0.0.1:0").await?;
/// let b = goro::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await?;
/// let c = goro::net::UdpSocket::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
/// # let _ = (a, b, c);
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
pub trait ToSocketAddrs: sealed::ToSocketAddrsPriv {}

pub(crate) mod sealed {
    use super::*;

    /// The resolution step behind [`ToSocketAddrs`](super::ToSocketAddrs).
    pub trait ToSocketAddrsPriv {
        /// Addresses known without I/O, or what must be looked up.
        #[doc(hidden)]
        fn to_addrs(&self) -> Resolve;
    }

    /// The outcome of [`ToSocketAddrsPriv::to_addrs`].
    #[doc(hidden)]
    #[derive(Debug)]
    pub enum Resolve {
        Ready(io::Result<Vec<SocketAddr>>),
        /// `"host:port"`, resolved by std on the blocking pool.
        HostPort(String),
        /// `(host, port)`, resolved by std on the blocking pool.
        Host(String, u16),
    }
}

use sealed::{Resolve, ToSocketAddrsPriv};

/// Resolves `addr`: at once for literal addresses, on the blocking pool for host names.
pub(crate) async fn resolve<A: ToSocketAddrs>(addr: A) -> io::Result<Vec<SocketAddr>> {
    let lookup = addr.to_addrs();
    drop(addr);
    let lookup: Box<dyn FnOnce() -> io::Result<Vec<SocketAddr>> + Send> = match lookup {
        Resolve::Ready(res) => return res,
        Resolve::HostPort(s) => Box::new(move || std_lookup(s.as_str())),
        Resolve::Host(host, port) => Box::new(move || std_lookup((host.as_str(), port))),
    };
    match crate::task::spawn_blocking(lookup).await {
        Ok(res) => res,
        Err(e) => Err(io::Error::other(format!(
            "goro: the address lookup did not complete: {e}"
        ))),
    }
}

fn std_lookup(addr: impl std::net::ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    Ok(addr.to_socket_addrs()?.collect())
}

/// The error when an address resolved to nothing.
pub(crate) fn no_addresses() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "could not resolve to any address",
    )
}

/// Runs `op` on each address in turn; the first success, or the last error.
pub(crate) async fn each_addr<A, T, F, Fut>(addr: A, mut op: F) -> io::Result<T>
where
    A: ToSocketAddrs,
    F: FnMut(SocketAddr) -> Fut,
    Fut: std::future::Future<Output = io::Result<T>>,
{
    let mut last = None;
    for a in resolve(addr).await? {
        match op(a).await {
            Ok(t) => return Ok(t),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(no_addresses))
}

macro_rules! ready_impl {
    ($($ty:ty => |$s:ident| $e:expr;)*) => {$(
        impl ToSocketAddrs for $ty {}
        impl ToSocketAddrsPriv for $ty {
            fn to_addrs(&self) -> Resolve {
                let $s = self;
                Resolve::Ready(Ok($e))
            }
        }
    )*};
}

ready_impl! {
    SocketAddr => |s| vec![*s];
    SocketAddrV4 => |s| vec![SocketAddr::V4(*s)];
    SocketAddrV6 => |s| vec![SocketAddr::V6(*s)];
    (IpAddr, u16) => |s| vec![SocketAddr::new(s.0, s.1)];
    (Ipv4Addr, u16) => |s| vec![SocketAddr::new(IpAddr::V4(s.0), s.1)];
    (Ipv6Addr, u16) => |s| vec![SocketAddr::new(IpAddr::V6(s.0), s.1)];
    [SocketAddr] => |s| s.to_vec();
    Vec<SocketAddr> => |s| s.clone();
}

impl<const N: usize> ToSocketAddrs for [SocketAddr; N] {}
impl<const N: usize> ToSocketAddrsPriv for [SocketAddr; N] {
    fn to_addrs(&self) -> Resolve {
        Resolve::Ready(Ok(self.to_vec()))
    }
}

impl ToSocketAddrs for str {}
impl ToSocketAddrsPriv for str {
    fn to_addrs(&self) -> Resolve {
        match self.parse::<SocketAddr>() {
            Ok(addr) => Resolve::Ready(Ok(vec![addr])),
            Err(_) => Resolve::HostPort(self.to_string()),
        }
    }
}

impl ToSocketAddrs for String {}
impl ToSocketAddrsPriv for String {
    fn to_addrs(&self) -> Resolve {
        self.as_str().to_addrs()
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl ToSocketAddrsPriv for (&str, u16) {
    fn to_addrs(&self) -> Resolve {
        match self.0.parse::<IpAddr>() {
            Ok(ip) => Resolve::Ready(Ok(vec![SocketAddr::new(ip, self.1)])),
            Err(_) => Resolve::Host(self.0.to_string(), self.1),
        }
    }
}

impl ToSocketAddrs for (String, u16) {}
impl ToSocketAddrsPriv for (String, u16) {
    fn to_addrs(&self) -> Resolve {
        (self.0.as_str(), self.1).to_addrs()
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: ToSocketAddrsPriv + ?Sized> ToSocketAddrsPriv for &T {
    fn to_addrs(&self) -> Resolve {
        (**self).to_addrs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready(r: Resolve) -> Vec<SocketAddr> {
        match r {
            Resolve::Ready(Ok(v)) => v,
            other => panic!("expected ready addresses, got {other:?}"),
        }
    }

    #[test]
    fn literals_resolve_without_lookup() {
        let a: SocketAddr = "127.0.0.1:80".parse().unwrap();
        assert_eq!(ready("127.0.0.1:80".to_addrs()), vec![a]);
        assert_eq!(ready(String::from("127.0.0.1:80").to_addrs()), vec![a]);
        assert_eq!(ready(("127.0.0.1", 80).to_addrs()), vec![a]);
        assert_eq!(ready((Ipv4Addr::LOCALHOST, 80).to_addrs()), vec![a]);
        assert_eq!(ready([a, a].to_addrs()), vec![a, a]);
        assert_eq!(ready(ToSocketAddrsPriv::to_addrs(&&a)), vec![a]);
        let v6: SocketAddr = "[::1]:80".parse().unwrap();
        assert_eq!(ready("[::1]:80".to_addrs()), vec![v6]);
        assert_eq!(ready(("::1", 80).to_addrs()), vec![v6]);
    }

    #[test]
    fn host_names_go_to_lookup() {
        assert!(matches!("localhost:80".to_addrs(), Resolve::HostPort(s) if s == "localhost:80"));
        assert!(matches!(("localhost", 80).to_addrs(), Resolve::Host(h, 80) if h == "localhost"));
    }
}
