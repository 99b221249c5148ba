//! Bytes allocated per spawned task, goro vs tokio, for a 24-byte future, counted by a
//! global allocator on the spawning thread: the size of the task's own allocation (the
//! size allocated once per spawn), and all bytes per spawn (with the run queue's blocks
//! amortised: goro's injector is a crossbeam queue with a slot per task, tokio's is
//! intrusive). Prints both; fails if goro's task allocation is not the 128 bytes that
//! sched's `the_task_header_is_pinned` pins (it was 208, then 176), or is bigger than
//! tokio's.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Counts the bytes each thread allocates.
struct Counting;

/// Allocation sizes are counted in buckets of this many bytes, up to `BUCKETS` of them.
const BUCKET: usize = 16;
const BUCKETS: usize = 64;

thread_local! {
    static ALLOCATED: Cell<u64> = const { Cell::new(0) };
    static BY_SIZE: Cell<[u32; BUCKETS]> = const { Cell::new([0; BUCKETS]) };
}

// SAFETY: every call is forwarded to `System` unchanged; the counter is a thread-local
// `Cell` whose access neither allocates nor unwinds.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATED.try_with(|n| n.set(n.get() + layout.size() as u64));
        let _ = BY_SIZE.try_with(|sizes| {
            let mut counts = sizes.get();
            if let Some(n) = counts.get_mut(layout.size().div_ceil(BUCKET)) {
                *n += 1;
            }
            sizes.set(counts);
        });
        // SAFETY: forwarded from our caller.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded from our caller.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocated() -> u64 {
    ALLOCATED.with(Cell::get)
}

/// A 24-byte future, ready at once.
struct Small([u64; 3]);

impl Future for Small {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        std::hint::black_box(&self.0);
        Poll::Ready(())
    }
}

const TASKS: u64 = 20_000;

/// Over `TASKS` calls of `spawn` on this thread (handles kept, so their drops do not
/// interleave): the size of the allocation made once per call (rounded up to
/// [`BUCKET`]), and all bytes allocated per call.
fn bytes_per_spawn<H>(mut spawn: impl FnMut(Small) -> H) -> (usize, u64) {
    let mut handles = Vec::with_capacity(TASKS as usize);
    let (before, sizes_before) = (allocated(), BY_SIZE.with(Cell::get));
    for i in 0..TASKS {
        handles.push(spawn(Small([i, i, i])));
    }
    let bytes = allocated() - before;
    let sizes = BY_SIZE.with(Cell::get);
    drop(handles);
    let per_task = (0..BUCKETS)
        .find(|&b| u64::from(sizes[b] - sizes_before[b]) == TASKS)
        .map_or(0, |b| b * BUCKET);
    (per_task, bytes / TASKS)
}

#[test]
fn bytes_per_task_goro_vs_tokio() {
    assert_eq!(std::mem::size_of::<Small>(), 24);
    let goro = goro::Builder::new().processors(1).build().unwrap();
    let goro_bytes = bytes_per_spawn(|f| goro.spawn(f));
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let tokio_bytes = bytes_per_spawn(|f| tokio.spawn(f));
    eprintln!(
        "per task with a 24-byte future, spawned from outside the runtime: task allocation \
         goro {} B, tokio {} B; all bytes per spawn goro {} B, tokio {} B",
        goro_bytes.0, tokio_bytes.0, goro_bytes.1, tokio_bytes.1
    );
    assert_eq!(goro_bytes.0, 128, "goro's task allocation");
    assert!(
        goro_bytes.0 <= tokio_bytes.0,
        "goro's task allocation is bigger than tokio's"
    );
    // The task, plus one 16-byte injector slot per task.
    assert!(
        goro_bytes.1 <= 128 + 24,
        "goro allocates {} B per spawn",
        goro_bytes.1
    );
}
