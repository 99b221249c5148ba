//! The command line of `goro-loadgen`, and the target URL it names.
//!
//! The target must be `http://HOST[:PORT][/PATH]` with a host that resolves to loopback
//! addresses only (127.0.0.0/8, ::1), unless `--allow-remote` is given: a load generator
//! pointed at someone else's machine by a typo is a denial of service. Connections, rate
//! and durations are capped ([`MAX_CONNECTIONS`], [`MAX_RATE`], [`MAX_SECONDS`]).

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use crate::cli::Args;

/// Most connections one run may open.
pub const MAX_CONNECTIONS: usize = 10_000;
/// Highest offered rate, requests per second.
pub const MAX_RATE: f64 = 10_000_000.0;
/// Longest `--duration` and `--warmup`, seconds.
pub const MAX_SECONDS: f64 = 3600.0;
/// Most threads.
pub const MAX_THREADS: usize = 256;

/// Usage text for `--help` and flag errors.
pub const USAGE: &str = "\
usage: goro-loadgen --url http://127.0.0.1:PORT/PATH --connections N [--rate R] --duration S
                    [--warmup S] [--threads T] [--json] [--allow-remote] [--echo BYTES]

An HTTP/1.1 keep-alive load generator on its own threads (mio), not on any async runtime.

options:
  --url URL          http://HOST[:PORT][/PATH]; HOST must be loopback (127.0.0.0/8, ::1,
                     localhost) unless --allow-remote is given
  --connections N    keep-alive connections, 1 to 10000, one request in flight on each
  --rate R           open loop: R requests/s in total on a fixed schedule spread over the
                     connections; latency is measured from each request's scheduled send
                     time (coordinated omission corrected, as wrk2). Without --rate: closed
                     loop, each connection sends its next request as soon as a response
                     completes (maximum throughput), latency from the actual send
  --duration S       measured seconds (may be fractional, at most 3600)
  --warmup S         seconds of load before the measured part, not recorded (default 0)
  --threads T        generator threads, connections split between them (default 1)
  --json             print one JSON object instead of the table
  --allow-remote     allow a HOST that is not loopback
  --echo BYTES       TCP echo instead of HTTP: send BYTES bytes, expect them back (the
                     URL's path is ignored)
  -h, --help         print this help

Errors (refused or reset connections, non-2xx statuses, responses that do not parse or
use chunked encoding) are counted and the connection is reopened. To keep the generator
off the server's CPUs, pin it: `taskset -c 0 goro-loadgen --threads 1 ...` with the server
under `taskset -c 1`.";

/// Where requests go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The address connected to (the first the host resolved to).
    pub addr: SocketAddr,
    /// The `Host` header.
    pub host: String,
    /// The request target, starting with `/`.
    pub path: String,
}

impl Target {
    /// The request every connection sends under `protocol`.
    pub fn request(&self, protocol: Protocol) -> Vec<u8> {
        match protocol {
            Protocol::Http => {
                format!("GET {} HTTP/1.1\r\nHost: {}\r\n\r\n", self.path, self.host).into_bytes()
            }
            Protocol::Echo { size } => (0..size).map(|i| b'a' + (i % 26) as u8).collect(),
        }
    }
}

/// What goes over a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Protocol {
    /// HTTP/1.1 `GET`, a 2xx response with a `Content-Length` body.
    #[default]
    Http,
    /// TCP echo: `size` bytes out, the same bytes back (`--echo SIZE`).
    Echo {
        /// Bytes per message.
        size: usize,
    },
}

/// Largest `--echo` message.
pub const MAX_ECHO: usize = 64 * 1024;

/// What one run does.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Where the load goes.
    pub target: Target,
    /// Connections, all kept alive.
    pub connections: usize,
    /// Total offered requests per second (open loop); `None` = closed loop.
    pub rate: Option<f64>,
    /// The measured window.
    pub duration: Duration,
    /// Unrecorded load before the window.
    pub warmup: Duration,
    /// Generator threads.
    pub threads: usize,
    /// CPUs the generator threads are pinned to, thread `i` to `pin[i % len]` (not on the
    /// command line: `taskset` does it from outside; goro-bench sets it).
    pub pin: Option<Vec<usize>>,
    /// What a request is.
    pub protocol: Protocol,
}

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Run, and print JSON if `json`.
    Run {
        /// The run's settings.
        config: Config,
        /// Print JSON instead of text.
        json: bool,
    },
    /// Print the usage.
    Help,
}

