//! The runnable examples, run: each started as its own process on loopback, used as its
//! doc comment says, and stopped. The examples are built first (once per test binary, with
//! this test's profile; a no-op when `cargo test` already built them), so an edited
//! example is never run stale.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::Duration;

/// How long any one step may take before the test fails.
const STEP: Duration = Duration::from_secs(30);

/// The built example `name`.
fn example(name: &str) -> PathBuf {
    // target/<profile dir>/deps/examples-<hash>  ->  target/<profile dir>/examples/<name>
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|d| d.parent()).unwrap().to_path_buf();
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| build_examples(&profile_dir));
    let path = profile_dir.join("examples").join(name);
    assert!(path.exists(), "no example binary at {}", path.display());
    path
}

/// `cargo build --examples` of this package into `profile_dir` (cargo's `debug` is the
/// `dev` profile; any other directory is named after its profile).
fn build_examples(profile_dir: &Path) {
    let profile = profile_dir.file_name().unwrap().to_str().unwrap();
    let profile = if profile == "debug" { "dev" } else { profile };
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "-p",
            "goro-ecosystem",
            "--examples",
            "--profile",
            profile,
        ])
        .env("CARGO_TARGET_DIR", profile_dir.parent().unwrap())
        .status()
        .unwrap();
    assert!(status.success(), "building the examples failed");
}

/// Sends `sig` to process `pid`, a child of this test; whether it was sent.
fn signal(pid: u32, sig: libc::c_int) -> bool {
    // SAFETY: `kill` has no memory-safety preconditions: it only sends a signal. Callers
    // pass a child they have not reaped, so the pid is not another process's.
    unsafe { libc::kill(pid as libc::pid_t, sig) == 0 }
}

/// An example process, killed if the test ends without stopping it.
struct Running {
    child: Child,
    stdout: mpsc::Receiver<String>,
}

impl Running {
    /// Starts example `name` with `args`, its stdout read line by line on a thread.
    fn start(name: &str, args: &[&str]) -> Running {
        let mut child = Command::new(example(name))
            .args(args)
            .env("GORO_PROCS", "2")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = lines_of(child.stdout.take().unwrap());
        Running { child, stdout }
    }

    /// The next line the example prints.
    fn line(&self) -> String {
        self.stdout
            .recv_timeout(STEP)
            .expect("the example printed nothing more")
    }

    /// The address of a server example, from its first line (`... on [http://]ADDR`).
    fn addr(&self) -> SocketAddr {
        let line = self.line();
        let addr = line.rsplit(' ').next().unwrap();
        addr.trim_start_matches("http://").parse().unwrap()
    }

