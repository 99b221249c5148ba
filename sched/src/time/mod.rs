//! Timers, per processor: `sleep`, `sleep_until`, `timeout`, `interval`.
//!
//! A timer lives on the processor where it was armed: the first poll of a `Sleep` on a
//! machine puts its entry in that processor's `TimerQueue`; from a
//! thread without a processor (`block_on`, a blocking thread) it goes to one picked
//! round-robin, which is woken if the new timer is its earliest. The owner fires due timers
//! on every turn of its loop and parks no longer than its earliest deadline; idle processors
//! fire the overdue timers of busy ones. A fired timer wakes its task from the firing
//! thread, so the task lands on that processor.
//!
//! Resolution: deadlines are kept in nanoseconds; a parked processor wakes at the next
//! millisecond boundary after its deadline (epoll's resolution), a busy one on its next turn.
//! A timer never fires before its deadline. Whether a deadline has passed is asked of the
//! coarse clock first (`clock::now_if_due`): the real clock is read only for deadlines
//! within 50 ms of it, so neither a processor's turn nor a `Sleep`'s first poll reads the
//! clock while its timers are far off (hyper's 30 s header-read timeout).

pub(crate) mod clock;
mod entry;
pub(crate) mod queue;

use crate::context;
use crate::shared::Shared;
use crate::task::note_suspension;
use entry::TimerEntry;
use goro_stats::WaitOp;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

pub(crate) use clock::now as clock_now;

const NO_RUNTIME: &str = "goro timers need a runtime: create `sleep`, `timeout` and `interval` \
     inside a goro task, `Runtime::block_on`, or a goro blocking thread";

/// Waits until `duration` has elapsed.
///
/// # Panics
/// Outside a goro runtime.
///
/// ```
/// # let rt = goro_sched::Scheduler::new(goro_sched::Config::with_processors(1)).unwrap();
/// # rt.handle().block_on(async {
/// use std::time::{Duration, Instant};
/// let start = Instant::now();
/// goro_sched::time::sleep(Duration::from_millis(5)).await;
/// assert!(start.elapsed() >= Duration::from_millis(5));
/// # });
/// ```
#[track_caller]
pub fn sleep(duration: Duration) -> Sleep {
    let now = Instant::now();
    sleep_until(now.checked_add(duration).unwrap_or_else(far_future))
}

/// Waits until `deadline`.
///
/// # Panics
/// Outside a goro runtime.
#[track_caller]
pub fn sleep_until(deadline: Instant) -> Sleep {
    let Some(shared) = context::current_runtime() else {
        panic!("{NO_RUNTIME}");
    };
    Sleep {
        deadline,
        shared,
        armed: None,
        op: WaitOp::Sleep,
        at: Location::caller(),
    }
}

fn far_future() -> Instant {
    // About 30 years: further than any deadline a program means.
    Instant::now() + Duration::from_secs(86400 * 365 * 30)
}

/// The future returned by [`sleep`] and [`sleep_until`]. Dropping it cancels the timer.
pub struct Sleep {
    deadline: Instant,
    shared: Arc<Shared>,
    armed: Option<Armed>,
    /// The suspension point this sleep reports (see `task/suspend.rs`): `sleep`'s caller,
    /// or the caller of the `timeout` or `interval` it serves.
    op: WaitOp,
    at: &'static Location<'static>,
}

struct Armed {
    entry: Arc<TimerEntry>,
    processor: usize,
}

impl Sleep {
    /// The instant this sleep completes at.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the deadline has passed.
    pub fn is_elapsed(&self) -> bool {
        self.armed.as_ref().is_some_and(|a| a.entry.is_fired()) || Instant::now() >= self.deadline
    }

    /// This sleep with `at` as its suspension point instead of its maker's line: for
    /// adapters that make sleeps on behalf of user code (goro's hyper timer names the line
    /// that made the `GoroTimer`).
    #[doc(hidden)]
    pub fn reported_at(mut self, at: &'static Location<'static>) -> Sleep {
        self.at = at;
        self
    }

    /// Moves the deadline; the sleep is pending again until then.
    pub fn reset(&mut self, deadline: Instant) {
        self.cancel();
        self.deadline = deadline;
    }

