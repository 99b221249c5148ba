//! Where the network benches put their threads.
//!
//! DESIGN.md's rule for network figures on this 2-core machine: the load generator gets one
//! core and the server the rest. With `procs = 1` the clients are pinned to the first core
//! the process may use and the server (every thread of its runtime) to the second; with
//! `procs = 2` the clients are pinned to the first core and the server may use both (there
//! is no third core to give it). A runtime's threads are pinned by building it on a thread
//! that is already pinned: threads inherit their creator's CPU mask on Linux, and both
//! runtimes start their workers (and goro its monitor, which starts spare machines) while
//! being built.
//!
//! Set `GORO_BENCH_PIN=0` to pin nothing. With fewer than 2 usable cores nothing is pinned.

use core_affinity::CoreId;

/// Which core the clients and the server of a network bench get; `None` is "not pinned".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    /// The core the clients run on.
    pub client: Option<CoreId>,
    /// The core the server runs on.
    pub server: Option<CoreId>,
}

impl Placement {
    /// No pinning at all.
    pub const NONE: Placement = Placement {
        client: None,
        server: None,
    };

    /// The placement for a server with `procs` workers (see the module docs).
    pub fn for_procs(procs: usize) -> Placement {
        if !enabled() {
            return Placement::NONE;
        }
        let cores = core_affinity::get_core_ids().unwrap_or_default();
        if cores.len() < 2 {
            return Placement::NONE;
        }
        Placement {
            client: Some(cores[0]),
            server: (procs < cores.len()).then(|| cores[1]),
        }
    }

    /// A short human description, e.g. `clients on cpu 0, server on cpu 1`.
    pub fn describe(&self) -> String {
        let one = |c: Option<CoreId>| {
            c.map_or_else(|| "any cpu".to_string(), |c| format!("cpu {}", c.id))
        };
        format!(
            "clients on {}, server on {}",
            one(self.client),
            one(self.server)
        )
    }
}

/// Whether pinning is on (`GORO_BENCH_PIN` is not `0`).
pub fn enabled() -> bool {
    std::env::var("GORO_BENCH_PIN").map_or(true, |v| v.trim() != "0")
}

/// Runs `f` on a fresh thread pinned to `core` (not pinned if `None`) and returns its
/// result. Threads that `f` creates inherit the pinning.
pub fn run_on<T: Send>(core: Option<CoreId>, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(move || {
            pin_current(core);
            f()
        })
        .join()
        .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}

/// Pins the current thread to `core` (nothing if `None`).
pub fn pin_current(core: Option<CoreId>) {
    if let Some(core) = core {
        // Failure (e.g. the core is outside a cgroup's set) leaves the thread unpinned.
        let _ = core_affinity::set_for_current(core);
    }
}