/// Parses the arguments (without the program name); errors are one line for the user.
pub fn parse_args<I: IntoIterator<Item = String>>(args: I) -> Result<Command, String> {
    let mut args = Args::new(args);
    let (mut url, mut connections, mut duration) = (None, None, None);
    let (mut rate, mut warmup, mut threads) = (None, 0.0, 1);
    let (mut json, mut allow_remote, mut protocol) = (false, false, Protocol::Http);
    while let Some(flag) = args.next_flag() {
        match flag.name.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--url" => url = Some(args.value(&flag)?),
            "--connections" => connections = Some(args.number(&flag, 1, MAX_CONNECTIONS)?),
            "--rate" => rate = Some(args.number(&flag, 1.0, MAX_RATE)?),
            "--duration" => duration = Some(args.number(&flag, 0.001, MAX_SECONDS)?),
            "--warmup" => warmup = args.number(&flag, 0.0, MAX_SECONDS)?,
            "--threads" => threads = args.number(&flag, 1, MAX_THREADS)?,
            "--json" => json = args.no_value(&flag).map(|_| true)?,
            "--allow-remote" => allow_remote = args.no_value(&flag).map(|_| true)?,
            "--echo" => {
                protocol = Protocol::Echo {
                    size: args.number(&flag, 1, MAX_ECHO)?,
                }
            }
            f if f.starts_with('-') => return Err(format!("unknown flag `{f}`")),
            other => return Err(format!("unexpected argument `{other}`")),
        }
    }
    let url = url.ok_or("--url is required")?;
    let connections: usize = connections.ok_or("--connections is required")?;
    let duration: f64 = duration.ok_or("--duration is required")?;
    if threads > connections {
        return Err(format!(
            "--threads {threads} is more than --connections {connections}"
        ));
    }
    let config = Config {
        target: parse_url(&url, allow_remote)?,
        connections,
        rate,
        duration: Duration::from_secs_f64(duration),
        warmup: Duration::from_secs_f64(warmup),
        threads,
        pin: None,
        protocol,
    };
    Ok(Command::Run { config, json })
}

/// Parses `http://HOST[:PORT][/PATH]` and resolves HOST; refuses hosts that are not
/// loopback unless `allow_remote`.
pub fn parse_url(url: &str, allow_remote: bool) -> Result<Target, String> {
    let bad = |why: &str| format!("--url `{url}`: {why}");
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| bad("only http://HOST[:PORT][/PATH] is supported"))?;
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('/') => (&rest[..i], rest[i..].to_string()),
        Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
        None => (rest, "/".to_string()),
    };
    if path.bytes().any(|b| b <= b' ' || b == 0x7f) || path.contains('#') {
        return Err(bad(
            "the path may not hold spaces, control characters or `#`",
        ));
    }
    if authority.contains('@') {
        return Err(bad("user names in URLs are not supported"));
    }
    let (host, port) = split_host_port(authority).ok_or_else(|| bad("bad HOST[:PORT]"))?;
    let addrs: Vec<SocketAddr> = (host.trim_matches(['[', ']']), port)
        .to_socket_addrs()
        .map_err(|e| bad(&format!("cannot resolve `{host}`: {e}")))?
        .collect();
    let addr = *addrs
        .first()
        .ok_or_else(|| bad(&format!("`{host}` resolves to no address")))?;
    if !allow_remote {
        if let Some(remote) = addrs.iter().find(|a| !is_loopback(a.ip())) {
            return Err(bad(&format!(
                "refusing to load {remote}, which is not a loopback address \
                 (pass --allow-remote to load a remote server)"
            )));
        }
    }
    Ok(Target {
        addr,
        host: authority.to_string(),
        path,
    })
}

