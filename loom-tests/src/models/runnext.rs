//! The `runnext` slot (`sched/src/runnext.rs`): the owner `replace`s, the owner and thieves
//! `take`. Every item put in the slot must come out exactly once — taken by the owner or a
//! thief, handed back to the owner as displaced by a later `replace`, or left in the slot for
//! the final drain — and whoever gets it must see what the owner wrote into it.

use super::check;
use crate::runnext::{Runnext, SlotItem};
use loom::cell::UnsafeCell;
use loom::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use loom::sync::Arc;
use loom::thread;
use std::ptr::NonNull;

/// A stand-in task: one heap allocation, like a `Notified`'s task.
struct Item(Box<Payload>);

struct Payload {
    id: usize,
    /// Written by the owner before `replace`, read by whoever takes the item: loom flags the
    /// read as a data race unless the slot hands the item over with happens-before.
    data: UnsafeCell<usize>,
}

impl Item {
    fn new(id: usize) -> Item {
        let item = Item(Box::new(Payload {
            id,
            data: UnsafeCell::new(0),
        }));
        // SAFETY: the item was just created here; no other thread can see it yet.
        item.0.data.with_mut(|d| unsafe { *d = payload(id) });
        item
    }
}

fn payload(id: usize) -> usize {
    1000 + id
}

impl SlotItem for Item {
    fn into_ptr(self) -> NonNull<()> {
        NonNull::from(Box::leak(self.0)).cast()
    }

    unsafe fn from_ptr(ptr: NonNull<()>) -> Item {
        // SAFETY: per the trait contract the pointer came from `into_ptr`.
        Item(unsafe { Box::from_raw(ptr.cast::<Payload>().as_ptr()) })
    }
}

/// How many times each item came out of the slot.
struct Seen(Vec<AtomicUsize>);

impl Seen {
    fn new(n: usize) -> Seen {
        Seen((0..n).map(|_| AtomicUsize::new(0)).collect())
    }

    fn receive(&self, item: Option<Item>) {
        let Some(item) = item else { return };
        let id = item.0.id;
        if self.0[id].fetch_add(1, Relaxed) != 0 {
            // Another holder owns (and frees) this allocation: do not free it twice.
            std::mem::forget(item);
            panic!("item {id} came out of the slot twice");
        }
        // SAFETY: the check above proved this thread the item's only holder.
        let data = item.0.data.with(|d| unsafe { *d });
        assert_eq!(
            data,
            payload(id),
            "item {id} taken without seeing its contents"
        );
    }

    fn assert_each_once(&self) {
        for (id, n) in self.0.iter().enumerate() {
            assert_eq!(
                n.load(Relaxed),
                1,
                "item {id} came out {} times",
                n.load(Relaxed)
            );
        }
    }
}

/// The owner puts A then B in the slot (B displaces A unless a thief took A first), then
/// takes; two thieves take concurrently.
#[test]
fn replace_and_take_against_two_thieves() {
    check(3, || {
        let slot = Arc::new(Runnext::<Item>::new());
        let seen = Arc::new(Seen::new(2));

        let thieves: Vec<_> = (0..2)
            .map(|_| {
                let (slot, seen) = (slot.clone(), seen.clone());
                thread::spawn(move || seen.receive(slot.take()))
            })
            .collect();

        assert!(
            slot.replace(Item::new(0)).is_none(),
            "the slot started empty"
        );
        // A displaced item goes to the tail of the owner's local queue.
        seen.receive(slot.replace(Item::new(1)));
        seen.receive(slot.take());

        for t in thieves {
            t.join().unwrap();
        }
        seen.receive(slot.take());
        assert!(slot.take().is_none());
        seen.assert_each_once();
    });
}

/// The owner alternates `replace` and `take` (a task woken by the running task, run next,
/// then another one) while a thief takes twice.
#[test]
fn owner_take_and_replace_against_a_thief() {
    check(3, || {
        let slot = Arc::new(Runnext::<Item>::new());
        let seen = Arc::new(Seen::new(3));

        let thief = {
            let (slot, seen) = (slot.clone(), seen.clone());
            thread::spawn(move || {
                seen.receive(slot.take());
                seen.receive(slot.take());
            })
        };

        seen.receive(slot.replace(Item::new(0)));
        seen.receive(slot.take());
        seen.receive(slot.replace(Item::new(1)));
        seen.receive(slot.replace(Item::new(2)));

        thief.join().unwrap();
        // What is left goes with the slot (`Runnext`'s `Drop` takes it too).
        seen.receive(slot.take());
        seen.assert_each_once();
    });
}
