//! Live heap bytes, counted exactly: a global allocator that forwards to the system's and
//! keeps a running sum of the bytes it has handed out and not yet been given back.
//!
//! RSS is a poor leak detector over a minute: the allocator keeps freed pages, arenas warm
//! up per thread, and a thread that starts or exits moves it by its stack. The live heap
//! has none of that noise: it is exactly what the program holds. A soak whose live set is
//! bounded (every round settles its tasks) must show it flat after the warm-up, to a few
//! kilobytes, where RSS only tells megabytes.
//!
//! `goro-soak` installs [`CountingAlloc`] as its global allocator; [`live_bytes`] is `None`
//! in a process that did not (the counter never moves).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

/// Bytes allocated and not yet freed, through [`CountingAlloc`].
static LIVE: AtomicU64 = AtomicU64::new(0);
/// Whether [`CountingAlloc`] has served an allocation in this process.
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// The system allocator, counting live bytes.
///
/// ```
/// use goro_tools::soak::heap::{live_bytes, CountingAlloc};
///
/// #[global_allocator]
/// static HEAP: CountingAlloc = CountingAlloc;
///
/// fn main() {
///     let block = vec![0u8; 4096];
///     assert!(live_bytes().unwrap() >= 4096);
///     drop(block);
/// }
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct CountingAlloc;

impl CountingAlloc {
    fn grew(size: usize) {
        LIVE.fetch_add(size as u64, Relaxed);
        INSTALLED.store(true, Relaxed);
    }

    fn shrank(size: usize) {
        LIVE.fetch_sub(size as u64, Relaxed);
    }
}

// SAFETY: every method forwards to `System` with the caller's own arguments, so it keeps
// `System`'s guarantees; the counting around it touches only atomics and never allocates.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is `System::alloc`'s.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            Self::grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc_zeroed` is `System::alloc_zeroed`'s.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            Self::grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator (so from `System`) with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        Self::shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from this allocator (so from `System`) with `layout`, and the
        // caller's contract for `new_size` is `System::realloc`'s.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            Self::shrank(layout.size());
            Self::grew(new_size);
        }
        new
    }
}

/// The live heap bytes now, if [`CountingAlloc`] is this process's allocator.
pub fn live_bytes() -> Option<u64> {
    INSTALLED.load(Relaxed).then(|| LIVE.load(Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_what_it_hands_out_and_gets_back() {
        // Not the global allocator in this test binary: call it directly.
        let before = LIVE.load(Relaxed);
        let layout = Layout::from_size_align(1000, 8).unwrap();
        // SAFETY: a non-zero-sized layout; the block is freed below with the same layout.
        let ptr = unsafe { CountingAlloc.alloc(layout) };
        assert!(!ptr.is_null());
        assert_eq!(LIVE.load(Relaxed), before + 1000);
        // SAFETY: `ptr` is the live block of `layout` allocated above.
        let ptr = unsafe { CountingAlloc.realloc(ptr, layout, 3000) };
        assert!(!ptr.is_null());
        assert_eq!(LIVE.load(Relaxed), before + 3000);
        let grown = Layout::from_size_align(3000, 8).unwrap();
        // SAFETY: `ptr` is the live block of `grown` returned by realloc.
        unsafe { CountingAlloc.dealloc(ptr, grown) };
        assert_eq!(LIVE.load(Relaxed), before);
        assert_eq!(live_bytes(), Some(before));
    }
}
