//! The process's threads by kind, from their names in `/proc/self/task/*/comm`.
//!
//! goro names its threads by what they do (`Builder::thread_name`): machines
//! `goro-machine-<id>`, the blocking pool's `goro-blocking`, the monitor `goro-monitor`,
//! the tokio context's `goro-tokio`, the debug server `goro-debug-server`; the soak's own
//! are its main thread (`goro-soak`, the process's name), the sampler and the watchdog. A
//! census counts each kind now and remembers every thread id it saw, so that the end of a
//! soak can say not only how many threads of a kind were alive but how many came and went:
//! a pool that retires and restarts threads shows many ids for a steady count, a leak
//! shows both climbing.

use std::collections::BTreeSet;
use std::fmt;
use std::io;

/// What a thread of the soak's process is, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ThreadKind {
    /// A machine: runs a processor, or waits as a spare for a handed-off one.
    Machine,
    /// A blocking-pool thread.
    Blocking,
    /// The monitor (sysmon).
    Monitor,
    /// The tokio context's worker or blocking threads.
    Tokio,
    /// The debug server.
    Debug,
    /// The soak's own: its main thread, sampler and watchdog.
    Soak,
    /// Any other name.
    Other,
}

impl ThreadKind {
    /// Every kind, in report order.
    pub const ALL: [ThreadKind; 7] = [
        ThreadKind::Machine,
        ThreadKind::Blocking,
        ThreadKind::Monitor,
        ThreadKind::Tokio,
        ThreadKind::Debug,
        ThreadKind::Soak,
        ThreadKind::Other,
    ];

    /// The kind of a thread named `comm` (as `/proc` shows it: at most 15 bytes).
    pub fn of(comm: &str) -> ThreadKind {
        const PREFIXES: [(&str, ThreadKind); 7] = [
            ("goro-machine-", ThreadKind::Machine),
            ("goro-blocking", ThreadKind::Blocking),
            ("goro-monitor", ThreadKind::Monitor),
            ("goro-tokio", ThreadKind::Tokio),
            ("goro-debug", ThreadKind::Debug),
            ("goro-soak", ThreadKind::Soak),
            ("soak-", ThreadKind::Soak),
        ];
        PREFIXES
            .iter()
            .find(|(prefix, _)| comm.starts_with(prefix))
            .map_or(ThreadKind::Other, |&(_, kind)| kind)
    }

    /// Whether goro started the thread (rather than the soak or anyone else).
    pub fn is_goro(self) -> bool {
        !matches!(self, ThreadKind::Soak | ThreadKind::Other)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Threads alive now, per kind (indexed like [`ThreadKind::ALL`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ThreadCounts([u64; 7]);

impl ThreadCounts {
    /// How many threads of `kind`.
    pub fn get(&self, kind: ThreadKind) -> u64 {
        self.0[kind.index()]
    }

    /// All threads.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// Only the kinds goro starts.
    pub fn goro_only(&self) -> ThreadCounts {
        ThreadKind::ALL
            .into_iter()
            .filter(|kind| kind.is_goro())
            .map(|kind| (kind, self.get(kind)))
            .collect()
    }

    fn add(&mut self, kind: ThreadKind) {
        self.0[kind.index()] += 1;
    }
}

impl FromIterator<(ThreadKind, u64)> for ThreadCounts {
    /// Counts from (kind, count) pairs; a kind named twice adds up.
    fn from_iter<I: IntoIterator<Item = (ThreadKind, u64)>>(pairs: I) -> ThreadCounts {
        let mut counts = ThreadCounts::default();
        for (kind, n) in pairs {
            counts.0[kind.index()] += n;
        }
        counts
    }
}

impl fmt::Display for ThreadCounts {
    /// `machine=3 blocking=5 monitor=1 soak=3`: the kinds with at least one thread.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for kind in ThreadKind::ALL {
            let n = self.get(kind);
            if n > 0 {
                let sep = if first { "" } else { " " };
                write!(f, "{sep}{}={n}", format!("{kind:?}").to_lowercase())?;
                first = false;
            }
        }
        Ok(())
    }
}

/// Counts the threads of this process by kind, and remembers every (kind, thread id) seen.
#[derive(Debug, Default)]
pub struct Census {
    seen: BTreeSet<(ThreadKind, u64)>,
}

impl Census {
    /// Reads `/proc/self/task` once: the threads alive now, by kind.
    pub fn take(&mut self) -> io::Result<ThreadCounts> {
        let mut counts = ThreadCounts::default();
        for task in std::fs::read_dir("/proc/self/task")? {
            let task = task?;
            let Some(tid) = task.file_name().to_str().and_then(|s| s.parse().ok()) else {
                continue;
            };
            // A thread that exited since the listing has no comm any more: not alive.
            let Ok(comm) = std::fs::read_to_string(task.path().join("comm")) else {
                continue;
            };
            let kind = ThreadKind::of(comm.trim_end());
            counts.add(kind);
            self.seen.insert((kind, tid));
        }
        Ok(counts)
    }

    /// Waits up to `limit` for every thread goro started to be gone (a thread that returned
    /// from its function may take a moment to leave `/proc`); returns goro's threads still
    /// there, by kind.
    pub fn goro_threads_left(limit: std::time::Duration) -> io::Result<ThreadCounts> {
        let until = std::time::Instant::now() + limit;
        loop {
            let left = Census::default().take()?.goro_only();
            if left.total() == 0 || std::time::Instant::now() >= until {
                return Ok(left);
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// How many distinct threads of each kind the census has seen so far.
    pub fn distinct(&self) -> ThreadCounts {
        let mut counts = ThreadCounts::default();
        for &(kind, _) in &self.seen {
            counts.add(kind);
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_kinds() {
        use ThreadKind::*;
        // As /proc shows them: cut to 15 bytes.
        let names = "goro-machine-1 goro-machine-12 goro-blocking goro-monitor goro-tokio \
                     goro-debug-serv goro-soak soak-sampler soak-watchdog goro-worker x";
        let kinds: Vec<ThreadKind> = names.split_whitespace().map(ThreadKind::of).collect();
        let expected = [
            Machine, Machine, Blocking, Monitor, Tokio, Debug, Soak, Soak, Soak, Other, Other,
        ];
        assert_eq!(kinds, expected);
    }

    #[test]
    fn counts_this_process_by_kind_and_remembers_ids() {
        // Other tests of this binary may start goro threads too: look for this one's id.
        let mut census = Census::default();
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("goro-blocking".into())
            .spawn(move || {
                // SAFETY: gettid has no preconditions.
                tid_tx.send(unsafe { libc::gettid() } as u64).unwrap();
                stop_rx.recv()
            })
            .unwrap();
        let tid = tid_rx.recv().unwrap();
        let during = census.take().unwrap();
        drop(stop_tx);
        thread.join().unwrap().unwrap_err();
        assert!(census.seen.contains(&(ThreadKind::Blocking, tid)));
        assert!(during.get(ThreadKind::Blocking) >= 1 && during.total() >= 2);
        assert!(census.distinct().get(ThreadKind::Blocking) >= 1);
        let counts: ThreadCounts = [(ThreadKind::Machine, 2), (ThreadKind::Monitor, 1)]
            .into_iter()
            .collect();
        assert_eq!(counts.to_string(), "machine=2 monitor=1");
        assert_eq!(counts.total(), 3);
        let with_soak: ThreadCounts = [(ThreadKind::Soak, 3), (ThreadKind::Blocking, 1)]
            .into_iter()
            .collect();
        assert_eq!(with_soak.goro_only().to_string(), "blocking=1");
    }
}
