//! A task's record: what the stats and the leak detector know about one task.
//!
//! It lives in the task header next to the state word, so updating it touches a cache line
//! the scheduler has just written anyway. Who writes what:
//!
//! * `polls`, `idle_since`, the suspension point: the machine polling the task, which holds
//!   RUNNING, so a relaxed load and store suffice (no read-modify-write instruction);
//! * `wakes`: every waker, from any thread (a relaxed `fetch_add`);
//! * `last_processor`: the processor that is about to poll the task, which holds its
//!   `Notified` (the only one), before the poll starts; a relaxed load, and a store only
//!   when the task moved (see [`TaskRecord::ran_on`]);
//! * `woken_at`: a sampled wake (one in [`WAKE_SAMPLE`] of the task's wakes, at a phase set
//!   by its id) stores the precise time; the next poll takes it to measure the scheduling
//!   latency;
//! * `orphan`: set once, when the task is found orphaned (and again if it is reclaimed).
//!
//! Readers (reports, the stats cycle) load each field relaxed. A record read while the task
//! runs may mix two polls' values; that is as precise as a statistic needs to be.
//!
//! Times are in timer-clock nanoseconds (`time::clock`). `created` and `idle_since` come
//! from the coarse clock, so a poll costs no clock reading; one task in
//! [`LIFETIME_SAMPLE`] (by id) is *sampled*: its creation time is precise and its lifetime
//! goes into the lifetime histograms.
//!
//! Whatever follows from the task's id (whether it is sampled, the phase of its wake
//! sampling) is computed from the id, which the header holds anyway, rather than stored:
//! the record is 56 bytes, and every byte of it is in every task (`last_processor` took 2
//! of the bytes the small fields left as padding).

use super::suspend::Suspension;
use super::Id;
use crate::time::clock;
use goro_stats::WaitOp;
use std::panic::Location;
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicU16, AtomicU64, AtomicU8, Ordering::Relaxed};

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
    created: u64,
    /// The runtime's `stats` switch, copied here so a wake need not reach the runtime.
    timing: bool,
    polls: AtomicU64,
    wakes: AtomicU64,
    /// The index of the processor that polled the task last, or [`NO_PROCESSOR`].
    last_processor: AtomicU16,
    idle_since: AtomicU64,
    woken_at: AtomicU64,
    suspended_at: AtomicPtr<Location<'static>>,
    wait_op: AtomicU8,
    orphan: AtomicU8,
}

impl TaskRecord {
    /// A record for a task spawned now. `timing` is the runtime's `stats` switch.
    pub(crate) fn new(id: Id, timing: bool) -> TaskRecord {
        let created = if is_sampled(id, timing) {
            clock::now()
        } else {
            clock::coarse_now()
        };
        TaskRecord {
            created,
            timing,
            polls: AtomicU64::new(0),
            wakes: AtomicU64::new(0),
            last_processor: AtomicU16::new(NO_PROCESSOR),
            idle_since: AtomicU64::new(created),
            woken_at: AtomicU64::new(0),
            suspended_at: AtomicPtr::new(ptr::null_mut()),
            wait_op: AtomicU8::new(0),
            orphan: AtomicU8::new(NOT_ORPHANED),
        }
    }

    /// A poll starts (caller holds RUNNING). Returns the time of a sampled wake that caused
    /// it, if any.
    #[inline]
    pub(crate) fn begin_poll(&self) -> Option<u64> {
        self.polls.store(self.polls.load(Relaxed) + 1, Relaxed);
        let woken_at = self.woken_at.load(Relaxed);
        if woken_at == 0 {
            return None;
        }
        self.woken_at.store(0, Relaxed);
        Some(woken_at)
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

    /// The poll returned `Pending` (caller holds RUNNING).
    #[inline]
    pub(crate) fn suspend(&self, suspension: Option<Suspension>) {
        self.idle_since.store(clock::coarse_now(), Relaxed);
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
        let n = self.wakes.fetch_add(1, Relaxed);
        if self.timing
            && (n + wake_phase(id)) & (WAKE_SAMPLE - 1) == 0
            && self.woken_at.load(Relaxed) == 0
        {
            self.woken_at.store(clock::now(), Relaxed);
        }
    }

    /// The precise lifetime of task `id` (this record's) completing now, if it is sampled.
    pub(crate) fn sampled_lifetime(&self, id: Id) -> Option<u64> {
        is_sampled(id, self.timing).then(|| clock::now().saturating_sub(self.created))
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
        self.created
    }

    pub(crate) fn idle_since(&self) -> u64 {
        self.idle_since.load(Relaxed)
    }

    pub(crate) fn polls(&self) -> u64 {
        self.polls.load(Relaxed)
    }

    pub(crate) fn wakes(&self) -> u64 {
        self.wakes.load(Relaxed)
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
