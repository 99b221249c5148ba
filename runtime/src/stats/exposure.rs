//! Who may read what from the debug server.
//!
//! The debug server's task dump and leak report name every task's spawn site, name and
//! wait site: more than one wants to show to another host by accident. So:
//!
//! * A **loopback** bind (`127.0.0.0/8`, `::1`) serves everything; only this machine can
//!   reach it. This is the only kind of bind goro makes without being asked.
//! * Any **other** bind (`0.0.0.0`, `::`, an interface address) is refused by
//!   `Builder::build` unless an exposure is chosen explicitly, with
//!   `GORO_DEBUG_PUBLIC=metrics|all` or [`Builder::debug_public`](crate::Builder::debug_public);
//!   when it is, `build` prints one line to stderr saying what is served to whom, where.
//! * Per request, a **loopback peer** gets every route. Any other peer gets `/metrics` and
//!   the index under [`DebugExposure::Metrics`], everything under [`DebugExposure::All`],
//!   and a `403` naming the setting that would serve it otherwise.
//!
//! IPv4-mapped IPv6 peers (`::ffff:127.0.0.1` on a `[::]` bind) count as the IPv4 address
//! they carry.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};

/// The environment variable that chooses a [`DebugExposure`]: `loopback`, `metrics` or `all`.
pub const DEBUG_PUBLIC_ENV: &str = "GORO_DEBUG_PUBLIC";

/// What the debug server serves to peers that are not on this machine's loopback.
///
/// ```
/// use goro::stats::DebugExposure;
///
/// // Prometheus on another host may scrape /metrics; task dumps stay on loopback.
/// let rt = goro::Builder::new()
///     .debug_addr(([0, 0, 0, 0], 0).into())
///     .debug_public(DebugExposure::Metrics)
///     .build()?;
/// # drop(rt);
/// // Without the exposure, a bind beyond loopback is refused.
/// let err = goro::Builder::new().debug_addr(([0, 0, 0, 0], 0).into()).build().unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DebugExposure {
    /// Nothing beyond loopback: a non-loopback bind is refused (the default).
    #[default]
    Loopback,
    /// `/metrics` (and the index page) to any peer; task dumps, leaks and stats only to
    /// loopback peers.
    Metrics,
    /// Every route to any peer.
    All,
}

impl DebugExposure {
    /// Parses `GORO_DEBUG_PUBLIC`'s value: `loopback`, `metrics` or `all` (any case).
    ///
    /// ```
    /// use goro::stats::DebugExposure;
    /// assert_eq!(DebugExposure::parse("metrics"), Some(DebugExposure::Metrics));
    /// assert_eq!(DebugExposure::parse("yes"), None);
    /// ```
    pub fn parse(value: &str) -> Option<DebugExposure> {
        match value.trim().to_ascii_lowercase().as_str() {
            "loopback" => Some(DebugExposure::Loopback),
            "metrics" => Some(DebugExposure::Metrics),
            "all" => Some(DebugExposure::All),
            _ => None,
        }
    }

    /// Whether a request for `path` from `peer` is served.
    pub(crate) fn serves(self, peer: IpAddr, path: &str) -> bool {
        if is_loopback(peer) {
            return true;
        }
        match self {
            DebugExposure::Loopback => false,
            DebugExposure::Metrics => matches!(path, "/metrics" | "/"),
            DebugExposure::All => true,
        }
    }

