//! The suites `goro-bench` runs in quick mode and their workloads, over goro-benches'.

use super::{CELL_BUDGET, OVERHEAD_CELL_BUDGET, OVERHEAD_ROUNDS, ROUNDS};
use goro_benches::server::Side;
use goro_benches::{echo, sched, timers, Goro, GoroNoStats, RuntimeWorkload};
use std::time::Duration;
use std::{fmt, io};

/// A suite of goro-benches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Suite {
    /// tokio's `rt_multi_threaded` shapes.
    Sched,
    /// Arming, cancelling and firing sleeps.
    Timers,
    /// TCP echo over loopback.
    Echo,
    /// goro stats on vs off over the sched and echo workloads.
    Overhead,
}

impl Suite {
    /// The goro vs tokio suites, in the order they run: the default, and `--suite all`.
    pub const ALL: [Suite; 3] = [Suite::Sched, Suite::Timers, Suite::Echo];
    /// Every suite, the `overhead` one last.
    pub const EVERY: [Suite; 4] = [Suite::Sched, Suite::Timers, Suite::Echo, Suite::Overhead];

    /// `sched`, `timers`, `echo` or `overhead`.
    pub fn name(self) -> &'static str {
        match self {
            Suite::Sched => "sched",
            Suite::Timers => "timers",
            Suite::Echo => "echo",
            Suite::Overhead => "overhead",
        }
    }

    /// The two runtimes a row compares; its ratio is the first's median over the second's.
    pub fn sides(self) -> [Side; 2] {
        match self {
            Suite::Overhead => [Side::Goro, Side::GoroNoStats],
            _ => [Side::Goro, Side::Tokio],
        }
    }

    /// What a row's ratio is, for headers.
    pub fn ratio_name(self) -> &'static str {
        match self {
            Suite::Overhead => "on/off",
            _ => "goro/tokio",
        }
    }

    /// ABBA rounds per row.
    pub fn rounds(self) -> usize {
        match self {
            Suite::Overhead => OVERHEAD_ROUNDS,
            _ => ROUNDS,
        }
    }

    /// Time after which a cell stops taking more timed runs.
    pub fn cell_budget(self) -> Duration {
        match self {
            Suite::Overhead => OVERHEAD_CELL_BUDGET,
            _ => CELL_BUDGET,
        }
    }

    /// The suite called `name`.
    pub fn from_name(name: &str) -> Option<Suite> {
        Suite::EVERY.into_iter().find(|s| s.name() == name)
    }

    /// The suite's workloads, in order.
    pub fn workloads(self) -> Vec<Workload> {
        match self {
            Suite::Sched => sched::Workload::ALL.map(Workload::Sched).to_vec(),
            Suite::Timers => timers::Workload::ALL.map(Workload::Timers).to_vec(),
            Suite::Echo => echo::Workload::ALL.map(Workload::Echo).to_vec(),
            Suite::Overhead => [Suite::Sched, Suite::Echo]
                .into_iter()
                .flat_map(Suite::workloads)
                .collect(),
        }
    }

    /// One line on what the suite measures and where its threads run, for the table.
    pub fn description(self) -> &'static str {
        match self {
            Suite::Sched => "scheduler suite (shapes of tokio's benches/rt_multi_threaded.rs)",
            Suite::Timers => {
                "timer suite: arm_cancel = arm and cancel 10 000 sleep(10 s) in one task; \
                 sleep_loop = 1 000 tasks x 10 x sleep(1 ms)"
            }
            Suite::Echo => {
                "TCP echo over loopback: one run = 64 connections x 100 round trips; \
                 tokio server = current_thread at procs=1, multi_thread(n) otherwise; \
                 clients = a separate tokio current_thread runtime on its own thread"
            }
            Suite::Overhead => {
                "goro stats(true) vs stats(false): the sched workloads and TCP echo (as in \
                 those suites), runs of both interleaved in ABBA rounds on fresh runtimes"
            }
        }
    }
}

impl fmt::Display for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One workload of any suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Workload {
    /// A workload of the scheduler suite.
    Sched(sched::Workload),
    /// A workload of the timer suite.
    Timers(timers::Workload),
    /// A workload of the echo suite.
    Echo(echo::Workload),
}

impl Workload {
    /// The goro vs tokio suite it comes from.
    pub fn suite(self) -> Suite {
        match self {
            Workload::Sched(_) => Suite::Sched,
            Workload::Timers(_) => Suite::Timers,
            Workload::Echo(_) => Suite::Echo,
        }
    }

    /// The workload's name within its suite.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Sched(w) => w.name(),
            Workload::Timers(w) => w.name(),
            Workload::Echo(w) => w.name(),
        }
    }

    /// Sets the workload up on `side` with `procs` workers; the returned closure runs one
    /// iteration, and dropping it tears everything down.
    pub fn prepare(self, side: Side, procs: usize) -> io::Result<Box<dyn FnMut()>> {
        fn boxed<P: 'static>(mut p: P, run: fn(&mut P)) -> Box<dyn FnMut()> {
            Box::new(move || run(&mut p))
        }
        fn on_side<W: RuntimeWorkload>(
            w: W,
            side: Side,
            procs: usize,
        ) -> io::Result<Box<dyn FnMut()>> {
            Ok(match side {
                Side::Goro => boxed(w.prepare::<Goro>(procs)?, W::run),
                Side::GoroNoStats => boxed(w.prepare::<GoroNoStats>(procs)?, W::run),
                Side::Tokio => boxed(w.prepare::<tokio::runtime::Runtime>(procs)?, W::run),
            })
        }
        match self {
            Workload::Sched(w) => on_side(w, side, procs),
            Workload::Timers(w) => on_side(w, side, procs),
            Workload::Echo(w) => Ok(boxed(w.prepare(side, procs)?, |p| p.run())),
        }
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.suite(), self.name())
    }
}
