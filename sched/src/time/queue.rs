//! A processor's timer queue: a binary heap ordered by deadline, behind a lock.
//!
//! The owning processor fires due timers on each turn of its loop and parks no longer than
//! its earliest deadline. Other threads arm timers here (a task armed a `Sleep` while
//! running on this processor and then moved, or a thread without a processor picked this
//! one), cancel them (dropping a `Sleep` anywhere), and fire them when the owner is busy
//! (idle processors steal due timers, and the monitor fires timers of a stuck processor).
//!
//! `next` mirrors the earliest deadline in an atomic so the owner's check on every turn is
//! one relaxed load when nothing is due, and no clock read at all when the queue is empty.
//!
//! Cancelled entries are not searched for: they stay in the heap and are skipped when they
//! come out. To bound memory the heap is compacted when more than half of it is cancelled,
//! which keeps cancellation amortized O(1) and 100 000 idle timers cost memory, not CPU.

use super::clock;
use super::entry::TimerEntry;
use parking_lot::Mutex;
use std::cmp::{Ordering as CmpOrdering, Reverse};
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU64, Ordering::*};
use std::sync::Arc;
use std::task::Waker;

/// `next` when the queue is empty.
pub(crate) const NO_DEADLINE: u64 = u64::MAX;

/// Compaction is not worth it below this many cancelled entries.
const COMPACT_MIN: usize = 64;

pub(crate) struct TimerQueue {
    heap: Mutex<Heap>,
    next: AtomicU64,
}

#[derive(Default)]
struct Heap {
    entries: BinaryHeap<Reverse<Slot>>,
    cancelled: usize,
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
}

impl TimerQueue {
    pub(crate) fn new() -> TimerQueue {
        TimerQueue {
            heap: Mutex::new(Heap::default()),
            next: AtomicU64::new(NO_DEADLINE),
        }
    }

    /// Arms `entry` for `deadline` (clock nanoseconds). Returns whether it is now the
    /// earliest timer, in which case a parked owner must be woken to shorten its park.
    pub(crate) fn arm(&self, deadline: u64, entry: Arc<TimerEntry>) -> bool {
        let mut heap = self.heap.lock();
        heap.seq += 1;
        let seq = heap.seq;
        heap.entries.push(Reverse(Slot {
            deadline,
            seq,
            entry,
        }));
        let earliest = deadline < self.next.load(Relaxed);
        if earliest {
            self.next.store(deadline, Release);
        }
        earliest
    }

    /// A timer of this queue was cancelled; compacts the heap when it is mostly garbage.
    pub(crate) fn note_cancelled(&self) {
        let mut heap = self.heap.lock();
        heap.cancelled += 1;
        if heap.cancelled >= COMPACT_MIN && heap.cancelled * 2 > heap.entries.len() {
            heap.entries.retain(|s| !s.0.entry.is_cancelled());
            heap.cancelled = 0;
            let earliest = heap.earliest();
            self.next.store(earliest, Release);
        }
    }

    /// The earliest deadline, or [`NO_DEADLINE`].
    #[inline]
    pub(crate) fn next_deadline(&self) -> u64 {
        self.next.load(Acquire)
    }

    /// Fires every timer due at `now`; returns how many were woken.
    pub(crate) fn fire_due(&self, now: u64) -> usize {
        let mut heap = self.heap.lock();
        let wakers = Self::pop_due(&mut heap, now);
        self.next.store(heap.earliest(), Release);
        drop(heap);
        Self::wake_all(wakers)
    }

    /// Like [`TimerQueue::fire_due`], but gives up if another thread holds the queue.
    pub(crate) fn try_fire_due(&self, now: u64) -> usize {
        let Some(mut heap) = self.heap.try_lock() else {
            return 0;
        };
        let wakers = Self::pop_due(&mut heap, now);
        self.next.store(heap.earliest(), Release);
        drop(heap);
        Self::wake_all(wakers)
    }

    fn pop_due(heap: &mut Heap, now: u64) -> Vec<Waker> {
        let mut wakers = Vec::new();
        while heap.entries.peek().is_some_and(|s| s.0.deadline <= now) {
            let Reverse(slot) = heap.entries.pop().expect("peeked");
            match slot.entry.fire() {
                Some(waker) => wakers.push(waker),
                None if slot.entry.is_cancelled() => {
                    heap.cancelled = heap.cancelled.saturating_sub(1);
                }
                None => {}
            }
        }
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
        let entries = std::mem::take(&mut self.heap.lock().entries);
        self.next.store(NO_DEADLINE, Release);
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
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    fn entry(count: &Arc<Count>) -> Arc<TimerEntry> {
        Arc::new(TimerEntry::new(Waker::from(count.clone())))
    }

    #[test]
    fn fires_in_deadline_order_and_only_when_due() {
        let q = TimerQueue::new();
        let count = Arc::new(Count(AtomicUsize::new(0)));
        assert!(q.arm(300, entry(&count)));
        assert!(q.arm(100, entry(&count)));
        assert!(!q.arm(200, entry(&count)));
        assert_eq!(q.next_deadline(), 100);
        assert_eq!(q.fire_due(99), 0);
        assert_eq!(q.fire_due(200), 2);
        assert_eq!(q.next_deadline(), 300);
        assert_eq!(count.0.load(SeqCst), 2);
        assert_eq!(q.fire_due(1000), 1);
        assert_eq!(q.next_deadline(), NO_DEADLINE);
    }

    #[test]
    fn cancelled_timers_never_fire_and_are_compacted() {
        let q = TimerQueue::new();
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let entries: Vec<_> = (0..1000).map(|i| (i, entry(&count))).collect();
        for (i, e) in &entries {
            q.arm(1000 + i, e.clone());
        }
        for (_, e) in entries.iter().take(900) {
            assert!(e.cancel());
            q.note_cancelled();
        }
        assert!(q.heap.lock().entries.len() < 1000, "compacted");
        assert_eq!(q.fire_due(u64::MAX - 1), 100);
        assert_eq!(count.0.load(SeqCst), 100);
    }
}
