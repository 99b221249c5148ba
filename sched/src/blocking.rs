//! The blocking pool: threads for `spawn_blocking` work.
//!
//! Blocking closures must not run on a machine: they would stop every task of its
//! processor. They run on a pool of threads without a processor, started on demand up to
//! `max_blocking_threads`; threads the pool did not need during a window of
//! `blocking_keep_alive` exit (see `low_water.rs`: idle threads are woken in turn, so with
//! steady work none of them alone waits a whole keep-alive). A
//! blocking closure is wrapped in a task (a future that runs the closure in its only poll),
//! so it gets a `JoinHandle`, can be aborted before it starts, and is cancelled at shutdown
//! if it never started.
//!
//! Code on a blocking thread sees the runtime as `Handle::current()`: it can spawn tasks,
//! create goro futures, and `block_on` them.

use crate::low_water::LowWater;
use crate::shared::Shared;
use crate::task::{JoinHandle, Notified, RawTask};
use crate::{context, Config};
use parking_lot::{Condvar, Mutex};
use std::collections::VecDeque;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

pub(crate) struct BlockingPool {
    state: Mutex<PoolState>,
    work: Condvar,
    exited: Condvar,
    max_threads: usize,
    keep_alive: Duration,
    thread_name: String,
    stack_size: Option<usize>,
}

struct PoolState {
    queue: VecDeque<Notified>,
    threads: usize,
    idle: usize,
    /// Idle threads notified but not yet awake: they will take queued work.
    notified: usize,
    shutdown: bool,
    /// Which idle threads were not needed lately.
    low_water: LowWater,
}

/// The future that runs a blocking closure in its first poll.
struct BlockingTask<F>(Option<F>);

impl<F> Unpin for BlockingTask<F> {}

impl<F: FnOnce() -> R, R> Future for BlockingTask<F> {
    type Output = R;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<R> {
        let f = self.0.take().expect("a blocking task runs once");
        // Blocking code may use goro futures via `block_on`: no budget applies to it.
        crate::context::set_budget(crate::coop::Budget::unconstrained());
        Poll::Ready(f())
    }
}

impl BlockingPool {
    pub(crate) fn new(config: &Config) -> BlockingPool {
        BlockingPool {
            state: Mutex::new(PoolState {
                queue: VecDeque::new(),
                threads: 0,
                idle: 0,
                notified: 0,
                shutdown: false,
                low_water: LowWater::new(config.blocking_keep_alive),
            }),
            work: Condvar::new(),
            exited: Condvar::new(),
            max_threads: config.max_blocking_threads,
            keep_alive: config.blocking_keep_alive,
            thread_name: format!("{}-blocking", config.thread_name),
            stack_size: config.thread_stack_size,
        }
    }