    fn cancel(&mut self) {
        if let Some(armed) = self.armed.take() {
            if armed.entry.cancel() {
                self.shared.procs[armed.processor].timers.note_cancelled();
            }
        }
    }

    /// Arms the timer for `deadline`, `self.deadline` in clock nanoseconds.
    fn arm(&mut self, deadline: u64, cx: &Context<'_>) {
        let (entry, processor) = arm_on_some_processor(&self.shared, deadline, cx.waker());
        self.armed = Some(Armed { entry, processor });
    }
}

/// Arms on the current thread's processor, or on one picked round-robin, and wakes that
/// processor's owner if the timer is its earliest and the owner is not this thread (it may
/// be parked with a longer timeout). Returns the timer's entry and the processor's index.
///
/// A thread whose poll outlasted the monitor's patience still has its processor in its
/// context, but another machine owns it now: that owner must be woken like any other. If
/// the ownership check below still sees this machine, the handoff's `owner` store comes
/// later, so the next owner locks the timer queue after this arm and parks no longer than
/// this timer.
fn arm_on_some_processor(
    shared: &Arc<Shared>,
    deadline: u64,
    waker: &Waker,
) -> (Arc<TimerEntry>, usize) {
    let index = shared
        .local_index()
        .unwrap_or_else(|| shared.next_remote_index());
    let ps = &shared.procs[index];
    let (entry, earliest) = ps.timers.arm(deadline, waker.clone());
    if earliest && !ps.is_owned_here() {
        shared.unpark(index);
    }
    (entry, index)
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let spent = std::task::ready!(crate::coop::poll_proceed(cx));
        let fired = match &self.armed {
            Some(armed) if armed.entry.is_fired() => true,
            Some(armed) => {
                armed.entry.set_waker(cx.waker());
                armed.entry.is_fired()
            }
            None => {
                let deadline = clock::to_nanos(self.deadline);
                let passed = clock::now_if_due(deadline).is_some();
                if !passed {
                    self.arm(deadline, cx);
                }
                passed
            }
        };
        if fired {
            spent.made_progress();
            Poll::Ready(())
        } else {
            note_suspension(self.op, self.at);
            Poll::Pending
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.cancel();
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .finish()
    }
}

/// The error of a [`Timeout`] whose time ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(_: Elapsed) -> std::io::Error {
        std::io::ErrorKind::TimedOut.into()
    }
}

/// Runs `future` for at most `duration`: `Ok(output)` if it finished first, else
/// `Err(Elapsed)` (and the future is dropped with the `Timeout`).
///
/// # Panics
/// Outside a goro runtime.
#[track_caller]
pub fn timeout<F: IntoFuture>(duration: Duration, future: F) -> Timeout<F::IntoFuture> {
    let mut sleep = sleep(duration);
    sleep.op = WaitOp::Timeout;
    Timeout {
        future: future.into_future(),
        sleep,
    }
}

/// Like [`timeout`] with a deadline.
#[track_caller]
pub fn timeout_at<F: IntoFuture>(deadline: Instant, future: F) -> Timeout<F::IntoFuture> {
    let mut sleep = sleep_until(deadline);
    sleep.op = WaitOp::Timeout;
    Timeout {
        future: future.into_future(),
        sleep,
    }
}

/// The future returned by [`timeout`].
#[derive(Debug)]
pub struct Timeout<F> {
    future: F,
    sleep: Sleep,
}

impl<F> Timeout<F> {
    /// The wrapped future.
    pub fn into_inner(self) -> F {
        self.future
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of a pinned
        // `Timeout` (no method moves it while pinned, and `Timeout` has no `Drop` that does).
        // `sleep` is `Unpin` and not pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        if let Poll::Ready(out) = future.poll(cx) {
            return Poll::Ready(Ok(out));
        }
        // The inner future's own suspension point, if it noted one, says more about what
        // the task waits on than the timer does: keep it.
        let inner = context::take_suspension().map(|mut s| {
            // A `#[track_caller]` leaf polled by us (a `JoinHandle`) names this file: the
            // user's line is the `timeout` call.
            if s.at.file() == file!() {
                s.at = this.sleep.at;
            }
            s
        });
        let poll = Pin::new(&mut this.sleep)
            .poll(cx)
            .map(|()| Err(Elapsed(())));
        if inner.is_some() {
            context::set_suspension(inner);
        }
        poll
    }
}

