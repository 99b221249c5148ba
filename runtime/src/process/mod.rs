//! Child processes, with tokio's names: [`Command`] spawns a [`Child`] whose exit and
//! output are awaited without blocking a processor.
//!
//! ## How a child's exit is awaited: a pidfd on the poller
//!
//! When a child is spawned, goro opens a *pidfd* for it (`pidfd_open(2)`, Linux 5.3+): a
//! file descriptor that becomes readable when the process exits. It is registered with a
//! processor's poller like a socket, so [`Child::wait`] is a readiness wait: the task sleeps
//! until the exit, then reaps the child with `waitpid` (`std`'s `try_wait`), and no thread
//! is spent per child. On a kernel without pidfds, `wait` falls back to the blocking pool:
//! a blocking thread waits for the exit with `waitid(WNOWAIT)` (which does not reap, so
//! `std`'s bookkeeping stays right) and the task reaps it.
//!
//! The child's piped stdin, stdout and stderr ([`ChildStdin`], [`ChildStdout`],
//! [`ChildStderr`]) are nonblocking pipes on the poller too, with `futures_io`'s (and with
//! `tokio-io`, tokio's) I/O traits. [`Command::output`] reads both output pipes while it
//! waits for the exit, in the calling task.
//!
//! A `Child` dropped before it exits keeps running (unless [`Command::kill_on_drop`] was
//! set) and is not reaped by goro: await `wait` for every child you spawn.
//!
//! ```
//! use goro::process::Command;
//! # goro::Runtime::new().unwrap().block_on(async {
//! let out = Command::new("echo").arg("hello").output().await?;
//! assert!(out.status.success());
//! assert_eq!(out.stdout, b"hello\n");
//!
//! let status = Command::new("sh").args(["-c", "exit 3"]).status().await?;
//! assert_eq!(status.code(), Some(3));
//! # Ok::<(), std::io::Error>(())
//! # }).unwrap();
//! ```

mod exit;
mod pipe;

pub use pipe::{ChildStderr, ChildStdin, ChildStdout};
pub use std::process::{ExitStatus, Output, Stdio};

use crate::io::AsyncReadExt;
use crate::stats::WaitOp;
use exit::ExitWatch;
use std::ffi::OsStr;
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::panic::Location;
use std::path::Path;
use std::task::{Context, Poll};

/// A process to spawn: `std::process::Command`'s builder with `async` `status` and
/// `output`.
#[derive(Debug)]
pub struct Command {
    std: std::process::Command,
    kill_on_drop: bool,
}

impl Command {
    /// A command that runs `program` (looked up in `PATH` if it has no `/`).
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command::from(std::process::Command::new(program))
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.std.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Sets an environment variable of the child.
    pub fn env(&mut self, key: impl AsRef<OsStr>, val: impl AsRef<OsStr>) -> &mut Command {
        self.std.env(key, val);
        self
    }

    /// Removes an environment variable from the child's environment.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Starts the child with an empty environment (plus what `env` adds).
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// The child's working directory.
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// The child's stdin (default: inherited).
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdin(cfg);
        self
    }

    /// The child's stdout (default: inherited; `output` pipes it).
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdout(cfg);
        self
    }

    /// The child's stderr (default: inherited; `output` pipes it).
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stderr(cfg);
        self
    }

    /// Kill the child (`SIGKILL`) when its [`Child`] is dropped before it exited.
    pub fn kill_on_drop(&mut self, kill: bool) -> &mut Command {
        self.kill_on_drop = kill;
        self
    }

    /// The `std` command, for settings not forwarded here (`pre_exec`, `uid`, ...).
    pub fn as_std_mut(&mut self) -> &mut std::process::Command {
        &mut self.std
    }

    /// Starts the child.
    ///
    /// # Panics
    /// Outside a goro runtime (its pipes and exit watch register with a poller).
    #[track_caller]
    pub fn spawn(&mut self) -> io::Result<Child> {
        let at = Location::caller();
        let mut std = self.std.spawn()?;
        let exit = match ExitWatch::new(&std) {
            Ok(exit) => exit,
            Err(e) => {
                let _ = std.kill();
                let _ = std.wait();
                return Err(e);
            }
        };
        Ok(Child {
            stdin: std.stdin.take().map(ChildStdin::new).transpose()?,
            stdout: std.stdout.take().map(ChildStdout::new).transpose()?,
            stderr: std.stderr.take().map(ChildStderr::new).transpose()?,
            std,
            exit,
            status: None,
            kill_on_drop: self.kill_on_drop,
            at,
        })
    }

    /// Runs the child to its exit (stdio inherited unless set) and returns its status. Piped
    /// stdio handles are closed at once, as with tokio.
    #[track_caller]
    pub fn status(&mut self) -> impl Future<Output = io::Result<ExitStatus>> + '_ {
        let at = Location::caller();
        async move {
            let mut child = self.spawn()?;
            child.at = at;
            // Pipes nobody reads could block the child: close them, as tokio does.
            drop((child.stdin.take(), child.stdout.take(), child.stderr.take()));
            child.wait().await
        }
    }

    /// Runs the child to its exit with stdout and stderr captured. Like tokio's, it sets
    /// this command's stdout and stderr to `Stdio::piped()` (for later spawns too).
    #[track_caller]
    pub fn output(&mut self) -> impl Future<Output = io::Result<Output>> + '_ {
        let at = Location::caller();
        async move {
            self.std.stdout(Stdio::piped()).stderr(Stdio::piped());
            let mut child = self.spawn()?;
            child.at = at;
            child.wait_with_output().await
        }
    }
}

