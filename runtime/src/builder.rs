//! [`Builder`]: configures and starts a [`Runtime`].

use crate::Runtime;
use goro_sched::{Config, MAX_PROCESSORS};
use std::io;

/// The environment variable that sets the default number of processors (like `GOMAXPROCS`).
pub const PROCS_ENV: &str = "GORO_PROCS";

/// Configures a [`Runtime`].
///
/// ```
/// let rt = goro::Builder::new()
///     .processors(2)
///     .thread_name("my-service")
///     .build()?;
/// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
///
/// let err = goro::Builder::new().processors(0).build().unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Builder {
    processors: Option<usize>,
    pin_threads: bool,
    thread_name: Option<String>,
    max_blocking_threads: Option<usize>,
    thread_stack_size: Option<usize>,
}

impl Builder {
    /// A builder with the defaults: processors from `GORO_PROCS` or the number of CPUs,
    /// no pinning, threads named `goro-worker`, up to 512 blocking threads.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// The number of processors: how many tasks run in parallel (Go's `GOMAXPROCS`).
    /// Overrides `GORO_PROCS`. `0` makes [`Builder::build`] fail.
    pub fn processors(&mut self, n: usize) -> &mut Builder {
        self.processors = Some(n);
        self
    }

    /// Pin each machine thread to a core, round-robin over the cores this process may use.
    pub fn pin_threads(&mut self, pin: bool) -> &mut Builder {
        self.pin_threads = pin;
        self
    }

    /// The name of the runtime's threads.
    pub fn thread_name(&mut self, name: impl Into<String>) -> &mut Builder {
        self.thread_name = Some(name.into());
        self
    }

    /// The most threads the blocking pool may run at once (default 512). `0` makes
    /// [`Builder::build`] fail.
    pub fn max_blocking_threads(&mut self, n: usize) -> &mut Builder {
        self.max_blocking_threads = Some(n);
        self
    }

    /// The stack size of the runtime's threads.
    pub fn thread_stack_size(&mut self, bytes: usize) -> &mut Builder {
        self.thread_stack_size = Some(bytes);
        self
    }

    /// Starts the runtime. Fails with [`io::ErrorKind::InvalidInput`] on a bad setting (a
    /// zero processor count, a malformed `GORO_PROCS`), and with the OS error if threads
    /// or pollers cannot be created.
    pub fn build(&mut self) -> io::Result<Runtime> {
        Runtime::from_config(self.config()?)
    }

    fn config(&self) -> io::Result<Config> {
        let processors = match self.processors {
            Some(n) => n,
            None => default_processors()?,
        };
        let mut config = Config::with_processors(processors);
        config.pin_threads = self.pin_threads;
        if let Some(name) = &self.thread_name {
            config.thread_name = name.clone();
        }
        if let Some(n) = self.max_blocking_threads {
            config.max_blocking_threads = n;
        }
        config.thread_stack_size = self.thread_stack_size;
        config.validate()?;
        Ok(config)
    }
}

/// `GORO_PROCS` if set, else the number of CPUs available to the process.
fn default_processors() -> io::Result<usize> {
    match std::env::var(PROCS_ENV) {
        Ok(value) => parse_procs(&value),
        Err(std::env::VarError::NotPresent) => Ok(std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)),
        Err(std::env::VarError::NotUnicode(raw)) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{PROCS_ENV}={raw:?} is not valid: expected a whole number from 1 to {MAX_PROCESSORS}"),
        )),
    }
}

/// Parses a `GORO_PROCS` value: a whole number from 1 to [`MAX_PROCESSORS`].
fn parse_procs(value: &str) -> io::Result<usize> {
    match value.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_PROCESSORS).contains(&n) => Ok(n),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{PROCS_ENV}={value:?} is not valid: expected a whole number from 1 to {MAX_PROCESSORS}"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_procs_accepts_positive_numbers() {
        assert_eq!(parse_procs("1").unwrap(), 1);
        assert_eq!(parse_procs(" 8 ").unwrap(), 8);
    }

    #[test]
    fn parse_procs_rejects_bad_values_with_a_message() {
        for bad in ["0", "abc", "", "-1", "1.5", "99999999"] {
            let err = parse_procs(bad).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
            let msg = err.to_string();
            assert!(msg.contains("GORO_PROCS"), "{msg}");
            assert!(msg.contains(&format!("{bad:?}")), "{msg}");
        }
    }

    #[test]
    fn zero_processors_is_an_error() {
        let err = Builder::new().processors(0).build().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("processors(0)"), "{err}");
    }
}
