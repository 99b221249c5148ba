//! The environment variables a [`Builder`](crate::Builder) reads, and their parsers.
//!
//! | variable | value | sets |
//! |---|---|---|
//! | `GORO_PROCS` | a whole number from 1 to `MAX_PROCESSORS` | the default processor count (Go's `GOMAXPROCS`) |
//! | `GORO_SCHEDTRACE` | a whole number of milliseconds, at least 1 | print a `SCHED` line to stderr this often (Go's `schedtrace`) |
//! | `GORO_LEAK_THRESHOLD` | a whole number of milliseconds, at least 1 | the default `Builder::leak_threshold` (30 s without it): how long a task may sit on an in-process wait before it is suspected of leaking |
//! | `GORO_DEBUG_ADDR` | a socket address, `ip:port` | serve the stats over HTTP there (see [`stats`](crate::stats)) |
//! | `GORO_DEBUG_PUBLIC` | `loopback`, `metrics` or `all` | what the debug server serves beyond loopback (see [`DebugExposure`](crate::stats::DebugExposure)) |
//!
//! An unset variable means the default. A set one that does not parse is an
//! [`io::ErrorKind::InvalidInput`] error from `build()` that names the variable, quotes the
//! value and says what is expected; every variable goes through [`read`], so they all fail
//! the same way.

use crate::stats::{DebugExposure, DEBUG_PUBLIC_ENV};
use goro_sched::MAX_PROCESSORS;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

/// The default number of processors (like `GOMAXPROCS`).
pub const PROCS_ENV: &str = "GORO_PROCS";
/// The period of the `SCHED` trace line, in milliseconds.
pub const SCHEDTRACE_ENV: &str = "GORO_SCHEDTRACE";
/// The default leak threshold, in milliseconds.
pub const LEAK_THRESHOLD_ENV: &str = "GORO_LEAK_THRESHOLD";
/// The address of the debug HTTP server.
pub const DEBUG_ADDR_ENV: &str = "GORO_DEBUG_ADDR";

/// What `GORO_PROCS` must hold.
fn procs_expected() -> String {
    format!("a whole number from 1 to {MAX_PROCESSORS}")
}

/// What `GORO_SCHEDTRACE` and `GORO_LEAK_THRESHOLD` must hold.
const MILLIS_EXPECTED: &str = "a whole number of milliseconds, at least 1 (as in 1000)";
const DEBUG_ADDR_EXPECTED: &str = "a socket address ip:port (as in 127.0.0.1:6060)";
const DEBUG_PUBLIC_EXPECTED: &str = "loopback, metrics or all";

/// `GORO_PROCS`, if set.
pub(crate) fn procs() -> io::Result<Option<usize>> {
    read(PROCS_ENV, &procs_expected(), parse_procs)
}

/// `GORO_SCHEDTRACE`, if set.
pub(crate) fn schedtrace() -> io::Result<Option<Duration>> {
    read(SCHEDTRACE_ENV, MILLIS_EXPECTED, parse_millis)
}

/// `GORO_LEAK_THRESHOLD`, if set.
pub(crate) fn leak_threshold() -> io::Result<Option<Duration>> {
    read(LEAK_THRESHOLD_ENV, MILLIS_EXPECTED, parse_millis)
}

/// `GORO_DEBUG_ADDR`, if set.
pub(crate) fn debug_addr() -> io::Result<Option<SocketAddr>> {
    read(DEBUG_ADDR_ENV, DEBUG_ADDR_EXPECTED, parse_debug_addr)
}

/// `GORO_DEBUG_PUBLIC`, if set.
pub(crate) fn debug_public() -> io::Result<Option<DebugExposure>> {
    read(
        DEBUG_PUBLIC_ENV,
        DEBUG_PUBLIC_EXPECTED,
        DebugExposure::parse,
    )
}

/// Reads `name` and parses it with `parse`: `None` if it is unset, an `InvalidInput` error
/// naming the variable, the value and what is `expected` if `parse` rejects it (or it is not
/// Unicode).
fn read<T>(name: &str, expected: &str, parse: fn(&str) -> Option<T>) -> io::Result<Option<T>> {
    match std::env::var(name) {
        Ok(value) => parse(&value)
            .map(Some)
            .ok_or_else(|| invalid(name, &value, expected)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(raw)) => Err(invalid(name, &raw, expected)),
    }
}

/// The error for `name=value`.
fn invalid(name: &str, value: &dyn std::fmt::Debug, expected: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{name}={value:?} is not valid: expected {expected}"),
    )
}

fn parse_procs(value: &str) -> Option<usize> {
    value
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=MAX_PROCESSORS).contains(n))
}

/// A whole number of milliseconds, at least 1.
fn parse_millis(value: &str) -> Option<Duration> {
    match value.trim().parse::<u64>() {
        Ok(ms) if ms >= 1 => Some(Duration::from_millis(ms)),
        _ => None,
    }
}

fn parse_debug_addr(value: &str) -> Option<SocketAddr> {
    value.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn procs_accepts_positive_numbers() {
        assert_eq!(parse_procs("1"), Some(1));
        assert_eq!(parse_procs(" 8 "), Some(8));
        for bad in ["0", "abc", "", "-1", "1.5", "99999999"] {
            assert_eq!(parse_procs(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn schedtrace_is_whole_milliseconds_from_one() {
        assert_eq!(parse_millis("1"), Some(Duration::from_millis(1)));
        assert_eq!(parse_millis(" 1000 "), Some(Duration::from_secs(1)));
        for bad in ["0", "", "-5", "1.5", "10ms", "abc"] {
            assert_eq!(parse_millis(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn debug_addr_is_a_socket_address() {
        assert_eq!(
            parse_debug_addr("127.0.0.1:6060"),
            Some(SocketAddr::from(([127, 0, 0, 1], 6060)))
        );
        assert_eq!(
            parse_debug_addr("[::1]:0"),
            Some("[::1]:0".parse().unwrap())
        );
        for bad in [
            "",
            "127.0.0.1",
            "localhost:6060",
            ":6060",
            "127.0.0.1:99999",
        ] {
            assert_eq!(parse_debug_addr(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_error_names_the_variable_the_value_and_what_is_expected() {
        let err = invalid(SCHEDTRACE_ENV, &"fast", MILLIS_EXPECTED);
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(
            err.to_string(),
            "GORO_SCHEDTRACE=\"fast\" is not valid: expected a whole number of milliseconds, \
             at least 1 (as in 1000)"
        );
    }
}