impl From<std::process::Command> for Command {
    fn from(std: std::process::Command) -> Command {
        Command {
            std,
            kill_on_drop: false,
        }
    }
}

/// A spawned child process.
pub struct Child {
    /// The write end of the child's stdin, if piped.
    pub stdin: Option<ChildStdin>,
    /// The read end of the child's stdout, if piped.
    pub stdout: Option<ChildStdout>,
    /// The read end of the child's stderr, if piped.
    pub stderr: Option<ChildStderr>,
    std: std::process::Child,
    exit: ExitWatch,
    status: Option<ExitStatus>,
    kill_on_drop: bool,
    /// Where the child was spawned: the suspension point of `wait` from `status`/`output`.
    at: &'static Location<'static>,
}

impl Child {
    /// The child's process id, until it has been reaped.
    pub fn id(&self) -> Option<u32> {
        self.status.is_none().then(|| self.std.id())
    }

    /// Sends `SIGKILL` (an error if the child was reaped already).
    pub fn start_kill(&mut self) -> io::Result<()> {
        if self.status.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the child has exited and was reaped: there is nothing to kill",
            ));
        }
        self.std.kill()
    }

    /// Kills the child and waits for it to exit.
    pub async fn kill(&mut self) -> io::Result<()> {
        self.start_kill()?;
        self.wait().await.map(drop)
    }

    /// The exit status if the child has exited (reaping it), without waiting.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if self.status.is_none() {
            self.status = self.std.try_wait()?;
        }
        Ok(self.status)
    }

    /// Waits for the child to exit and returns its status. Closes the child's stdin first,
    /// so a child reading it to the end is not left waiting. Cancel-safe.
    #[track_caller]
    pub fn wait(&mut self) -> impl Future<Output = io::Result<ExitStatus>> + '_ {
        drop(self.stdin.take());
        crate::net::trace::wait(WaitOp::ChildWait, move |cx| self.poll_wait(cx))
    }

    fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        loop {
            if let Some(status) = self.try_wait()? {
                return Poll::Ready(Ok(status));
            }
            if let Err(e) = std::task::ready!(self.exit.poll_exited(cx, &self.std)) {
                return Poll::Ready(Err(e));
            }
        }
    }

    /// Waits for the exit while reading stdout and stderr to their ends (those that are
    /// piped).
    pub async fn wait_with_output(mut self) -> io::Result<Output> {
        drop(self.stdin.take());
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let mut out_pipe = self.stdout.take();
        let mut err_pipe = self.stderr.take();
        let at = self.at;
        let mut out_read = out_pipe.as_mut().map(|p| p.read_to_end(&mut stdout));
        let mut err_read = err_pipe.as_mut().map(|p| p.read_to_end(&mut stderr));
        let mut status = None;
        let both = poll_fn(|cx| {
            poll_slot(&mut out_read, cx)?;
            poll_slot(&mut err_read, cx)?;
            if status.is_none() {
                if let Poll::Ready(s) = self.poll_wait(cx) {
                    status = Some(s?);
                }
            }
            match (&out_read, &err_read, status) {
                (None, None, Some(status)) => Poll::Ready(Ok::<_, io::Error>(status)),
                _ => Poll::Pending,
            }
        });
        let status = goro_sched::task::traced(WaitOp::ChildWait, at, both).await?;
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }
}

/// Polls a read-to-end in `slot`; clears the slot when it is done.
fn poll_slot<F>(slot: &mut Option<F>, cx: &mut Context<'_>) -> io::Result<()>
where
    F: Future<Output = io::Result<usize>> + Unpin,
{
    if let Some(read) = slot {
        if let Poll::Ready(res) = std::pin::Pin::new(read).poll(cx) {
            *slot = None;
            res?;
        }
    }
    Ok(())
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.kill_on_drop && self.status.is_none() {
            let _ = self.std.kill();
        }
    }
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child")
            .field("pid", &self.std.id())
            .field("status", &self.status)
            .finish()
    }
}
