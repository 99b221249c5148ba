//! [`Builder`]: configures and starts a [`Runtime`].
//!
//! The builder's settings win over the environment; the environment (`GORO_PROCS`,
//! `GORO_SCHEDTRACE`, `GORO_DEBUG_ADDR`, see the `env` module) fills in what the builder
//! leaves unset. Every setting is checked by `build()`, which fails with
//! [`io::ErrorKind::InvalidInput`] and a message that says what is wrong.

use crate::stats::debug_server::DebugServer;
use crate::stats::DebugExposure;
use crate::{env, Runtime};
use goro_sched::Config;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

/// Configures a [`Runtime`].
///
/// ```
/// use std::time::Duration;
///
/// let rt = goro::Builder::new()
///     .processors(2)
///     .thread_name("my-service")
///     .stats_interval(Duration::from_millis(500))
///     .leak_threshold(Duration::from_secs(60))
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
    stats: Option<bool>,
    stats_interval: Option<Duration>,
    leak_threshold: Option<Duration>,
    reclaim_orphans: bool,
    stall_alarm: Option<(f64, usize)>,
    debug_addr: Option<SocketAddr>,
    handoff_after: Option<Duration>,
    #[cfg(feature = "tokio-compat")]
    tokio_compat: bool,
    debug_public: Option<DebugExposure>,
}

impl Builder {
    /// A builder with the defaults: processors from `GORO_PROCS` or the number of CPUs,
    /// no pinning, threads named `goro-*` (see [`Builder::thread_name`]), up to 512 blocking
    /// threads.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// The number of processors: how many tasks run in parallel (Go's `GOMAXPROCS`).
    /// Overrides `GORO_PROCS`. `0` makes [`Builder::build`] fail, and so does more than
    /// 4096 (`MAX_PROCESSORS`; `GORO_PROCS` has the same bounds).
    ///
    /// What one processor costs: a machine thread, started with the runtime; a poller, which
    /// holds three file descriptors (an epoll instance, a duplicate of it for registrations
    /// from other threads, an eventfd), so 4096 processors need a descriptor limit above
    /// 12 288; and about 24 KiB of resident memory (its latency histograms are allocated only
    /// when it first records into them). Measured with `http-hello` on a 2-core machine:
    ///
    /// | processors | resident memory | threads | descriptors | ready to serve |
    /// |-----------:|----------------:|--------:|------------:|---------------:|
    /// | 1          | 3.7 MB          | 4       | 9           | 18 ms          |
    /// | 64         | 5.3 MB          | 67      | 200         | 39 ms          |
    /// | 1024       | 28.6 MB         | 1027    | 3080        | 250 ms         |
    /// | 4096       | 103 MB          | 4099    | 12 296      | 2.3 s          |
    ///
    /// More processors than cores buy nothing for CPU-bound work; the limit only bounds the
    /// cost of a misconfiguration.
    ///
    /// ```
    /// let rt = goro::Builder::new().processors(2).build().unwrap();
    /// assert_eq!(rt.block_on(async { 6 * 7 }), 42);
    /// let err = goro::Builder::new().processors(5000).build().unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// ```
    pub fn processors(&mut self, n: usize) -> &mut Builder {
        self.processors = Some(n);
        self
    }

