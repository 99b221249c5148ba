//! `hyper-hello`: the same hyper 1.x server on goro and on tokio, for load tests (wrk, the
//! HTTP bar script): a plain-text hello, or an axum JSON endpoint.
//!
//! ```text
//! hyper-hello --runtime goro --procs 1 --app hello --addr 127.0.0.1:8080
//! hyper-hello --runtime tokio-ct --app json
//! hyper-hello --runtime tokio-mt --procs 2 --pin 0-1
//! ```
//!
//! Both runtimes run the same code: hyper-util's `auto` connection builder (HTTP/1.1 and
//! HTTP/2) with a timer, over an axum `Router` (`/` answers `Hello, World!`, `/json`
//! answers `{"message":"Hello, World!"}`), one task per connection, `TCP_NODELAY` on. On
//! goro that is `goro::hyper::serve`; on tokio the equivalent loop over `TokioIo`,
//! `TokioExecutor` and `TokioTimer`. `--app` picks which route `/` serves, so a load
//! generator that only requests `/` measures either. `--pin CPU-LIST` restricts the whole
//! process to those CPUs (as `taskset -c` would). Serves until killed; listens on loopback
//! unless told otherwise. `goro-bench --suite hyper` loads it (see `goro_tools::hyper_suite`).

use axum::routing::get;
use axum::{Json, Router};
use goro_tools::pin::{parse_cpu_list, pin_process};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::process::ExitCode;

const USAGE: &str = "\
usage: hyper-hello [--runtime goro|tokio-ct|tokio-mt] [--procs N] [--app hello|json] [--addr IP:PORT]
                   [--pin CPU-LIST]

A hyper server (HTTP/1.1 + HTTP/2, keep-alive) on goro or tokio.

options:
  --runtime R     goro (default), tokio-ct (tokio current_thread), tokio-mt (tokio multi_thread)
  --procs N       goro processors or tokio-mt workers (default 1; tokio-ct takes only 1)
  --app A         hello (default): `/` answers text; json: `/` answers an axum JSON body
  --addr A        address to listen on (default 127.0.0.1:8080; port 0 picks one)
  --pin LIST      run on these CPUs only, e.g. 1 or 0-1 (sched_setaffinity for the whole
                  process, before the runtime starts)
  -h, --help      print this help

Prints `listening on ADDR (RUNTIME, APP)` once it accepts connections, then serves until killed.";

struct Args {
    runtime: String,
    procs: usize,
    app: String,
    addr: SocketAddr,
    pin: Option<Vec<usize>>,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args {
        runtime: "goro".into(),
        procs: 1,
        app: "hello".into(),
        addr: "127.0.0.1:8080".parse().expect("literal address"),
        pin: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--runtime" => args.runtime = value("--runtime")?,
            "--app" => args.app = value("--app")?,
            "--procs" => {
                let v = value("--procs")?;
                args.procs = match v.parse() {
                    Ok(n) if n >= 1 => n,
                    _ => return Err(format!("--procs expects a number >= 1, got `{v}`")),
                };
            }
            "--addr" => {
                let v = value("--addr")?;
                args.addr = v
                    .parse()
                    .map_err(|_| format!("--addr expects IP:PORT, got `{v}`"))?;
            }
            "--pin" => args.pin = Some(parse_cpu_list(&value("--pin")?)?),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if !matches!(args.runtime.as_str(), "goro" | "tokio-ct" | "tokio-mt") {
        return Err(format!("--runtime: unknown runtime `{}`", args.runtime));
    }
    if !matches!(args.app.as_str(), "hello" | "json") {
        return Err(format!("--app: unknown app `{}` (hello or json)", args.app));
    }
    if args.runtime == "tokio-ct" && args.procs != 1 {
        return Err("--runtime tokio-ct runs on one thread: drop --procs or make it 1".into());
    }
    Ok(Some(args))
}

fn app(kind: &str) -> Router {
    let json = || async { Json(serde_json::json!({ "message": "Hello, World!" })) };
    let root = match kind {
        "json" => get(json),
        _ => get(|| async { "Hello, World!" }),
    };
    Router::new().route("/", root).route("/json", get(json))
}

fn serve_goro(args: &Args) -> std::io::Result<()> {
    let rt = goro::Runtime::builder().processors(args.procs).build()?;
    let router = app(&args.app);
    rt.block_on(async {
        let listener = goro::net::TcpListener::bind(args.addr).await?;
        println!(
            "listening on {} (goro, {})",
            listener.local_addr()?,
            args.app
        );
        goro::hyper::serve(listener, router).await
    })
}

fn serve_tokio(args: &Args) -> std::io::Result<()> {
    let rt = match args.runtime.as_str() {
        "tokio-ct" => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
        _ => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.procs)
            .enable_all()
            .build()?,
    };
    let router = app(&args.app);
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.addr).await?;
        println!(
            "listening on {} ({}, {})",
            listener.local_addr()?,
            args.runtime,
            args.app
        );
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder.http1().timer(TokioTimer::new());
        builder.http2().timer(TokioTimer::new());
        let builder = std::sync::Arc::new(builder);
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            let conn = builder
                .serve_connection_with_upgrades(
                    TokioIo::new(stream),
                    TowerToHyperService::new(router.clone()),
                )
                .into_owned();
            tokio::spawn(async move {
                let _ = conn.await;
            });
        }
    })
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("hyper-hello: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if let Some(cpus) = &args.pin {
        if let Err(e) = pin_process(cpus) {
            eprintln!("hyper-hello: --pin: {e}");
            return ExitCode::FAILURE;
        }
    }
    let res = match args.runtime.as_str() {
        "goro" => serve_goro(&args),
        _ => serve_tokio(&args),
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hyper-hello: {e}");
            ExitCode::FAILURE
        }
    }
}
