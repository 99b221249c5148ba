//! A processor's timer queue: a binary heap ordered by deadline, behind a lock.
//!
//! The owning processor fires due timers on each turn of its loop and parks no longer than
//! its earliest deadline. Other threads arm timers here (a task armed a `Sleep` while
//! running on this processor and then moved, or a thread without a processor picked this
//! one), cancel them (dropping a `Sleep` anywhere), and fire them when the owner is busy
//! (idle processors steal due timers, and the monitor fires timers of a stuck processor).
//!
//! `next` mirrors the earliest deadline in an atomic so the owner's check on every turn is
//! a relaxed load, compared with the coarse clock: no clock read at all when the queue is
//! empty or its earliest timer is far off (`clock::now_if_due`).
//!
//! Cancelled entries are not searched for: they stay in the heap and are skipped when they
//! come out. To bound memory the heap is compacted when more than half of it is cancelled,
//! which keeps cancellation amortized O(1) and 100 000 idle timers cost memory, not CPU.
//! A cancel takes no lock: it counts itself in `cancelled`, and only the cancel that tips
//! the count over half the heap locks it to compact.
//!
//! Entries the heap lets go of (compacted away, or popped) whose `Sleep` is gone are kept
//! in `spare`, up to [`SPARE_MAX`], and the next `arm` takes one instead of allocating. The
//! common timer of a server is armed and cancelled once per request (hyper's header-read
//! timeout, a `timeout` around a call): without the spares that is one allocation and one
//! free per request, measured as the largest part of a sleep's cost (callgrind, hyper
//! hello: about 290 of the 900 instructions a request spent on its timer).

use super::clock;
use super::entry::TimerEntry;
use parking_lot::Mutex;
use std::cmp::{Ordering as CmpOrdering, Reverse};
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicIsize, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::Arc;
use std::task::Waker;

/// `next` when the queue is empty.
pub(crate) const NO_DEADLINE: u64 = u64::MAX;

/// Compaction is not worth it below this many cancelled entries.
const COMPACT_MIN: isize = 64;

/// Spent entries a queue keeps for reuse, at most (about 50 bytes each).
pub(crate) const SPARE_MAX: usize = 256;

pub(crate) struct TimerQueue {
    heap: Mutex<Heap>,
    /// The earliest deadline. Written under the `heap` lock; read without it by the owner on
    /// every turn and by parking and stealing threads.
    next: AtomicU64,
    /// Cancelled entries still in the heap. Incremented by every thread whose cancel won
    /// (`note_cancelled`), decremented under the `heap` lock for each cancelled entry that
    /// leaves it. The two race, so it can be briefly off by the cancels in flight (even
    /// negative); it only decides when to compact.
    cancelled: AtomicIsize,
    /// The heap's length, written under the `heap` lock, read by `note_cancelled` without it.
    len: AtomicUsize,
}

#[derive(Default)]
struct Heap {
    entries: BinaryHeap<Reverse<Slot>>,
    /// Spent entries no `Sleep` refers to any more, ready for the next `arm`.
    spare: Vec<Arc<TimerEntry>>,
    seq: u64,
}

struct Slot {
    deadline: u64,
    seq: u64,
    entry: Arc<TimerEntry>,
}

impl PartialEq for Slot {
    fn eq(&self, other: &Slot) -> bool {
        (self.deadline, self.seq) == (other.deadline, other.seq)
    }
}
impl Eq for Slot {}
impl PartialOrd for Slot {
    fn partial_cmp(&self, other: &Slot) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl Ord for Slot {
    fn cmp(&self, other: &Slot) -> CmpOrdering {
        (self.deadline, self.seq).cmp(&(other.deadline, other.seq))
    }
}

impl Heap {
    fn earliest(&self) -> u64 {
        self.entries.peek().map_or(NO_DEADLINE, |s| s.0.deadline)
    }

    /// An entry armed for `waker`: a spare one if there is one, else a new one.
    fn take_spare(&mut self, waker: Waker) -> Arc<TimerEntry> {
        if let Some(mut entry) = self.spare.pop() {
            if let Some(unique) = Arc::get_mut(&mut entry) {
                unique.rearm(waker);
                return entry;
            }
        }
        Arc::new(TimerEntry::new(waker))
    }

