//! Scheduler configuration, validated by [`Config::validate`].

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A function the monitor calls on every round (every 20 µs to 10 ms), with the round's
/// time. This is where a stats cycle hooks in; it must return quickly.
#[derive(Clone)]
pub struct MonitorHook(pub Arc<dyn Fn(Instant) + Send + Sync>);

impl fmt::Debug for MonitorHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MonitorHook(..)")
    }
}

/// How a [`Scheduler`](crate::Scheduler) is built. The `goro` crate's `Builder` fills it in.
#[derive(Debug, Clone)]
pub struct Config {
    /// Processors (Go's GOMAXPROCS): how many tasks run in parallel. At least 1.
    pub processors: usize,
    /// Pin machine threads to cores, round-robin.
    pub pin_threads: bool,
    /// Name of the runtime's threads.
    pub thread_name: String,
    /// Most threads the blocking pool starts. At least 1.
    pub max_blocking_threads: usize,
    /// How long an idle blocking thread waits for work before it exits.
    pub blocking_keep_alive: Duration,
    /// Stack size of the runtime's threads, if not the default.
    pub thread_stack_size: Option<usize>,
    /// Called by the monitor on every round.
    pub monitor_hook: Option<MonitorHook>,
}

impl Config {
    /// Defaults with `processors` processors.
    pub fn with_processors(processors: usize) -> Config {
        Config {
            processors,
            pin_threads: false,
            thread_name: "goro-worker".to_string(),
            max_blocking_threads: 512,
            blocking_keep_alive: Duration::from_secs(10),
            thread_stack_size: None,
            monitor_hook: None,
        }
    }

    /// Checks every field, returning an `InvalidInput` error that says what is wrong.
    pub fn validate(&self) -> io::Result<()> {
        if self.processors == 0 {
            return Err(invalid(
                "processors(0): a runtime needs at least 1 processor".to_string(),
            ));
        }
        if self.processors > MAX_PROCESSORS {
            return Err(invalid(format!(
                "processors({}): at most {MAX_PROCESSORS} processors are supported",
                self.processors
            )));
        }
        if self.max_blocking_threads == 0 {
            return Err(invalid(
                "max_blocking_threads(0): the blocking pool needs at least 1 thread".to_string(),
            ));
        }
        Ok(())
    }
}

/// The most processors a runtime may have.
pub const MAX_PROCESSORS: usize = 4096;

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}
