//! A task's record: what the stats and the leak detector know about one task.
//!
//! It lives in the task header next to the state word, so updating it touches a cache line
//! the scheduler has just written anyway. Who writes what:
//!
//! * `polls`, `idle_since`, the suspension point: the machine polling the task, which holds
//!   RUNNING, so a relaxed load and store suffice (no read-modify-write instruction);
//! * `wakes`: every waker, from any thread (a relaxed, saturating add);
//! * a *sampled wake* (one in [`WAKE_SAMPLE`] of the task's wakes, at a phase set by its id)
//!   stores the precise time of the wake in `idle_since`, marked by the lowest bit (see
//!   below); the next poll takes it to measure the scheduling latency;
//! * `spawn_site`: the registry, under its shard lock, when the task is inserted (an index
//!   into the shard's table of spawn sites, see `stats/sites.rs`);
//! * `orphan`: set once, when the task is found orphaned (and again if it is reclaimed);
//! * `last_processor`: the processor that is about to poll the task, which holds its
//!   `Notified` (the only one), before the poll starts; a relaxed load, and a store only
//!   when the task moved (see [`TaskRecord::ran_on`]).
//!
//! Readers (reports, the stats cycle) load each field relaxed. A record read while the task
//! runs may mix two polls' values; that is as precise as a statistic needs to be.
//!
//! Times are in timer-clock nanoseconds (`time::clock`). `created` and `idle_since` come
//! from the coarse clock, so a poll costs no clock reading; one task in
//! [`LIFETIME_SAMPLE`] (by id) is *sampled*: its creation time is precise and its lifetime
//! goes into the lifetime histograms.
//!
//! # Size
//!
//! Every byte of the record is in every task, so it is packed into 40 bytes (with which a
//! task of a 24-byte future is 128 bytes, as in tokio; see `harness.rs`):
//!
//! * whatever follows from the task's id (whether it is sampled, the phase of its wake
//!   sampling) is computed from the id, which the header holds anyway, rather than stored;
//! * the spawn site is a 4-byte index into its registry shard's site table (which counts
//!   tasks per site anyway), not an 8-byte pointer; the name, which few tasks have, is kept
//!   by the registry shard too;
//! * the time of a sampled wake shares `idle_since`'s word: a task is not idle from its wake
//!   to its next poll, where the time is taken back. Clock times are in nanoseconds, so the
//!   lowest bit can say which of the two the word holds: clear, the time the task went idle
//!   (rounded down to even); set, the time of a sampled wake not yet taken by a poll;
//! * the runtime's `stats` switch, which a wake reads, is the lowest bit of `created`
//!   (creation times are even, like idle times), so `last_processor` fits in the bytes the
//!   small fields leave;
//! * `polls` and `wakes` are 32-bit and saturate at `u32::MAX` (4 294 967 295; a task polled
//!   a hundred thousand times a second reaches it after 12 hours). A report shows a
//!   saturated count as that number, which reads as "at least".

use super::suspend::Suspension;
use super::Id;
use crate::time::clock;
use goro_stats::WaitOp;
use std::panic::Location;
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicU16, AtomicU32, AtomicU64, AtomicU8, Ordering::Relaxed};

/// One task in this many has its lifetime measured with the precise clock.
/// A power of two, so the check is a mask.
pub(crate) const LIFETIME_SAMPLE: u64 = 64;
/// One wake in this many of a task is timestamped to measure scheduling latency.
/// A power of two, so the check is a mask.
const WAKE_SAMPLE: u64 = 256;

/// Orphan marks.
const NOT_ORPHANED: u8 = 0;
const ORPHANED: u8 = 1;
const RECLAIMED: u8 = 2;

/// The lowest bit of `idle_since`: set, the word holds the time of a sampled wake.
const WOKEN: u64 = 1;
/// The lowest bit of `created`: the runtime's `stats` switch.
const TIMING: u64 = 1;
/// `last_processor` of a task no processor has polled yet.
const NO_PROCESSOR: u16 = u16::MAX;
// Every processor index fits `last_processor` without meeting `NO_PROCESSOR`.
const _: () = assert!(crate::config::MAX_PROCESSORS < NO_PROCESSOR as usize);