/// Ticks every `period`; the first tick completes at once. Ticks missed because the task
/// came late are delivered as [`MissedTickBehavior`] says, by default in a burst (tokio's
/// default too).
///
/// # Panics
/// Outside a goro runtime, or if `period` is zero.
///
/// ```
/// # let rt = goro_sched::Scheduler::new(goro_sched::Config::with_processors(1)).unwrap();
/// # rt.handle().block_on(async {
/// let mut every = goro_sched::time::interval(std::time::Duration::from_millis(2));
/// let first = every.tick().await;
/// let second = every.tick().await;
/// assert!(second - first >= std::time::Duration::from_millis(2));
/// # });
/// ```
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// Ticks every `period`, the first tick at `start`.
///
/// # Panics
/// Outside a goro runtime, or if `period` is zero.
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "goro::time::interval: the period must be non-zero"
    );
    let mut sleep = sleep_until(start);
    sleep.op = WaitOp::Interval;
    Interval {
        period,
        sleep,
        missed: MissedTickBehavior::default(),
    }
}

/// What an [`Interval`] does with the ticks it missed because its task polled it late (tokio's
/// names and meanings). A tick counts as missed when it is taken more than 5 ms after its
/// scheduled time (as tokio).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Deliver every missed tick at once, one per `tick()`, until the schedule has caught
    /// up: the long-run tick count matches the period.
    #[default]
    Burst,
    /// Start the schedule again from the late tick: the next tick is one period after it
    /// was taken.
    Delay,
    /// Drop the missed ticks: the next tick is the next one on the original schedule that
    /// is still ahead.
    Skip,
}

/// How late a tick must be taken to count as missed: below it, a tick's lateness is the
/// scheduler's and timers' own jitter, not a missed tick.
const MISSED_AFTER: Duration = Duration::from_millis(5);

impl MissedTickBehavior {
    /// The tick after the one scheduled at `tick` and taken now (a burst needs no clock
    /// reading: its next tick is one period after this one, however late).
    fn next(self, tick: Instant, period: Duration) -> Instant {
        let next = match self {
            MissedTickBehavior::Burst => tick.checked_add(period),
            MissedTickBehavior::Delay | MissedTickBehavior::Skip => {
                let now = Instant::now();
                let late = now.saturating_duration_since(tick);
                if late <= MISSED_AFTER {
                    tick.checked_add(period)
                } else if self == MissedTickBehavior::Delay {
                    now.checked_add(period)
                } else {
                    // Below `late`, a time that really passed, so it fits in a u64 of
                    // nanoseconds (584 years); below `period` too, so `left` is positive.
                    let into_period = late.as_nanos() % period.as_nanos();
                    let left = period - Duration::from_nanos(into_period as u64);
                    now.checked_add(left)
                }
            }
        };
        next.unwrap_or_else(far_future)
    }
}

/// The stream of ticks returned by [`interval`].
#[derive(Debug)]
pub struct Interval {
    period: Duration,
    sleep: Sleep,
    missed: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick and returns its scheduled instant.
    pub async fn tick(&mut self) -> Instant {
        std::future::poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        std::task::ready!(Pin::new(&mut self.sleep).poll(cx));
        let tick = self.sleep.deadline();
        let next = self.missed.next(tick, self.period);
        self.sleep.reset(next);
        Poll::Ready(tick)
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// What this interval does with missed ticks.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed
    }

    /// Sets what this interval does with missed ticks.
    ///
    /// ```
    /// # let rt = goro_sched::Scheduler::new(goro_sched::Config::with_processors(1)).unwrap();
    /// # rt.handle().block_on(async {
    /// use goro_sched::time::{interval, MissedTickBehavior};
    /// let mut every = interval(std::time::Duration::from_millis(10));
    /// every.set_missed_tick_behavior(MissedTickBehavior::Skip);
    /// every.tick().await;
    /// # });
    /// ```
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed = behavior;
    }

    /// Restarts the schedule: the next tick is one period from now.
    pub fn reset(&mut self) {
        self.sleep.reset(Instant::now() + self.period);
    }
}