    /// tokio's name for [`processors`](Builder::processors), so that
    /// `Builder::new_multi_thread().worker_threads(n)` ports as `Builder::new().worker_threads(n)`.
    ///
    /// ```
    /// let rt = goro::Builder::new().worker_threads(2).build()?;
    /// assert_eq!(rt.handle().processors(), 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn worker_threads(&mut self, n: usize) -> &mut Builder {
        self.processors(n)
    }

    /// Pin each machine thread to a core, round-robin over the cores this process may use.
    pub fn pin_threads(&mut self, pin: bool) -> &mut Builder {
        self.pin_threads = pin;
        self
    }

    /// The prefix of the runtime's thread names (default `goro`): machines are
    /// `{prefix}-machine-{id}` (ids count every machine the process started), the blocking
    /// pool's threads `{prefix}-blocking`, the monitor `{prefix}-monitor` and the tokio
    /// context's (feature `tokio-compat`) `{prefix}-tokio`. Linux shows the first 15 bytes
    /// of a name in `/proc` and `top`, so a short prefix keeps the kinds apart there.
    ///
    /// ```
    /// let rt = goro::Builder::new().processors(1).thread_name("svc").build().unwrap();
    /// let name = rt.block_on(async {
    ///     goro::spawn(async { std::thread::current().name().map(str::to_owned) }).await
    /// });
    /// assert!(name.unwrap().unwrap().starts_with("svc-machine-"));
    /// ```
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

    /// Timing and histograms (default on). `false` takes no clock readings on the hot
    /// path; counters, task records and orphan detection stay on (they cost nothing extra).
    ///
    /// ```
    /// let rt = goro::Builder::new().stats(false).build()?;
    /// assert!(!rt.handle().stats().stats_enabled);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stats(&mut self, on: bool) -> &mut Builder {
        self.stats = Some(on);
        self
    }

    /// How often the monitor runs a stats cycle: records the cycle's pause, checks the stall
    /// alarm and looks for suspected leaks (default 1 s, at least 10 ms).
    ///
    /// ```
    /// let rt = goro::Builder::new()
    ///     .stats_interval(std::time::Duration::from_millis(100))
    ///     .build()?;
    /// # drop(rt);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stats_interval(&mut self, interval: Duration) -> &mut Builder {
        self.stats_interval = Some(interval);
        self
    }

    /// How long a task may stay idle on an in-process wait (a channel, a lock, a
    /// `JoinHandle`) before it is suspected of leaking (default: `GORO_LEAK_THRESHOLD`
    /// milliseconds, else 30 s; not zero).
    ///
    /// ```
    /// let rt = goro::Builder::new()
    ///     .leak_threshold(std::time::Duration::from_secs(5))
    ///     .build()?;
    /// assert_eq!(rt.handle().leak_report().leak_threshold.as_secs(), 5);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn leak_threshold(&mut self, threshold: Duration) -> &mut Builder {
        self.leak_threshold = Some(threshold);
        self
    }

    /// Cancel orphaned tasks (default off): a task that nothing can ever wake has its
    /// future dropped, and its `JoinHandle` yields a `JoinError` whose `is_orphaned()` is
    /// true. Off, orphans are only counted and reported.
    ///
    /// ```
    /// let rt = goro::Builder::new().reclaim_orphans(true).build()?;
    /// let orphan = rt.spawn(std::future::poll_fn(|_cx| std::task::Poll::<()>::Pending));
    /// let err = rt.block_on(orphan).unwrap_err();
    /// assert!(err.is_orphaned());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn reclaim_orphans(&mut self, reclaim: bool) -> &mut Builder {
        self.reclaim_orphans = reclaim;
        self
    }

    /// The stall alarm: it fires when the p95 pause of the last `window` stats cycles
    /// exceeds `factor` times the running baseline (default 3.2 and 10). `factor` must be a
    /// finite number above 1 and `window` at least 1.
    ///
    /// ```
    /// let rt = goro::Builder::new().stall_alarm(5.0, 20).build()?;
    /// # drop(rt);
    /// let err = goro::Builder::new().stall_alarm(0.5, 10).build().unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stall_alarm(&mut self, factor: f64, window: usize) -> &mut Builder {
        self.stall_alarm = Some((factor, window));
        self
    }

    /// How long one poll may run on a CPU before the monitor hands its processor to another
    /// machine, so the processor's other tasks, sockets and timers go on (default 10 ms, as
    /// Go's sysmon preempts; at least 500 µs). A poll asleep in the kernel (a blocking system
    /// call, `std::thread::sleep`) loses its processor much sooner, within about 50 µs plus
    /// one or two monitor rounds, whatever this says (a round is 250 µs for a second after
    /// the monitor last saw a long poll, 1 ms in a program whose polls are all short); and
    /// tasks queued behind any long poll are taken by idle processors within a round or two. The handoffs of each rule are counted apart in
    /// [`stats`](crate::stats) (`handoffs_blocked`, `handoffs_running`).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let rt = goro::Builder::new().handoff_after(Duration::from_millis(2)).build()?;
    /// # drop(rt);
    /// let err = goro::Builder::new().handoff_after(Duration::ZERO).build().unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn handoff_after(&mut self, after: Duration) -> &mut Builder {
        self.handoff_after = Some(after);
        self
    }

    /// Serve the stats over HTTP at `addr` (overrides `GORO_DEBUG_ADDR`): `/metrics`,
    /// `/debug/goro/stats`, `/debug/goro/tasks`, `/debug/goro/leaks`. Port 0 picks a free
    /// port; [`Runtime::debug_addr`] tells which. See [`stats`](crate::stats).
    ///
    /// ```
    /// let rt = goro::Builder::new().debug_addr(([127, 0, 0, 1], 0).into()).build()?;
    /// assert!(rt.debug_addr().unwrap().port() != 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn debug_addr(&mut self, addr: SocketAddr) -> &mut Builder {
        self.debug_addr = Some(addr);
        self
    }

    /// Run every goro thread inside a tokio runtime context (feature `tokio-compat`), so
    /// crates that call tokio's runtime themselves (reqwest, `axum::serve`, `tokio::time`,
    /// `tokio::net`, `tokio::spawn`) work unchanged inside goro tasks. Off by default. It
    /// starts one tokio worker thread next to the runtime; tasks spawned with
    /// `tokio::spawn` run there, outside goro's stats. The `tokio_compat` module source
    /// explains the costs and limits; the guide `docs/moving-from-tokio.md` lists which
    /// tokio calls need it.
    ///
    /// ```
    /// let rt = goro::Builder::new().processors(1).tokio_compat(true).build()?;
    /// rt.block_on(async {
    ///     let task = goro::spawn(async {
    ///         tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    ///         7
    ///     });
    ///     assert_eq!(task.await.unwrap(), 7);
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[cfg(feature = "tokio-compat")]
    pub fn tokio_compat(&mut self, on: bool) -> &mut Builder {
        self.tokio_compat = on;
        self
    }

    /// What the debug server serves to peers beyond loopback (overrides
    /// `GORO_DEBUG_PUBLIC`). The default, [`DebugExposure::Loopback`], makes `build()` refuse
    /// a [`debug_addr`](Builder::debug_addr) that is not a loopback address; with
    /// [`Metrics`](DebugExposure::Metrics) or [`All`](DebugExposure::All) such a bind is
    /// allowed and announced on stderr. See [`DebugExposure`].
    ///
    /// ```
    /// use goro::stats::DebugExposure;
    /// let rt = goro::Builder::new()
    ///     .debug_addr(([0, 0, 0, 0], 0).into())
    ///     .debug_public(DebugExposure::Metrics)
    ///     .build()?;
    /// assert!(rt.debug_addr().unwrap().ip().is_unspecified());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn debug_public(&mut self, exposure: DebugExposure) -> &mut Builder {
        self.debug_public = Some(exposure);
        self
    }

    /// Starts the runtime. Fails with [`io::ErrorKind::InvalidInput`] on a bad setting (a
    /// zero processor count, a malformed `GORO_PROCS`, `GORO_SCHEDTRACE`, `GORO_DEBUG_ADDR`
    /// or `GORO_DEBUG_PUBLIC`, a debug address beyond loopback without an exposure), and with
    /// the OS error if threads or pollers cannot be created or the debug server's address
    /// cannot be bound.
    pub fn build(&mut self) -> io::Result<Runtime> {
        let config = self.config()?;
        let debug_addr = match self.debug_addr {
            Some(addr) => Some(addr),
            None => env::debug_addr()?,
        };
        let exposure = match self.debug_public {
            Some(exposure) => exposure,
            None => env::debug_public()?.unwrap_or_default(),
        };
        // Bind before starting anything, so a taken port fails fast.
        let listener = debug_addr
            .map(|addr| DebugServer::bind(addr, exposure))
            .transpose()?;
        #[cfg(feature = "tokio-compat")]
        let (config, tokio) = self.with_tokio_context(config)?;
        let runtime = Runtime::from_config(config)?;
        #[cfg(feature = "tokio-compat")]
        let runtime = runtime.with_tokio_context(tokio);
        match listener {
            Some(listener) => {
                let server = DebugServer::start(listener, exposure, runtime.handle().clone())?;
                Ok(runtime.with_debug_server(server))
            }
            None => Ok(runtime),
        }
    }

    /// Starts the tokio runtime of `tokio_compat` and hooks it into `config`'s threads.
    #[cfg(feature = "tokio-compat")]
    fn with_tokio_context(
        &self,
        mut config: Config,
    ) -> io::Result<(Config, Option<crate::tokio_compat::TokioContext>)> {
        if !self.tokio_compat {
            return Ok((config, None));
        }
        let tokio = crate::tokio_compat::TokioContext::start(&config.thread_name)?;
        config.on_thread_start = Some(tokio.thread_hook());
        Ok((config, Some(tokio)))
    }

    fn config(&self) -> io::Result<Config> {
        let processors = match self.processors {
            Some(n) => n,
            None => env::procs()?.unwrap_or_else(|| {
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1)
            }),
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
        if let Some(on) = self.stats {
            config.stats = on;
        }
        if let Some(interval) = self.stats_interval {
            config.stats_interval = interval;
        }
        // The builder's threshold wins over GORO_LEAK_THRESHOLD, which is then not read.
        if let Some(threshold) = self
            .leak_threshold
            .map_or_else(env::leak_threshold, |t| Ok(Some(t)))?
        {
            config.leak_threshold = threshold;
        }
        config.reclaim_orphans = self.reclaim_orphans;
        if let Some((factor, window)) = self.stall_alarm {
            config.stall_alarm_factor = factor;
            config.stall_alarm_window = window;
        }
        if let Some(after) = self.handoff_after {
            config.handoff_after = after;
        }
        config.schedtrace = env::schedtrace()?;
        config.validate()?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build_err(b: &mut Builder) -> String {
        let err = b.build().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
        err.to_string()
    }

    #[test]
    fn zero_processors_is_an_error() {
        let msg = build_err(Builder::new().processors(0));
        assert!(msg.contains("processors(0)"), "{msg}");
    }

    #[test]
    fn stats_knobs_are_checked() {
        let msg = build_err(Builder::new().stats_interval(Duration::from_millis(1)));
        assert!(msg.contains("stats_interval"), "{msg}");
        let msg = build_err(Builder::new().leak_threshold(Duration::ZERO));
        assert!(msg.contains("leak_threshold"), "{msg}");
        let msg = build_err(Builder::new().stall_alarm(1.0, 10));
        assert!(msg.contains("stall_alarm"), "{msg}");
        let msg = build_err(Builder::new().stall_alarm(f64::NAN, 10));
        assert!(msg.contains("stall_alarm"), "{msg}");
        let msg = build_err(Builder::new().stall_alarm(3.0, 0));
        assert!(msg.contains("stall_alarm"), "{msg}");
    }

    #[test]
    fn stats_knobs_reach_the_config() {
        let config = Builder::new()
            .processors(1)
            .stats(false)
            .stats_interval(Duration::from_millis(250))
            .leak_threshold(Duration::from_secs(7))
            .reclaim_orphans(true)
            .stall_alarm(4.5, 3)
            .config()
            .unwrap();
        assert!(!config.stats);
        assert_eq!(config.stats_interval, Duration::from_millis(250));
        assert_eq!(config.leak_threshold, Duration::from_secs(7));
        assert!(config.reclaim_orphans);
        assert_eq!(config.stall_alarm_factor, 4.5);
        assert_eq!(config.stall_alarm_window, 3);
    }
}
