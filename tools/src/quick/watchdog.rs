//! The watchdog: ends the process with a clear message if a run, or a runtime's start-up or
//! shutdown, makes no progress for `--timeout`.

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Ends the process if the current cell makes no progress for too long.
pub struct Watchdog {
    state: Arc<Mutex<WatchState>>,
}

struct WatchState {
    label: Option<String>,
    last: Instant,
}

impl Watchdog {
    /// Starts the watchdog thread.
    pub fn start(timeout: Duration) -> Watchdog {
        let state = Arc::new(Mutex::new(WatchState {
            label: None,
            last: Instant::now(),
        }));
        let watched = state.clone();
        let tick = (timeout / 10).clamp(Duration::from_millis(10), Duration::from_millis(500));
        thread::Builder::new()
            .name("goro-bench-watchdog".into())
            .spawn(move || loop {
                thread::sleep(tick);
                let st = watched.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(label) = &st.label {
                    if st.last.elapsed() > timeout {
                        eprintln!(
                            "goro-bench: {label}: no progress for {}s (a run, or the runtime's \
                             start-up or shutdown, never finished); giving up",
                            timeout.as_secs()
                        );
                        std::process::exit(3);
                    }
                }
            })
            .expect("spawning the watchdog thread");
        Watchdog { state }
    }

    fn with(&self, f: impl FnOnce(&mut WatchState)) {
        f(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// A new cell starts.
    pub fn enter(&self, label: &str) {
        self.with(|st| {
            st.label = Some(label.to_string());
            st.last = Instant::now();
        });
    }

    /// The current cell made progress.
    pub fn progress(&self) {
        self.with(|st| st.last = Instant::now());
    }

    /// Nothing to watch any more.
    pub fn idle(&self) {
        self.with(|st| st.label = None);
    }
}