/// `host` and `port` (80 if absent) of `authority`, `[::1]:8080` style for IPv6.
fn split_host_port(authority: &str) -> Option<(&str, u16)> {
    let (host, port) = if let Some(end) = authority.strip_prefix('[').and_then(|a| a.find(']')) {
        let (host, rest) = authority.split_at(end + 2);
        match rest {
            "" => (host, None),
            p => (host, Some(p.strip_prefix(':')?)),
        }
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(p) => p.parse().ok().filter(|&p| p != 0)?,
        None => 80,
    };
    (!host.is_empty()).then_some((host, port))
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v| v.is_loopback()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Command, String> {
        parse_args(line.split_whitespace().map(String::from))
    }

    fn config(line: &str) -> (Config, bool) {
        match parse(line) {
            Ok(Command::Run { config, json }) => (config, json),
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn the_fixed_command_line() {
        let (c, json) = config(
            "--url http://127.0.0.1:8080/path --connections 64 --rate 20000 --duration 4 \
             --warmup 1 --json",
        );
        assert!(json);
        assert_eq!(c.target.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(c.target.path, "/path");
        assert_eq!(c.target.host, "127.0.0.1:8080");
        assert_eq!(c.connections, 64);
        assert_eq!(c.rate, Some(20000.0));
        assert_eq!(c.duration, Duration::from_secs(4));
        assert_eq!(c.warmup, Duration::from_secs(1));
        assert_eq!(c.threads, 1);
        assert_eq!(c.protocol, Protocol::Http);
        let (c, _) = config("--url http://127.0.0.1:7/ --connections 1 --duration 1 --echo 64");
        assert_eq!(c.protocol, Protocol::Echo { size: 64 });
        assert_eq!(c.target.request(c.protocol).len(), 64);

        let (c, json) = config("--url=http://localhost:9/ --connections=2 --duration=0.5");
        assert!(!json);
        assert_eq!(c.rate, None, "no --rate is closed loop");
        assert_eq!(c.duration, Duration::from_millis(500));
        assert!(c.target.addr.ip().is_loopback());
        assert_eq!(parse("--help"), Ok(Command::Help));
    }

    #[test]
    fn urls() {
        let t = parse_url("http://[::1]:81", false).unwrap();
        assert_eq!(t.addr, "[::1]:81".parse().unwrap());
        assert_eq!(t.path, "/");
        assert_eq!(
            parse_url("http://127.0.0.2", false).unwrap().addr.port(),
            80
        );
        assert_eq!(
            parse_url("http://127.0.0.1:1?ms=2", false).unwrap().path,
            "/?ms=2"
        );
        assert_eq!(
            parse_url("http://127.0.0.1:1/block?ms=20", false)
                .unwrap()
                .request(Protocol::Http),
            b"GET /block?ms=20 HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n"
        );
        for bad in [
            "https://127.0.0.1/",
            "127.0.0.1:80",
            "http://",
            "http://127.0.0.1:0/",
            "http://127.0.0.1:99999/",
            "http://127.0.0.1:x/",
            "http://[::1/",
            "http://u@127.0.0.1/",
            "http://127.0.0.1/a b",
        ] {
            assert!(parse_url(bad, false).is_err(), "{bad}");
        }
    }

    #[test]
    fn remote_hosts_need_allow_remote() {
        let e = parse_url("http://192.0.2.1:80/", false).unwrap_err();
        assert!(e.contains("--allow-remote"), "{e}");
        assert!(parse_url("http://192.0.2.1:80/", true).is_ok());
        assert!(parse("--url http://10.0.0.1/ --connections 1 --duration 1")
            .unwrap_err()
            .contains("not a loopback"));
    }

    #[test]
    fn bad_arguments_say_what_is_wrong() {
        let base = "--url http://127.0.0.1:1/ --duration 1";
        for (line, says) in [
            ("--connections 1 --duration 1", "--url is required"),
            (
                "--url http://127.0.0.1:1/ --duration 1",
                "--connections is required",
            ),
            (
                "--url http://127.0.0.1:1/ --connections 1",
                "--duration is required",
            ),
            (
                &format!("{base} --connections 0") as &str,
                "between 1 and 10000",
            ),
            (
                &format!("{base} --connections 10001"),
                "between 1 and 10000",
            ),
            (
                &format!("{base} --connections 1 --rate 0"),
                "--rate must be",
            ),
            (
                &format!("{base} --connections 1 --rate x"),
                "expects a number",
            ),
            (
                &format!("{base} --connections 1 --warmup 4000"),
                "--warmup must be",
            ),
            (
                &format!("{base} --connections 1 --threads 2"),
                "more than --connections",
            ),
            (
                &format!("{base} --connections 1 --json=1"),
                "takes no value",
            ),
            (
                &format!("{base} --connections 1 --bogus"),
                "unknown flag `--bogus`",
            ),
            (
                &format!("{base} --connections 1 stray"),
                "unexpected argument",
            ),
            (
                &format!("{base} --connections"),
                "--connections needs a value",
            ),
        ] {
            let e = parse(line).unwrap_err();
            assert!(e.contains(says), "{line}: {e}");
        }
    }
}
