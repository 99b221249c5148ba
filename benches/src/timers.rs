//! The timer suite, generic over [`BenchRuntime`]: goro's per-processor timer heaps against
//! tokio's timer wheel, through each runtime's own `sleep`.
//!
//! * **arm_cancel** — one task creates [`NUM_TIMERS`] `sleep(10 s)`s, polls each once so that
//!   it is armed (registered with the runtime's timer structure, holding the task's waker),
//!   keeps them all pending at once, then drops them all, which cancels them. Nothing ever
//!   fires. Stresses the arm and cancel paths with 10 000 live timers: goro's heap push,
//!   lazy cancellation and compaction; tokio's wheel insert and unlink.
//! * **sleep_loop** — [`SLEEP_TASKS`] tasks, spawned from a task, each `sleep(1 ms)` in a loop
//!   [`SLEEPS_PER_TASK`] times; the last to finish signals. Stresses firing: many timers due
//!   at about the same time, the wake-ups they cause, re-arming, and how promptly a parked
//!   worker wakes for its next deadline. Timer resolution shows here: an iteration can never
//!   take less than 10 ms, and both runtimes round a deadline up to their tick (tokio's is
//!   1 ms), so read this one as "overhead on top of 10 ms".
//!
//! Completion is signalled with `std::sync::mpsc`, as in the scheduler suite, so the bench
//! thread waits outside the runtime.

use super::BenchRuntime;
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{mpsc, Arc};
use std::task::Poll;
use std::time::Duration;

/// Sleeps armed and cancelled per iteration of `arm_cancel`.
pub const NUM_TIMERS: usize = 10_000;
/// How long each `arm_cancel` sleep would last (it is cancelled long before).
pub const ARM_FOR: Duration = Duration::from_secs(10);
/// Tasks in `sleep_loop`.
pub const SLEEP_TASKS: usize = 1_000;
/// Sleeps per task in `sleep_loop`.
pub const SLEEPS_PER_TASK: usize = 10;
/// Length of each `sleep_loop` sleep.
pub const SLEEP_FOR: Duration = Duration::from_millis(1);

/// One workload of the timer suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Workload {
    /// `arm_cancel`: arm and cancel [`NUM_TIMERS`] sleeps.
    ArmCancel,
    /// `sleep_loop`: [`SLEEP_TASKS`] tasks sleep 1 ms [`SLEEPS_PER_TASK`] times each.
    SleepLoop,
}

impl Workload {
    /// Every workload, in the order the suite runs them.
    pub const ALL: [Workload; 2] = [Workload::ArmCancel, Workload::SleepLoop];

    /// The workload's name, as used in criterion ids (`timers/<name>/<procs>`).
    pub fn name(self) -> &'static str {
        match self {
            Workload::ArmCancel => "arm_cancel",
            Workload::SleepLoop => "sleep_loop",
        }
    }

    /// Builds a runtime with `procs` workers (tokio's with `enable_all()`), ready to run the
    /// workload repeatedly.
    pub fn prepare<R: BenchRuntime>(self, procs: usize) -> io::Result<Prepared<R>> {
        Ok(Prepared {
            workload: self,
            rt: R::build(procs)?,
        })
    }

    /// Runs one iteration of the workload on `rt`.
    pub fn run_once<R: BenchRuntime>(self, rt: &R) {
        match self {
            Workload::ArmCancel => arm_cancel(rt),
            Workload::SleepLoop => sleep_loop(rt),
        }
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A runtime set up for one timer workload.
pub struct Prepared<R: BenchRuntime> {
    workload: Workload,
    rt: R,
}

impl<R: BenchRuntime> Prepared<R> {
    /// Runs one iteration of the workload.
    pub fn run(&mut self) {
        self.workload.run_once(&self.rt);
    }

    /// The runtime the workload runs on.
    pub fn runtime(&self) -> &R {
        &self.rt
    }
}

/// arm_cancel: inside one task, arm [`NUM_TIMERS`] sleeps of [`ARM_FOR`] (each polled once,
/// all pending together), then drop them all.
pub fn arm_cancel<R: BenchRuntime>(rt: &R) {
    let (tx, rx) = mpsc::sync_channel(1);
    drop(rt.spawn(async move {
        let mut sleeps: Vec<Pin<Box<_>>> = (0..NUM_TIMERS)
            .map(|_| Box::pin(R::sleep(ARM_FOR)))
            .collect();
        // One poll each, inside one task poll. A sleep that returns `Pending` does not
        // spend cooperative budget on either runtime, so every one of them gets armed.
        let pending = poll_fn(|cx| {
            Poll::Ready(
                sleeps
                    .iter_mut()
                    .map(|s| s.as_mut().poll(cx).is_pending())
                    .filter(|&pending| pending)
                    .count(),
            )
        })
        .await;
        drop(sleeps);
        tx.send(pending).unwrap();
    }));
    let pending = rx
        .recv()
        .expect("arm_cancel: the task was dropped before it finished");
    assert_eq!(
        pending, NUM_TIMERS,
        "arm_cancel: a 10 s sleep completed at once"
    );
}

/// sleep_loop: [`SLEEP_TASKS`] tasks, spawned from a task, each sleep [`SLEEP_FOR`]
/// [`SLEEPS_PER_TASK`] times; the last to finish signals.
pub fn sleep_loop<R: BenchRuntime>(rt: &R) {
    let (tx, rx) = mpsc::sync_channel(1);
    let rem = Arc::new(AtomicUsize::new(SLEEP_TASKS));
    drop(rt.spawn(async move {
        for _ in 0..SLEEP_TASKS {
            let tx = tx.clone();
            let rem = rem.clone();
            R::spawn_inside(async move {
                for _ in 0..SLEEPS_PER_TASK {
                    R::sleep(SLEEP_FOR).await;
                }
                if rem.fetch_sub(1, Relaxed) == 1 {
                    tx.send(()).unwrap();
                }
            });
        }
    }));
    rx.recv()
        .expect("sleep_loop: a task was dropped before it finished");
}
