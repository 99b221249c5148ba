//! `OwnerWord` (`runtime/src/sync/owner.rs`): an unlock racing the deadlock walk. The
//! owner H unlocks like `Track::release` (clear the word; give the lock back under the side
//! mutex if anyone watches, else without it); the walk watches the lock and then reads the
//! owner under the side mutex like `deadlock::prove`, and an `RwLock` or `Semaphore` waiter
//! watches for as long as it is registered, like `Track::register`. Check: a walk that sees
//! H as the owner never sees the lock given back (a grant to a waiter) while it holds the
//! side mutex, and the unlock always completes. Without the walk's `watch` the first model
//! fails ("the lock was given back while the walk held the side mutex").

use super::check;
use crate::owner::OwnerWord;
use crate::sync::Mutex;
use loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
use loom::sync::Arc;
use loom::thread;

const H: u64 = 7;

/// The owner's unlock; `given_back` stands for tokio's `add_permits` (which grants).
fn unlock(word: &OwnerWord, side: &Mutex<()>, given_back: &AtomicBool) {
    if word.clear() {
        let _side = side.lock();
        given_back.store(true, SeqCst);
    } else {
        given_back.store(true, SeqCst);
    }
}

/// The walk's proof step for one lock: watch it, then under the side mutex, if the owner
/// is still H, the lock must stay with H for as long as the mutex is held.
fn prove(word: &OwnerWord, side: &Mutex<()>, given_back: &AtomicBool) {
    let _side = side.lock();
    word.watch();
    if word.get() == H {
        assert!(
            !given_back.load(SeqCst),
            "owner seen after it gave the lock back"
        );
        thread::yield_now();
        assert!(
            !given_back.load(SeqCst),
            "the lock was given back while the walk held the side mutex"
        );
    }
    word.unwatch();
}

/// A lock owned by H, and H's unlock started on another thread.
fn owned_and_unlocking() -> (
    Arc<OwnerWord>,
    Arc<Mutex<()>>,
    Arc<AtomicBool>,
    thread::JoinHandle<()>,
) {
    let word = Arc::new(OwnerWord::new());
    word.set(H);
    let side = Arc::new(Mutex::new(()));
    let given_back = Arc::new(AtomicBool::new(false));
    let owner = {
        let (word, side, given_back) = (word.clone(), side.clone(), given_back.clone());
        thread::spawn(move || unlock(&word, &side, &given_back))
    };
    (word, side, given_back, owner)
}

#[test]
fn a_walk_that_sees_the_owner_holds_back_its_unlock() {
    check(3, || {
        let (word, side, given_back, owner) = owned_and_unlocking();
        prove(&word, &side, &given_back);
        owner.join().unwrap();
        assert!(given_back.load(SeqCst));
        assert_eq!(word.get(), 0);
    });
}

#[test]
fn two_walks_and_a_registered_waiter_leaving() {
    check(2, || {
        let (word, side, given_back, owner) = owned_and_unlocking();
        let other = {
            let (word, side, given_back) = (word.clone(), side.clone(), given_back.clone());
            thread::spawn(move || {
                {
                    let _side = side.lock();
                    word.watch();
                }
                prove(&word, &side, &given_back);
                let _side = side.lock();
                word.unwatch();
            })
        };
        prove(&word, &side, &given_back);
        owner.join().unwrap();
        other.join().unwrap();
        assert!(given_back.load(SeqCst));
    });
}