    /// Sends SIGTERM and waits for the process to exit: whether it exited successfully,
    /// and the lines it printed that were not read yet.
    fn terminate(mut self) -> (bool, Vec<String>) {
        assert!(signal(self.child.id(), libc::SIGTERM), "SIGTERM not sent");
        let deadline = std::time::Instant::now() + STEP;
        let exited = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "did not exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        // The reader thread ends at the closed pipe.
        (exited.success(), self.stdout.iter().collect())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lines_of(stdout: ChildStdout) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`): status line and body.
fn http(addr: SocketAddr, method: &str, path: &str, json: Option<&str>) -> (String, String) {
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(STEP)).unwrap();
    let body = json.unwrap_or("");
    let mut req = format!("{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n");
    if json.is_some() {
        req += "content-type: application/json\r\n";
    }
    req += &format!("content-length: {}\r\n\r\n{body}", body.len());
    conn.write_all(req.as_bytes()).unwrap();
    let mut resp = String::new();
    conn.read_to_string(&mut resp).unwrap();
    let (head, body) = resp.split_once("\r\n\r\n").expect("a response head");
    (head.lines().next().unwrap().to_string(), body.to_string())
}

/// Runs example `name` to its end (bounded); returns its output.
fn run_to_end(name: &str, args: &[&str]) -> Output {
    let child = Command::new(example(name))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    output_within_step(name, child)
}

/// Waits (bounded) for `child` to exit and collects its output; kills it on timeout.
fn output_within_step(name: &str, child: Child) -> Output {
    let id = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(STEP) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            // Not reaped: the waiting thread is still blocked on it.
            signal(id, libc::SIGKILL);
            panic!("example {name} did not finish");
        }
    }
}

fn assert_ran(name: &str, output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{name} failed: {}\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// axum-app: its routes answer, the two client examples fetch from it (hyper-client over
/// goro's connector, reqwest under `tokio_compat`), and SIGTERM shuts it down gracefully.
#[test]
fn axum_app_serves_the_clients_and_stops_on_sigterm() {
    let app = Running::start("axum-app", &["127.0.0.1:0"]);
    let addr = app.addr();
    let (status, body) = http(addr, "GET", "/hello/goro", None);
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(body, "hello, goro (request 1)\n");
    let (status, body) = http(addr, "POST", "/echo", Some(r#"{"a":1}"#));
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(body, r#"{"you_sent":{"a":1}}"#);

    let url = format!("http://{addr}/hello/client");
    let out = assert_ran("hyper-client", &run_to_end("hyper-client", &[&url]));
    assert!(out.starts_with("200 OK HTTP/1.1\n"), "{out}");
    assert!(out.contains("hello, client (request 2)"), "{out}");

    let url = format!("http://{addr}/hello/reqwest");
    let out = assert_ran("reqwest-compat", &run_to_end("reqwest-compat", &[&url]));
    assert!(out.starts_with("200 OK\n"), "{out}");
    assert!(out.contains("hello, reqwest (request 3)"), "{out}");

    let (ok, said) = app.terminate();
    assert!(ok, "axum-app failed after SIGTERM: {said:?}");
    assert_eq!(
        said,
        [
            "signal received: finishing requests in flight",
            "all connections closed"
        ]
    );
}

/// hyper-hello answers, and exits when killed (it has no graceful shutdown).
#[test]
fn hyper_hello_answers() {
    let server = Running::start("hyper-hello", &["127.0.0.1:0"]);
    let (status, body) = http(server.addr(), "GET", "/", None);
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(body, "Hello, World!");
}

/// chat: a line from one client reaches the other, prefixed with its sender.
#[test]
fn chat_relays_lines_between_clients() {
    let server = Running::start("chat", &["127.0.0.1:0"]);
    let addr = server.addr();
    let connect = || {
        let conn = TcpStream::connect(addr).unwrap();
        conn.set_read_timeout(Some(STEP)).unwrap();
        let mut lines = BufReader::new(conn.try_clone().unwrap()).lines();
        let welcome = lines.next().unwrap().unwrap();
        assert!(welcome.starts_with("welcome, "), "{welcome}");
        (conn, lines, welcome["welcome, ".len()..].to_string())
    };
    let (mut alice, _alice_lines, alice_addr) = connect();
    let (_bob, mut bob_lines, _) = connect();
    alice.write_all(b"hello from alice\n").unwrap();
    let expected = format!("{alice_addr}: hello from alice");
    // Bob may first hear that Alice or he joined, depending on the order of the tasks.
    let heard = bob_lines
        .by_ref()
        .map(|l| l.unwrap())
        .find(|l| l == &expected || !l.ends_with(": joined"));
    assert_eq!(heard.as_deref(), Some(expected.as_str()));
}

/// grpc-health serves, checks and watches itself, then exits.
#[test]
fn grpc_health_runs_to_the_end() {
    let out = assert_ran("grpc-health", &run_to_end("grpc-health", &[]));
    assert!(
        out.contains("serving grpc.health.v1.Health on 127.0.0.1:"),
        "{out}"
    );
}

/// The README's axum example is `examples/readme-axum.rs` word for word (below its doc
/// comment), and it serves and stops on SIGTERM as the README says.
#[test]
fn the_readme_axum_example_runs() {
    let readme = include_str!("../../../README.md");
    let source = include_str!("../examples/readme-axum.rs");
    let code: Vec<&str> = source
        .lines()
        .skip_while(|l| l.starts_with("//!"))
        .collect();
    let block = format!("```rust\n{}\n```", code.join("\n").trim_start());
    assert!(
        readme.contains(&block),
        "README.md's axum example differs from examples/readme-axum.rs"
    );

    let app = Running::start("readme-axum", &["127.0.0.1:0"]);
    let (status, body) = http(app.addr(), "GET", "/hello/readme", None);
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(body, r#"{"hello":"readme"}"#);
    let (ok, said) = app.terminate();
    assert!(ok, "readme-axum failed after SIGTERM: {said:?}");
}

/// stdio-upper: goro's stdin and stdout (blocking pool, through tokio-util's codec) carry
/// every line through a pipe, in order.
#[test]
fn stdio_upper_pipes_stdin_to_stdout() {
    let mut child = Command::new(example("stdio-upper"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let input: String = (0..2000).map(|i| format!("line {i} of goro\n")).collect();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = output_within_step("stdio-upper", child);
    assert!(output.status.success(), "{}", output.status);
    writer.join().unwrap().unwrap();
    let expected: String = (0..2000).map(|i| format!("LINE {i} OF GORO\n")).collect();
    assert_eq!(String::from_utf8(output.stdout).unwrap(), expected);
}
