//! Polling for I/O without blocking, and dispatching a batch of events: the tasks the events
//! wake land on the polling processor, and another processor is woken for them only if they
//! wait too long (see [`Processor::dispatch`]).

use super::Processor;
use goro_netpoll::WaitOutcome;
use std::time::{Duration, Instant};

/// How long the tasks an I/O batch queued here may wait before another processor is woken
/// to take some of them; see [`Processor::poll_ready`].
const BATCH_HELP_DELAY: Duration = Duration::from_micros(30);

impl Processor {
    /// Out of tasks, before searching other processors: with one processor, polls its
    /// poller without blocking (cheaper than the round of the idle protocol that parking in
    /// it would take). With several, does nothing: the park that follows a fruitless search
    /// waits in the watch, which returns at once if any poller has events, and polling it
    /// here too would cost a system call on every idle turn (measured: twice the
    /// `epoll_wait` calls per HTTP request of tokio's multi-thread runtime).
    pub(crate) fn poll_io_before_search(&self) -> usize {
        match self.shared().watch {
            None => self.poll_io_now(),
            Some(_) => 0,
        }
    }

    /// Polls for I/O without blocking; the tasks the events wake land here. Returns how
    /// many events were dispatched.
    ///
    /// With one processor that is its own poller. With several it is the poller watch: one
    /// call says which processors' pollers have events, and only those are polled. If
    /// another thread holds the watch (a processor parked in it, which the kernel wakes
    /// for any event, or one polling it right now) there is nothing to do.
    pub(crate) fn poll_io_now(&self) -> usize {
        let Some(watch) = &self.shared().watch else {
            return self.poll_ready(&[self.index]);
        };
        let Some(guard) = watch.try_claim() else {
            return 0;
        };
        let mut ready = self.watch_ready.take();
        let events = match guard.wait_then(Some(Duration::ZERO), || {}, &mut ready) {
            Ok(_) => self.poll_ready(&ready),
            Err(_) => 0,
        };
        self.watch_ready.set(ready);
        events
    }

    /// Polls, without blocking, the pollers a watch wait reported, or this processor's
    /// own, each until it has no more events; the woken tasks land here. Returns how many
    /// events were dispatched.
    pub(super) fn poll_ready(&self, ready: &[usize]) -> usize {
        let mut events = 0;
        for &index in ready {
            let poller = &self.shared().procs[index].poller;
            if !poller.has_registrations() {
                // Nothing can be ready; wake-ups are only consumed by parking.
                continue;
            }
            // Nothing if someone else is polling it: they dispatch what it has.
            self.dispatch(|| {
                poller.try_drain_now(|outcome| events += self.count_poll(index, outcome))
            });
        }
        events
    }

    /// Runs `poll`, which dispatches a batch of I/O events whose wakes land here, without
    /// waking other processors for each task it queues. If tasks are left queued, another
    /// processor is woken for them only if they still wait [`BATCH_HELP_DELAY`] later
    /// (`call_batch_help`, at the next task boundaries). A task of the batch whose poll runs
    /// long holds the others up until it ends, or until the monitor hands the processor,
    /// queue and all, to another machine after 10 ms.
    ///
    /// tokio wakes a worker as soon as a driver poll leaves two tasks queued. But a parked
    /// thread needs a futex wake, a context switch and a steal before it runs anything, and
    /// it takes a core from whatever else runs there: a batch this processor finishes in
    /// about that time gains nothing from it. Measured with HTTP keep-alive load at 2
    /// processors on 2 cores (the load generator on one), requests per second against
    /// waking at once, medians of 6 paired runs: 1.02 after 10 µs, 1.06 after 20 µs, 1.11
    /// after 30 µs, 1.11 after 50 µs.
    pub(super) fn dispatch<R>(&self, poll: impl FnOnce() -> R) -> R {
        if self.shared().watch.is_none() {
            // A lone processor: there is nobody to wake.
            return poll();
        }
        self.dispatching.set(true);
        let polled = poll();
        self.dispatching.set(false);
        if self.batch_queued_at.get().is_none() && !self.local.is_empty() {
            self.batch_queued_at.set(Some(Instant::now()));
        }
        polled
    }

    /// Wakes another processor for tasks an I/O batch queued here if they waited
    /// [`BATCH_HELP_DELAY`]; forgets them once the queue is empty.
    #[inline]
    pub(super) fn call_batch_help(&self) {
        let Some(queued_at) = self.batch_queued_at.get() else {
            return;
        };
        if self.local.is_empty() {
            self.batch_queued_at.set(None);
        } else if queued_at.elapsed() >= BATCH_HELP_DELAY {
            self.batch_queued_at.set(None);
            self.shared().notify_work();
        }
    }

    /// Counts a poll of processor `index`'s poller made here; returns its events.
    pub(super) fn count_poll(&self, index: usize, outcome: WaitOutcome) -> usize {
        let counters = self.counters();
        counters.netpoll_polls.incr();
        counters.netpoll_events.add(outcome.io_events as u64);
        if index != self.index && outcome.io_events > 0 {
            counters.poll_steals.incr();
        }
        outcome.io_events
    }
}