/// Whether task `id` has its lifetime measured precisely (one in [`LIFETIME_SAMPLE`]).
fn is_sampled(id: Id, timing: bool) -> bool {
    timing && id.as_u64() & (LIFETIME_SAMPLE - 1) == 0
}

/// Offsets task `id`'s wake sampling, so that tasks with few wakes are sampled too
/// (counting from 0 alone would sample every task's first wake).
fn wake_phase(id: Id) -> u64 {
    id.as_u64().wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56
}

pub(crate) struct TaskRecord {
    /// When the task was created (even), with the runtime's `stats` switch in the lowest
    /// bit ([`TIMING`]), copied here so a wake need not reach the runtime.
    created: u64,
    /// When the task went idle (lowest bit clear) or the time of a sampled wake not yet
    /// taken by a poll (lowest bit set); see the module docs.
    idle_since: AtomicU64,
    suspended_at: AtomicPtr<Location<'static>>,
    polls: AtomicU32,
    wakes: AtomicU32,
    /// The spawn site's index in the registry shard's site table.
    spawn_site: AtomicU32,
    wait_op: AtomicU8,
    orphan: AtomicU8,
    /// The index of the processor that polled the task last, or [`NO_PROCESSOR`].
    last_processor: AtomicU16,
}

impl TaskRecord {
    /// A record for a task spawned now. `timing` is the runtime's `stats` switch.
    pub(crate) fn new(id: Id, timing: bool) -> TaskRecord {
        // Even, like every idle time, so that a task never seems idle for longer than it lived.
        let created = if is_sampled(id, timing) {
            clock::now()
        } else {
            clock::coarse_now()
        } & !WOKEN;
        TaskRecord {
            created: created | if timing { TIMING } else { 0 },
            idle_since: AtomicU64::new(created),
            suspended_at: AtomicPtr::new(ptr::null_mut()),
            polls: AtomicU32::new(0),
            wakes: AtomicU32::new(0),
            spawn_site: AtomicU32::new(0),
            wait_op: AtomicU8::new(0),
            orphan: AtomicU8::new(NOT_ORPHANED),
            last_processor: AtomicU16::new(NO_PROCESSOR),
        }
    }

    /// The runtime's `stats` switch.
    fn timing(&self) -> bool {
        self.created & TIMING != 0
    }

    /// Processor `index` is about to poll the task (the caller holds its `Notified`).
    /// Returns whether the task last ran on another processor: it was woken onto, stolen
    /// by, or taken from the injector by this one, and its data follows it across caches.
    /// A task's first poll does not count.
    #[inline]
    pub(crate) fn ran_on(&self, index: u16) -> bool {
        let last = self.last_processor.load(Relaxed);
        if last == index {
            return false;
        }
        self.last_processor.store(index, Relaxed);
        last != NO_PROCESSOR
    }

    /// A poll starts (caller holds RUNNING). Returns the time of a sampled wake that caused
    /// it, if any.
    #[inline]
    pub(crate) fn begin_poll(&self) -> Option<u64> {
        let polls = self.polls.load(Relaxed);
        self.polls.store(polls.saturating_add(1), Relaxed);
        let since = self.idle_since.load(Relaxed);
        if since & WOKEN == 0 {
            return None;
        }
        self.idle_since.store(since & !WOKEN, Relaxed);
        Some(since & !WOKEN)
    }

    /// The poll returned `Pending` (caller holds RUNNING).
    #[inline]
    pub(crate) fn suspend(&self, suspension: Option<Suspension>) {
        // A sampled wake during the poll stays for the next poll (the task is notified and
        // runs again soon, so it is not idle). A wake between the load and the store loses
        // its sample, which a statistic can afford better than a read-modify-write per poll.
        if self.idle_since.load(Relaxed) & WOKEN == 0 {
            self.idle_since.store(clock::coarse_now() & !WOKEN, Relaxed);
        }
        let (at, op) = match suspension {
            Some(s) => (ptr::from_ref(s.at).cast_mut(), s.op.code()),
            None => (ptr::null_mut(), 0),
        };
        self.suspended_at.store(at, Relaxed);
        self.wait_op.store(op, Relaxed);
    }

