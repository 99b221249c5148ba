//! A server under test in a child process: started from a binary next to the running tool,
//! pinned with its own `--pin` flag or `taskset`-style by the caller, found through the
//! `listening on ADDR` line it prints, and killed when dropped.
//!
//! Running the server in its own process keeps the generator's threads, allocations and
//! page faults out of the server's `/proc` figures and lets each be pinned to its own CPUs.

use std::io::{self, BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// How long a server may take to print its address.
pub const START_TIMEOUT: Duration = Duration::from_secs(15);

/// A running server process.
pub struct ChildServer {
    child: Child,
    addr: SocketAddr,
}

impl ChildServer {
    /// Runs `command` (stdout piped, stderr inherited) and waits for its
    /// `listening on ADDR` line.
    ///
    /// ```no_run
    /// use goro_tools::child::{sibling_binary, ChildServer};
    /// let bin = sibling_binary("http-hello").unwrap();
    /// let mut cmd = std::process::Command::new(bin);
    /// cmd.args(["--addr", "127.0.0.1:0", "--pin", "1"]);
    /// let server = ChildServer::start(cmd).unwrap();
    /// println!("{} is pid {}", server.addr(), server.pid());
    /// ```
    pub fn start(mut command: Command) -> io::Result<ChildServer> {
        let what = format!("{:?}", command.get_program());
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("starting {what}: {e}")))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut sent = false;
            // Keep draining after the address so the child never blocks on a full pipe.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if !sent {
                    if let Some(addr) = line.strip_prefix("listening on ") {
                        let addr = addr.split_whitespace().next().unwrap_or("").to_string();
                        sent = tx.send(addr).is_ok();
                    }
                }
            }
        });
        let mut server = ChildServer {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let line = rx.recv_timeout(START_TIMEOUT).map_err(|_| {
            let status = server.child.try_wait().ok().flatten();
            io::Error::other(format!(
                "{what} did not print `listening on ADDR` within {START_TIMEOUT:?}{}",
                status.map_or(String::new(), |s| format!(" (it exited: {s})"))
            ))
        })?;
        server.addr = line
            .parse()
            .map_err(|_| io::Error::other(format!("{what} printed a bad address `{line}`")))?;
        Ok(server)
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its process id (for `/proc/PID`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The path of binary `name` of this package, next to the running executable (or one level
/// up, for test binaries in `target/*/deps`).
pub fn sibling_binary(name: &str) -> io::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent().unwrap_or(Path::new("."));
    let candidates = [dir.join(name), dir.join("..").join(name)];
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "`{name}` not found next to {}: build it with `cargo build --release -p goro-tools`",
                    exe.display()
                ),
            )
        })
}