    /// Checks a bind address against the exposure: an `InvalidInput` error for a
    /// non-loopback address without an exposure, else the line to print to stderr (`None`
    /// for a loopback bind, which nobody else can reach).
    pub(crate) fn check_bind(self, addr: SocketAddr) -> io::Result<Option<String>> {
        if is_loopback(addr.ip()) {
            return Ok(None);
        }
        let served = match self {
            DebugExposure::Loopback => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "goro debug server: {addr} is not a loopback address, and the task \
                         dumps it serves name every task's spawn and wait sites; set \
                         {DEBUG_PUBLIC_ENV}=metrics to serve only /metrics beyond loopback, \
                         or {DEBUG_PUBLIC_ENV}=all to serve everything (or \
                         Builder::debug_public)"
                    ),
                ))
            }
            DebugExposure::Metrics => {
                "/metrics to any peer; stats, tasks and leaks to loopback peers only"
            }
            DebugExposure::All => "every route, task dumps included, to any peer",
        };
        Ok(Some(format!(
            "goro debug server: listening on {addr}{}: serving {served} ({DEBUG_PUBLIC_ENV}={self})",
            if addr.ip().is_unspecified() {
                " (all interfaces)"
            } else {
                ""
            }
        )))
    }
}

impl fmt::Display for DebugExposure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DebugExposure::Loopback => "loopback",
            DebugExposure::Metrics => "metrics",
            DebugExposure::All => "all",
        })
    }
}

/// Loopback, counting an IPv4-mapped IPv6 address as its IPv4 address.
fn is_loopback(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTES: [&str; 5] = [
        "/",
        "/metrics",
        "/debug/goro/stats",
        "/debug/goro/tasks",
        "/debug/goro/leaks",
    ];

    #[test]
    fn loopback_peers_get_everything_whatever_the_exposure() {
        let peers: [IpAddr; 4] = [
            [127, 0, 0, 1].into(),
            [127, 0, 0, 2].into(),
            "::1".parse().unwrap(),
            "::ffff:127.0.0.1".parse().unwrap(),
        ];
        for exposure in [
            DebugExposure::Loopback,
            DebugExposure::Metrics,
            DebugExposure::All,
        ] {
            for peer in peers {
                for path in ROUTES {
                    assert!(exposure.serves(peer, path), "{exposure} {peer} {path}");
                }
            }
        }
    }

    #[test]
    fn other_peers_get_what_the_exposure_says() {
        let peers: [IpAddr; 3] = [
            [10, 1, 2, 3].into(),
            "2001:db8::1".parse().unwrap(),
            "::ffff:192.0.2.7".parse().unwrap(),
        ];
        for peer in peers {
            for path in ROUTES {
                assert!(!DebugExposure::Loopback.serves(peer, path), "{peer} {path}");
                assert!(DebugExposure::All.serves(peer, path), "{peer} {path}");
                let metrics = DebugExposure::Metrics.serves(peer, path);
                assert_eq!(metrics, path == "/metrics" || path == "/", "{peer} {path}");
            }
        }
    }

    #[test]
    fn a_bind_beyond_loopback_needs_an_exposure_and_is_announced() {
        let any: SocketAddr = ([0, 0, 0, 0], 6060).into();
        let err = DebugExposure::Loopback.check_bind(any).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(
            err.to_string().contains("GORO_DEBUG_PUBLIC=metrics"),
            "{err}"
        );
        let v6_any: SocketAddr = "[::]:6060".parse().unwrap();
        assert!(DebugExposure::Loopback.check_bind(v6_any).is_err());
        let line = DebugExposure::Metrics.check_bind(any).unwrap().unwrap();
        assert!(line.contains("0.0.0.0:6060 (all interfaces)"), "{line}");
        assert!(line.contains("loopback peers only"), "{line}");
        let line = DebugExposure::All.check_bind(v6_any).unwrap().unwrap();
        assert!(line.contains("task dumps included"), "{line}");
        let local: SocketAddr = ([127, 0, 0, 2], 6060).into();
        assert_eq!(DebugExposure::Loopback.check_bind(local).unwrap(), None);
    }

    #[test]
    fn parses_the_three_values() {
        assert_eq!(DebugExposure::parse(" ALL "), Some(DebugExposure::All));
        assert_eq!(
            DebugExposure::parse("loopback"),
            Some(DebugExposure::Loopback)
        );
        for bad in ["", "1", "true", "metric"] {
            assert_eq!(DebugExposure::parse(bad), None, "{bad:?}");
        }
    }
}
