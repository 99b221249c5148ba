//! `http-hello`: a minimal HTTP/1.1 keep-alive server (`200 OK`, a short fixed body) on goro
//! or tokio, for load tests such as `tools/http-bar.sh`.
//!
//! ```text
//! http-hello --runtime goro --procs 1 --addr 127.0.0.1:8080
//! http-hello --runtime tokio-ct --addr 127.0.0.1:8080
//! http-hello --runtime tokio-mt --procs 2 --addr 127.0.0.1:8080 --pin 0-1
//! ```
//!
//! `--pin CPU-LIST` (e.g. `1`, `0-1`, `0,2-3`) restricts the whole process to those CPUs
//! with `sched_setaffinity` before any runtime thread starts (threads inherit the mask);
//! `taskset -c CPU-LIST http-hello ...` does the same from outside. It serves until killed.
//! See `goro_tools::http` for what it parses and answers (`/block?ms=N` and `/spin?ms=N`
//! make the handler sleep or spin N ms first, for the latency suite).

use std::net::SocketAddr;
use std::process::ExitCode;

use goro_benches::server::{Server, ServerKind};
use goro_tools::http::Hello;
use goro_tools::pin::{parse_cpu_list, pin_process};

const USAGE: &str = "\
usage: http-hello [--runtime goro|tokio-ct|tokio-mt] [--procs N] [--addr IP:PORT] [--pin CPU-LIST]
                  [--serve hello|echo]

A minimal HTTP/1.1 keep-alive server: every request gets 200 OK with a short fixed body.
GET /block?ms=N blocks the handler's thread (std::thread::sleep) and GET /spin?ms=N spins
the CPU for N ms (at most 1000) before answering.

options:
  --runtime R     goro (default), tokio-ct (tokio current_thread), tokio-mt (tokio multi_thread)
  --procs N       goro processors or tokio-mt workers (default 1; tokio-ct takes only 1)
  --addr A        address to listen on (default 127.0.0.1:8080; port 0 picks one)
  --pin LIST      run on these CPUs only, e.g. 1 or 0-1 (sched_setaffinity for the whole
                  process; the same as starting it under `taskset -c LIST`)
  --serve S       hello (default): the HTTP server; echo: a TCP echo server instead
  -h, --help      print this help

Prints `listening on ADDR (RUNTIME)` once it accepts connections, then serves until killed.";

struct Args {
    runtime: String,
    procs: usize,
    addr: SocketAddr,
    pin: Option<Vec<usize>>,
    echo: bool,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args {
        runtime: "goro".into(),
        procs: 1,
        addr: "127.0.0.1:8080".parse().expect("literal address"),
        pin: None,
        echo: false,
    };
    let mut procs_given = false;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--runtime" => args.runtime = value("--runtime")?,
            "--procs" => {
                let v = value("--procs")?;
                args.procs = match v.parse() {
                    Ok(n) if n >= 1 => n,
                    _ => return Err(format!("--procs expects a number >= 1, got `{v}`")),
                };
                procs_given = true;
            }
            "--addr" => {
                let v = value("--addr")?;
                args.addr = v
                    .parse()
                    .map_err(|_| format!("--addr expects IP:PORT, got `{v}`"))?;
            }
            "--pin" => args.pin = Some(parse_cpu_list(&value("--pin")?)?),
            "--serve" => {
                args.echo = match value("--serve")?.as_str() {
                    "hello" => false,
                    "echo" => true,
                    other => return Err(format!("--serve expects hello or echo, got `{other}`")),
                }
            }
            _ => return Err(format!("unexpected argument `{arg}`")),
        }
    }
    match args.runtime.as_str() {
        "goro" | "tokio-mt" => {}
        "tokio-ct" if procs_given && args.procs != 1 => {
            return Err("tokio-ct runs on one thread: drop --procs or use tokio-mt".into())
        }
        "tokio-ct" => {}
        other => {
            return Err(format!(
                "--runtime expects goro, tokio-ct or tokio-mt, got `{other}`"
            ))
        }
    }
    Ok(Some(args))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("http-hello: {e}\n(run `http-hello --help` for usage)");
            return ExitCode::from(2);
        }
    };
    if cfg!(debug_assertions) {
        eprintln!("http-hello: warning: debug build; use --release for measurements");
    }
    if let Some(cpus) = &args.pin {
        if let Err(e) = pin_process(cpus) {
            eprintln!("http-hello: --pin: {e}");
            return ExitCode::FAILURE;
        }
    }
    let kind = match args.runtime.as_str() {
        "goro" => ServerKind::Goro(args.procs),
        "tokio-ct" => ServerKind::TokioCurrentThread,
        _ => ServerKind::TokioMultiThread(args.procs),
    };
    let started = if args.echo {
        Server::start(kind, args.addr, None, goro_benches::echo::Echo)
    } else {
        Server::start(kind, args.addr, None, Hello::default())
    };
    let server = match started {
        Ok(s) => s,
        Err(e) => {
            eprintln!("http-hello: starting {kind} on {}: {e}", args.addr);
            return ExitCode::FAILURE;
        }
    };
    println!("listening on {} ({kind})", server.addr());
    server.wait();
    ExitCode::FAILURE
}
