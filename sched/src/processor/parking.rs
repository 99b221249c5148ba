//! Parking a processor with nothing to do, where the module docs of `processor` say: in the
//! poller watch, in its own poller (a lone processor) or in its sleeper; and leaving the
//! parked state when woken.

use super::Processor;
use crate::park::ParkedIn;
use crate::sleeper::SleepEnd;
use crate::time::clock;
use goro_netpoll::WatchGuard;
use std::time::{Duration, Instant};

/// How a processor leaves the parked state, which sets what it does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Unparked {
    /// `notify_work` woke it: work waits somewhere, and it searches for it as a spinning
    /// processor.
    ToSearch,
    /// Its own timer or I/O, shutdown, or a spurious wake-up ended the park: it looks at its
    /// own queue first, not spinning.
    ToRunOwn,
}

impl Processor {
    /// Parks until woken (by new work, shutdown, an I/O event, or its earliest timer).
    pub(crate) fn park(&self) {
        // Published: a due timer found here fires on the next turn, which judges by the
        // coarse clock (`clock::now_if_due`).
        let timeout = self
            .proc_shared()
            .timers
            .park_timeout(clock::refresh_coarse());
        if timeout == Some(Duration::ZERO) {
            // A timer is due: fire it on the next turn instead of parking.
            return;
        }
        let was_spinning = self.spinning.replace(false);
        let shared = self.shared();
        if shared.idle.transition_to_parked(self.index, was_spinning) && shared.has_visible_work() {
            shared.notify_work();
        }
        let unparked = if shared.is_shutdown() {
            self.leave_parked()
        } else {
            self.proc_shared().counters.parks.incr();
            let claim = shared.watch.as_ref().and_then(|watch| watch.try_claim());
            self.block(timeout, claim)
        };
        self.spinning.set(unparked == Unparked::ToSearch);
    }

    /// Blocks where the module docs say: in the watch if the caller claimed it, else in the
    /// processor's own poller (a lone processor) or sleeper. The events of a poller wait are
    /// dispatched here, after the processor left the parked state. An unpark already
    /// pending ends the park without blocking.
    pub(super) fn block(
        &self,
        timeout: Option<Duration>,
        claim: Option<WatchGuard<'_>>,
    ) -> Unparked {
        let ps = self.proc_shared();
        let place = match (&claim, &self.shared().watch) {
            (Some(_), _) => ParkedIn::Watch,
            (None, None) => ParkedIn::Poller,
            (None, Some(_)) => ParkedIn::Sleeper,
        };
        if !ps.park.begin_park(place) {
            return self.leave_parked();
        }
        let start = self.shared().stats.timing.then(Instant::now);
        let mut unparked = None;
        let mut woke = || unparked = Some(self.awake(start));
        // An error of a poller or watch wait (epoll_wait only fails for invalid arguments)
        // must not spin the processor: it is taken as a wake-up.
        match claim {
            Some(guard) => self.wait_in_watch(guard, timeout, &mut woke),
            None if place == ParkedIn::Poller => {
                if let Ok(outcome) = ps.poller.wait_then(timeout, woke) {
                    self.count_poll(self.index, outcome);
                }
            }
            None => self.sleep_or_take_watch(timeout, &mut woke),
        }
        unparked.unwrap_or_else(|| self.leave_parked())
    }

    /// Blocks in the poller watch; when the wait ends, polls the pollers it reported.
    pub(super) fn wait_in_watch(
        &self,
        guard: WatchGuard<'_>,
        timeout: Option<Duration>,
        woke: &mut dyn FnMut(),
    ) {
        let mut ready = self.watch_ready.take();
        if guard.wait_then(timeout, woke, &mut ready).is_ok() {
            self.poll_ready(&ready);
        }
        self.watch_ready.set(ready);
    }

    /// Blocks in the sleeper until woken or the timeout; if offered the poller watch
    /// meanwhile, moves there for the rest of the timeout.
    pub(super) fn sleep_or_take_watch(&self, timeout: Option<Duration>, woke: &mut dyn FnMut()) {
        let ps = self.proc_shared();
        let deadline = timeout.map(|t| Instant::now() + t);
        let left = || deadline.map(|d| d.saturating_duration_since(Instant::now()));
        loop {
            if ps.sleeper.sleep(left()) == SleepEnd::Woken {
                return woke();
            }
            let Some(guard) = self.shared().watch.as_ref().and_then(|w| w.try_claim()) else {
                // Someone else took the watch: sleep on.
                continue;
            };
            if !ps.park.move_park(ParkedIn::Sleeper, ParkedIn::Watch) {
                // An unpark came first and signalled the sleeper.
                return woke();
            }
            return self.wait_in_watch(guard, left(), woke);
        }
    }

    /// The blocking call of a park returned: records it and leaves the parked state.
    pub(super) fn awake(&self, start: Option<Instant>) -> Unparked {
        let ps = self.proc_shared();
        if let Some(start) = start {
            ps.hist.netpoll_block.record_duration(start.elapsed());
        }
        if !ps.park.end_park() {
            ps.counters.spurious_unparks.incr();
        }
        self.leave_parked()
    }

    /// Leaves the idle protocol's parked state.
    ///
    /// When the park blocked in the poller this runs as the wait ends and *before* its events
    /// are dispatched. The events' wakers schedule their tasks here; had the processor still
    /// looked parked, each of them would have "unparked" it through its own poller (an
    /// eventfd write, and a wasted wait on the next park) and `notify_work` would have taken
    /// this processor, or another one, off the sleepers for work this one runs anyway.
    pub(super) fn leave_parked(&self) -> Unparked {
        // The park may have lasted long, and the monitor may have dozed through it: the
        // timers due now must not be judged by a reading from before it.
        clock::refresh_coarse();
        self.shared().monitor.processor_woke();
        if self.shared().idle.transition_from_parked(self.index) {
            Unparked::ToSearch
        } else {
            Unparked::ToRunOwn
        }
    }
}