    /// Keeps an entry that left the heap for reuse, if nothing else refers to it (its
    /// `Sleep` was dropped) and there is room; else lets it go.
    fn keep_spare(&mut self, mut entry: Arc<TimerEntry>) {
        if self.spare.len() < SPARE_MAX && Arc::get_mut(&mut entry).is_some() {
            self.spare.push(entry);
        }
    }
}

impl TimerQueue {
    pub(crate) fn new() -> TimerQueue {
        TimerQueue {
            heap: Mutex::new(Heap::default()),
            next: AtomicU64::new(NO_DEADLINE),
            cancelled: AtomicIsize::new(0),
            len: AtomicUsize::new(0),
        }
    }

    /// Arms a timer for `deadline` (clock nanoseconds) that wakes `waker`, and returns its
    /// entry and whether it is now the earliest timer, in which case a parked owner must be
    /// woken to shorten its park.
    pub(crate) fn arm(&self, deadline: u64, waker: Waker) -> (Arc<TimerEntry>, bool) {
        let mut heap = self.heap.lock();
        let entry = heap.take_spare(waker);
        heap.seq += 1;
        let seq = heap.seq;
        heap.entries.push(Reverse(Slot {
            deadline,
            seq,
            entry: entry.clone(),
        }));
        self.len.store(heap.entries.len(), Relaxed);
        let earliest = deadline < self.next.load(Relaxed);
        if earliest {
            self.next.store(deadline, Release);
        }
        (entry, earliest)
    }

    /// A timer of this queue was cancelled; compacts the heap when it is mostly garbage.
    pub(crate) fn note_cancelled(&self) {
        let cancelled = self.cancelled.fetch_add(1, Relaxed) + 1;
        if cancelled >= COMPACT_MIN && cancelled as usize * 2 > self.len.load(Relaxed) {
            self.compact(&mut self.heap.lock());
        }
    }

    /// Drops the cancelled entries from the heap (into `spare`, as far as it takes them).
    fn compact(&self, heap: &mut Heap) {
        // Another cancel may have compacted since the caller looked.
        if (self.cancelled.load(Relaxed) as usize) * 2 <= heap.entries.len() {
            return;
        }
        let mut slots = std::mem::take(&mut heap.entries).into_vec();
        let mut removed = 0;
        let mut i = 0;
        while i < slots.len() {
            if slots[i].0.entry.is_cancelled() {
                let Reverse(slot) = slots.swap_remove(i);
                heap.keep_spare(slot.entry);
                removed += 1;
            } else {
                i += 1;
            }
        }
        heap.entries = BinaryHeap::from(slots);
        self.cancelled.fetch_sub(removed, Relaxed);
        self.len.store(heap.entries.len(), Relaxed);
        self.next.store(heap.earliest(), Release);
    }

    /// The earliest deadline, or [`NO_DEADLINE`].
    #[inline]
    pub(crate) fn next_deadline(&self) -> u64 {
        self.next.load(Acquire)
    }

    /// Fires every timer due at `now`; returns how many were woken.
    pub(crate) fn fire_due(&self, now: u64) -> usize {
        let wakers = self.pop_due(&mut self.heap.lock(), now);
        Self::wake_all(wakers)
    }

    /// Like [`TimerQueue::fire_due`], but gives up if another thread holds the queue.
    pub(crate) fn try_fire_due(&self, now: u64) -> usize {
        let Some(mut heap) = self.heap.try_lock() else {
            return 0;
        };
        let wakers = self.pop_due(&mut heap, now);
        drop(heap);
        Self::wake_all(wakers)
    }

    /// Pops the entries due at `now`, firing the armed ones; returns their wakers, to be
    /// woken once the lock is released.
    fn pop_due(&self, heap: &mut Heap, now: u64) -> Vec<Waker> {
        let mut wakers = Vec::new();
        while heap.entries.peek().is_some_and(|s| s.0.deadline <= now) {
            let Reverse(slot) = heap.entries.pop().expect("peeked");
            match slot.entry.fire() {
                Some(waker) => wakers.push(waker),
                None if slot.entry.is_cancelled() => {
                    self.cancelled.fetch_sub(1, Relaxed);
                }
                None => {}
            }
            heap.keep_spare(slot.entry);
        }
        self.len.store(heap.entries.len(), Relaxed);
        self.next.store(heap.earliest(), Release);
        wakers
    }