    /// A waker of task `id` (this record's) fired (any thread).
    #[inline]
    pub(crate) fn wake(&self, id: Id) {
        let Ok(n) = self
            .wakes
            .fetch_update(Relaxed, Relaxed, |n| n.checked_add(1))
        else {
            return;
        };
        if self.timing()
            && (u64::from(n) + wake_phase(id)) & (WAKE_SAMPLE - 1) == 0
            && self.idle_since.load(Relaxed) & WOKEN == 0
        {
            self.idle_since.store(clock::now() | WOKEN, Relaxed);
        }
    }

    /// The precise lifetime of task `id` (this record's) completing now, if it is sampled.
    pub(crate) fn sampled_lifetime(&self, id: Id) -> Option<u64> {
        is_sampled(id, self.timing()).then(|| clock::now().saturating_sub(self.created()))
    }

    /// Called by the registry, under the shard lock, as it inserts the task.
    pub(crate) fn set_spawn_site(&self, index: u32) {
        self.spawn_site.store(index, Relaxed);
    }

    /// The index set by [`set_spawn_site`](Self::set_spawn_site).
    pub(crate) fn spawn_site(&self) -> u32 {
        self.spawn_site.load(Relaxed)
    }

    pub(crate) fn mark_orphaned(&self) {
        self.orphan.store(ORPHANED, Relaxed);
    }

    pub(crate) fn mark_reclaimed(&self) {
        self.orphan.store(RECLAIMED, Relaxed);
    }

    pub(crate) fn is_reclaimed(&self) -> bool {
        self.orphan.load(Relaxed) == RECLAIMED
    }

    pub(crate) fn is_orphaned(&self) -> bool {
        self.orphan.load(Relaxed) != NOT_ORPHANED
    }

    pub(crate) fn created(&self) -> u64 {
        self.created & !TIMING
    }

    /// When the task went idle (or, between a sampled wake and the next poll, the time of
    /// the wake: it is not idle then).
    pub(crate) fn idle_since(&self) -> u64 {
        self.idle_since.load(Relaxed) & !WOKEN
    }

    pub(crate) fn polls(&self) -> u64 {
        self.polls.load(Relaxed).into()
    }

    pub(crate) fn wakes(&self) -> u64 {
        self.wakes.load(Relaxed).into()
    }

    /// The last suspension point, if the task last waited on a goro future.
    pub(crate) fn suspension(&self) -> Option<Suspension> {
        let op = WaitOp::from_code(self.wait_op.load(Relaxed))?;
        let at = self.suspended_at.load(Relaxed);
        // SAFETY: a non-null pointer here was stored from a `&'static Location`.
        let at = unsafe { at.as_ref() }?;
        Some(Suspension { op, at })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> TaskRecord {
        TaskRecord::new(Id::next(), true)
    }

    #[test]
    fn counts_saturate_rather_than_wrap() {
        let r = record();
        r.polls.store(u32::MAX - 1, Relaxed);
        r.wakes.store(u32::MAX - 1, Relaxed);
        for _ in 0..3 {
            r.begin_poll();
            r.wake(Id::next());
        }
        assert_eq!((r.polls(), r.wakes()), (u32::MAX.into(), u32::MAX.into()));
    }

    #[test]
    fn a_sampled_wake_is_taken_by_the_next_poll_only() {
        let r = record();
        let id = Id::next();
        // Enough wakes to hit the sample whatever the id's phase.
        for _ in 0..WAKE_SAMPLE {
            r.wake(id);
        }
        let woken_at = r.begin_poll().expect("one of 256 wakes is sampled");
        assert!(woken_at <= clock::now());
        assert_eq!(r.begin_poll(), None);
        assert_eq!(r.idle_since(), woken_at);
        r.suspend(None);
        assert_eq!(r.idle_since() & WOKEN, 0);
    }

    #[test]
    fn a_wake_sampled_during_a_poll_survives_the_suspension() {
        let r = record();
        let id = Id::next();
        r.begin_poll();
        for _ in 0..WAKE_SAMPLE {
            r.wake(id);
        }
        r.suspend(None);
        assert!(r.begin_poll().is_some());
    }
}
