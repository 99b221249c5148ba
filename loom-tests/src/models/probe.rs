//! A real `std::task::Waker` for the models of the waker slots (`readiness`, `timer`).
//!
//! Every waker made from one [`Probe`] (and every clone of it, such as the one a slot stores)
//! counts as *live* until it is dropped or woken by value, and every wake is counted, so a
//! model can check that a waker was woken when it had to be, never when it must not be, and
//! dropped exactly once (a second drop of the same waker fails at once; a waker never dropped
//! shows up in [`Probe::assert_all_dropped`]). All the wakers of one probe are the same task's
//! (`will_wake` holds between them), as a `Context`'s waker is on every poll of one task.
//!
//! The counters are plain `std` atomics: they are the model's bookkeeping, not part of the
//! protocol, and keeping them out of loom's view keeps the explored interleavings to those of
//! the protocol code. They are read only after the threads that wake are joined. A task that
//! must *sleep* until it is woken (a lost wake-up then shows up as a loom deadlock) uses a
//! probe made with [`Probe::sleeper`], whose wakes also ring a loom `Mutex` + `Condvar`.

use loom::sync::{Condvar, Mutex};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{RawWaker, RawWakerVTable, Waker};

pub(crate) struct Probe {
    name: &'static str,
    wakes: AtomicUsize,
    live: AtomicUsize,
    /// For [`Probe::sleep`]: wakes not yet consumed by a sleep, and the condition variable
    /// the sleeper waits on.
    bell: Option<(Mutex<usize>, Condvar)>,
}

impl Probe {
    /// A probe whose wakes are only counted.
    pub(crate) fn new(name: &'static str) -> Arc<Probe> {
        Arc::new(Probe {
            name,
            wakes: AtomicUsize::new(0),
            live: AtomicUsize::new(0),
            bell: None,
        })
    }

    /// A probe whose task can [`Probe::sleep`] until it is woken.
    pub(crate) fn sleeper(name: &'static str) -> Arc<Probe> {
        Arc::new(Probe {
            name,
            wakes: AtomicUsize::new(0),
            live: AtomicUsize::new(0),
            bell: Some((Mutex::new(0), Condvar::new())),
        })
    }

    /// A new waker of this probe's task.
    pub(crate) fn waker(self: &Arc<Probe>) -> Waker {
        self.live.fetch_add(1, SeqCst);
        let ptr = Arc::into_raw(self.clone()).cast::<()>();
        // SAFETY: the vtable functions below uphold `RawWaker`'s contract: `ptr` is a strong
        // reference to a `Probe`, cloned and released with it.
        unsafe { Waker::from_raw(RawWaker::new(ptr, &VTABLE)) }
    }

    pub(crate) fn wakes(&self) -> usize {
        self.wakes.load(SeqCst)
    }

    /// Blocks until this probe is woken, unless a wake is already pending; consumes the
    /// pending wakes. A wake that never comes is a loom deadlock.
    pub(crate) fn sleep(&self) {
        let (pending, cond) = self.bell.as_ref().expect("a sleeper probe");
        let mut pending = pending.lock().unwrap();
        while *pending == 0 {
            pending = cond.wait(pending).unwrap();
        }
        *pending = 0;
    }

    /// Every waker of this probe was dropped (or woken by value), none leaked.
    pub(crate) fn assert_all_dropped(&self) {
        assert_eq!(
            self.live.load(SeqCst),
            0,
            "a waker of `{}` was never dropped",
            self.name
        );
    }

    fn on_wake(&self) {
        self.wakes.fetch_add(1, SeqCst);
        if let Some((pending, cond)) = &self.bell {
            *pending.lock().unwrap() += 1;
            cond.notify_one();
        }
    }

    fn on_drop(&self) {
        let before = self.live.fetch_sub(1, SeqCst);
        assert!(before > 0, "a waker of `{}` was dropped twice", self.name);
    }
}

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

/// # Safety (all four)
/// `ptr` comes from [`Probe::waker`] or [`clone`] and still owns its strong reference.
unsafe fn clone(ptr: *const ()) -> RawWaker {
    let probe = ptr.cast::<Probe>();
    // SAFETY: see above; the new strong reference is owned by the new `RawWaker`.
    unsafe {
        (*probe).live.fetch_add(1, SeqCst);
        Arc::increment_strong_count(probe);
    }
    RawWaker::new(ptr, &VTABLE)
}

unsafe fn wake(ptr: *const ()) {
    // SAFETY: see above.
    unsafe {
        wake_by_ref(ptr);
        drop_waker(ptr);
    }
}

unsafe fn wake_by_ref(ptr: *const ()) {
    // SAFETY: see above.
    unsafe { (*ptr.cast::<Probe>()).on_wake() }
}

unsafe fn drop_waker(ptr: *const ()) {
    // SAFETY: see above; this gives the waker's strong reference back.
    let probe = unsafe { Arc::from_raw(ptr.cast::<Probe>()) };
    probe.on_drop();
}