    /// Wakes outside the lock: a wake may schedule, and a woken task may arm a new timer here.
    fn wake_all(wakers: Vec<Waker>) -> usize {
        let n = wakers.len();
        for waker in wakers {
            waker.wake();
        }
        n
    }

    /// Drops every entry and its waker (shutdown).
    pub(crate) fn clear(&self) {
        let mut heap = self.heap.lock();
        let entries = std::mem::take(&mut heap.entries);
        heap.spare.clear();
        drop(heap);
        self.next.store(NO_DEADLINE, Release);
        self.len.store(0, Relaxed);
        self.cancelled.store(0, Relaxed);
        for slot in entries {
            slot.0.entry.cancel();
        }
    }

    /// How long until the earliest deadline, from `now`; `None` if there is no timer.
    pub(crate) fn park_timeout(&self, now: u64) -> Option<std::time::Duration> {
        let next = self.next_deadline();
        (next != NO_DEADLINE).then(|| clock::duration_between(now, next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wake_counter::WakeCounter;

    #[test]
    fn fires_in_deadline_order_and_only_when_due() {
        let q = TimerQueue::new();
        let count = WakeCounter::new();
        assert!(q.arm(300, count.waker()).1);
        assert!(q.arm(100, count.waker()).1);
        assert!(!q.arm(200, count.waker()).1);
        assert_eq!(q.next_deadline(), 100);
        assert_eq!(q.fire_due(99), 0);
        assert_eq!(q.fire_due(200), 2);
        assert_eq!(q.next_deadline(), 300);
        assert_eq!(count.wakes(), 2);
        assert_eq!(q.fire_due(1000), 1);
        assert_eq!(q.next_deadline(), NO_DEADLINE);
    }

    #[test]
    fn cancelled_timers_never_fire_and_are_compacted() {
        let q = TimerQueue::new();
        let count = WakeCounter::new();
        let entries: Vec<_> = (0..1000)
            .map(|i| q.arm(1000 + i, count.waker()).0)
            .collect();
        for e in entries.iter().take(900) {
            assert!(e.cancel());
            q.note_cancelled();
        }
        assert!(q.heap.lock().entries.len() < 1000, "compacted");
        assert_eq!(q.fire_due(u64::MAX - 1), 100);
        assert_eq!(count.wakes(), 100);
    }

    #[test]
    fn entries_of_dropped_sleeps_are_reused_and_rearmed() {
        let q = TimerQueue::new();
        let count = WakeCounter::new();
        // Arm and cancel, as a request's timeout does, dropping each entry as `Sleep` does.
        for i in 0..200 {
            let (entry, _) = q.arm(1_000_000 + i, count.waker());
            assert!(entry.cancel());
            drop(entry);
            q.note_cancelled();
        }
        let heap = q.heap.lock();
        assert!(!heap.spare.is_empty(), "compaction kept the spent entries");
        assert!(heap.spare.len() <= SPARE_MAX);
        let spare = Arc::as_ptr(heap.spare.last().unwrap());
        drop(heap);
        // The next arm takes that entry, armed again: it fires, and only once.
        let (entry, _) = q.arm(10, count.waker());
        assert_eq!(Arc::as_ptr(&entry), spare, "a spare entry was reused");
        assert!(!entry.is_fired() && !entry.is_cancelled());
        assert_eq!(q.fire_due(10), 1);
        assert!(entry.is_fired());
        assert_eq!(count.wakes(), 1);
        assert_eq!(q.fire_due(u64::MAX - 1), 0, "cancelled ones never fire");
        assert_eq!(count.wakes(), 1);
    }

    #[test]
    fn an_entry_whose_sleep_is_alive_is_not_reused() {
        let q = TimerQueue::new();
        let count = WakeCounter::new();
        let (kept, _) = q.arm(5, count.waker());
        assert_eq!(q.fire_due(5), 1);
        let (next, _) = q.arm(6, count.waker());
        assert!(!Arc::ptr_eq(&kept, &next), "the fired entry is still held");
        assert!(kept.is_fired() && !next.is_fired());
    }
}
