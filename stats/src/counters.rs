//! Per-processor counters.

use crossbeam_utils::CachePadded;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// One monotonically increasing count.
///
/// Written by a single owner thread with [`Counter::incr`] (no atomic read-modify-write), or
/// from any thread with [`Counter::add_shared`].
///
/// ```
/// use goro_stats::Counter;
/// let c = Counter::default();
/// c.incr();
/// c.add_shared(2);
/// assert_eq!(c.get(), 3);
/// ```
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds one. Only the owner of the counter block may call this: two concurrent
    /// owners could lose an increment (never corrupt memory).
    #[inline]
    pub fn incr(&self) {
        self.add(1);
    }

    /// Adds `n`; same single-writer rule as [`Counter::incr`].
    #[inline]
    pub fn add(&self, n: u64) {
        self.0.store(self.0.load(Relaxed).wrapping_add(n), Relaxed);
    }

    /// Adds `n` from any thread.
    #[inline]
    pub fn add_shared(&self, n: u64) {
        self.0.fetch_add(n, Relaxed);
    }

    /// The current value.
    #[inline]
    pub fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
}

macro_rules! proc_counters {
    ($($(#[doc = $doc:literal])* $name:ident,)*) => {
        /// The counters of one processor. See the crate docs for the write discipline.
        #[derive(Debug, Default)]
        pub struct ProcCounters {
            inner: CachePadded<ProcCountersInner>,
        }

        #[derive(Debug, Default)]
        #[doc(hidden)]
        pub struct ProcCountersInner {
            $($(#[doc = $doc])* pub $name: Counter,)*
        }

        /// A plain copy of a [`ProcCounters`] block.
        #[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
        pub struct CounterSnapshot {
            $($(#[doc = $doc])* pub $name: u64,)*
        }

        /// Every counter's name and description, in declaration order (the order of
        /// [`CounterSnapshot::values`]).
        pub const COUNTER_FIELDS: &[(&str, &str)] = &[
            $((stringify!($name), concat!($($doc),*).trim_ascii()),)*
        ];

        impl ProcCounters {
            /// Copies every counter.
            pub fn snapshot(&self) -> CounterSnapshot {
                CounterSnapshot { $($name: self.inner.$name.get(),)* }
            }
        }

        impl CounterSnapshot {
            /// Field-wise sum, for totals over processors.
            pub fn merge(&mut self, other: &CounterSnapshot) {
                $(self.$name += other.$name;)*
            }

            /// Every counter as `(name, description, value)`, in declaration order.
            pub fn values(&self) -> impl Iterator<Item = (&'static str, &'static str, u64)> {
                let values = [$(self.$name,)*];
                COUNTER_FIELDS
                    .iter()
                    .zip(values)
                    .map(|(&(name, help), value)| (name, help, value))
            }
        }
    };
}

proc_counters! {
    /// Task polls started on this processor.
    polls,
    /// Tasks spawned from this processor.
    spawns,
    /// Tasks taken from the `runnext` slot.
    runnext_hits,
    /// Tasks taken from the local run queue.
    local_pulls,
    /// Tasks taken from the global injector.
    injector_pulls,
    /// Tasks stolen from other processors.
    steals,
    /// Successful steal operations (one operation moves up to half a queue).
    steal_ops,
    /// Polls of a task that last ran on another processor (it was woken onto, stolen by,
    /// or taken from the injector by this one); a task's first poll does not count.
    cross_wakes,
    /// Times this processor parked.
    parks,
    /// Times this processor was unparked by another thread.
    unparks,
    /// Wake-ups from park that found no work.
    spurious_unparks,
    /// Polls of this processor's poller.
    netpoll_polls,
    /// I/O events returned by this processor's poller.
    netpoll_events,
    /// Polls of another processor's poller.
    poll_steals,
    /// Times this processor was handed to another machine, for any reason.
    handoffs,
    /// Handoffs because the machine was asleep in the kernel inside a poll (a blocking
    /// system call, `std::thread::sleep`).
    handoffs_blocked,
    /// Handoffs because one poll ran on a CPU longer than `handoff_after`.
    handoffs_running,
    /// Handoffs asked for by the running task (`block_in_place`).
    handoffs_block_in_place,
    /// Times the monitor woke an idle processor for work (queued tasks, due timers, ready
    /// I/O) waiting behind a long poll of this processor.
    stuck_helps,
    /// Times the monitor offered the poller watch to a processor asleep in its sleeper
    /// because nobody waited there while this processor ran a long poll.
    watch_handoffs,
    /// Tasks that yielded because their cooperative budget ran out.
    budget_yields,
    /// Accept errors (EMFILE and friends) on listeners of this processor.
    accept_errors,
}

impl std::ops::Deref for ProcCounters {
    type Target = ProcCountersInner;
    fn deref(&self) -> &ProcCountersInner {
        &self.inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_and_merge() {
        let a = ProcCounters::default();
        a.polls.incr();
        a.polls.incr();
        a.steals.add_shared(5);
        let mut total = a.snapshot();
        assert_eq!(total.polls, 2);
        assert_eq!(total.steals, 5);
        total.merge(&a.snapshot());
        assert_eq!(total.polls, 4);
        assert_eq!(total.parks, 0);
    }

    #[test]
    fn values_name_every_field_in_order() {
        let c = ProcCounters::default();
        c.polls.add(7);
        c.accept_errors.add(2);
        let v: Vec<_> = c.snapshot().values().collect();
        assert_eq!(v.len(), COUNTER_FIELDS.len());
        assert_eq!(v[0], ("polls", "Task polls started on this processor.", 7));
        let last = v.last().unwrap();
        assert_eq!((last.0, last.2), ("accept_errors", 2));
        assert!(v
            .iter()
            .all(|(_, help, _)| !help.is_empty() && !help.starts_with(' ')));
    }
}