    /// Runs `f` on the pool; the handle yields its result.
    pub(crate) fn spawn<F, R>(
        shared: &Arc<Shared>,
        f: F,
        spawned_at: &'static Location<'static>,
    ) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let raw = RawTask::new::<_, true>(BlockingTask(Some(f)), shared.clone());
        let (notified, join) = shared.register(raw, spawned_at, None);
        if let Some(notified) = notified {
            shared.blocking.push(shared, notified);
        }
        join
    }

    /// Queues a blocking task and makes sure a thread will run it.
    pub(crate) fn push(&self, shared: &Arc<Shared>, task: Notified) {
        let mut state = self.state.lock();
        if state.shutdown {
            // The registry's shutdown sweep cancels the task; just drop the reference.
            drop(state);
            drop(task);
            return;
        }
        state.queue.push_back(task);
        if state.idle > state.notified {
            // No waiter to wake means every idle thread not yet notified is past a timed-out
            // wait, about to look at the queue: it takes the task. Counting it as notified
            // would leave the count one too high for good (one idle thread fewer seen, one
            // thread more started, none retired).
            if self.work.notify_one() {
                state.notified += 1;
                let available = state.idle - state.notified;
                state.low_water.claimed(available);
            }
        } else if state.threads < self.max_threads {
            state.threads += 1;
            drop(state);
            if let Err(e) = self.start_thread(shared.clone()) {
                let mut state = self.state.lock();
                state.threads -= 1;
                if state.threads == 0 {
                    // No thread can run the queue: fail loudly rather than hang forever.
                    panic!("goro: cannot start a blocking thread and none is running: {e}");
                }
            }
        }
    }

    fn start_thread(&self, shared: Arc<Shared>) -> std::io::Result<()> {
        let mut builder = std::thread::Builder::new().name(self.thread_name.clone());
        if let Some(size) = self.stack_size {
            builder = builder.stack_size(size);
        }
        builder.spawn(move || {
            let _runtime = context::set_runtime(shared.clone(), context::ThreadRole::Blocking);
            shared.blocking.run_thread();
        })?;
        Ok(())
    }

    fn run_thread(&self) {
        let mut state = self.state.lock();
        loop {
            if let Some(task) = state.queue.pop_front() {
                drop(state);
                task.run();
                state = self.state.lock();
                continue;
            }
            if state.shutdown {
                break;
            }
            let others = state.idle.saturating_sub(state.notified);
            if state.low_water.should_retire(Instant::now(), others, 0) {
                break;
            }
            state.idle += 1;
            let deadline = Instant::now() + self.keep_alive;
            loop {
                if self.work.wait_until(&mut state, deadline).timed_out() {
                    break;
                }
                if state.notified > 0 {
                    state.notified -= 1;
                    break;
                }
                if state.shutdown {
                    break;
                }
            }
            state.idle -= 1;
        }
        state.threads -= 1;
        if state.shutdown {
            // `shutdown` waits for the count to drop to 0, or to 1 from a pool thread.
            self.exited.notify_all();
        }
    }

    /// Stops accepting work, drops queued tasks, and waits up to `timeout` (forever with
    /// `None`) for running closures to finish, except the caller's own if it runs on one of
    /// this pool's threads (`from_pool_thread`: waiting for it would never end). Returns
    /// whether every other thread exited; threads still running are left detached.
    pub(crate) fn shutdown(&self, timeout: Option<Duration>, from_pool_thread: bool) -> bool {
        let caller = from_pool_thread as usize;
        let mut state = self.state.lock();
        state.shutdown = true;
        let queued = std::mem::take(&mut state.queue);
        self.work.notify_all();
        drop(state);
        drop(queued);
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut state = self.state.lock();
        while state.threads > caller {
            match deadline {
                Some(deadline) => {
                    if self.exited.wait_until(&mut state, deadline).timed_out() {
                        return state.threads <= caller;
                    }
                }
                None => self.exited.wait(&mut state),
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use crate::{Config, Scheduler};
    use std::time::{Duration, Instant};

    /// A push that lands while an idle thread's keep-alive wait is timing out finds no
    /// waiter to wake. If it counted that thread as notified anyway, the count would stay
    /// one too high for good: one idle thread fewer seen from then on, so one thread more
    /// started, and never retired.
    #[test]
    fn pushes_racing_keep_alive_timeouts_leave_no_phantom_notification() {
        let mut config = Config::with_processors(1);
        config.blocking_keep_alive = Duration::from_millis(1);
        let rt = Scheduler::new(config).unwrap();
        let h = rt.handle();
        let shared = h
            .block_on(h.spawn_blocking(crate::context::current_runtime))
            .unwrap()
            .expect("a blocking thread sees its runtime");
        for i in 0..2000u64 {
            h.block_on(h.spawn_blocking(|| ())).unwrap();
            // Around the keep-alive, so that some pushes meet a wait timing out.
            std::thread::sleep(Duration::from_micros(850 + (i % 7) * 50));
        }
        // The pool keeps no idle thread: within a few keep-alives, all retire.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let state = shared.blocking.state.lock();
            if state.threads == 0 {
                assert_eq!(state.notified, 0, "notifications nobody received");
                break;
            }
            assert!(Instant::now() < deadline, "{} threads left", state.threads);
            drop(state);
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}
