//! Tasks: goro's G.
//!
//! A task is a spawned future in one heap allocation together with its header (state word,
//! id, spawn location, the runtime it belongs to) and the slot for its output. The modules:
//!
//! * `state` — the atomic state word: run state, join interest, reference count and the count
//!   of outstanding wakers, with every transition the task can make;
//! * `raw` — the type-erased header, its vtable, and `Notified` (a scheduled task);
//! * `harness` — the typed operations: poll, complete, cancel, hand the output over;
//! * `waker` — the hand-written waker vtable;
//! * `record` — what the task tells the stats: polls, wakes, idle time, suspension point;
//! * `suspend` — how goro's leaf futures name the suspension point;
//! * `join` — [`JoinHandle`]; `error` — [`JoinError`]; `id` — [`Id`].
//!
//! Size: a task of a 24-byte future is one 128-byte allocation, as in tokio (it was 208):
//! an 88-byte header (48 for the state word, vtable, id, runtime and registry links, 40 for
//! the record, packed as `record.rs` explains), a 24-byte slot that holds the future or its
//! output without a tag (`harness.rs`), and the join waker. `harness.rs` pins the sizes;
//! `goro-tools`' `task_bytes` test measures goro's and tokio's allocations side by side
//! (`cargo test -p goro-tools --release --test task_bytes -- --nocapture`).
//!
//! References: a task is kept alive by the registry (until it completes), by the scheduler
//! (one `Notified` while NOTIFIED, then the machine polling it), by its `JoinHandle`, and by
//! each waker. The last one to go frees it.

mod abort;
mod error;
mod harness;
mod id;
mod join;
mod raw;
mod record;
pub(crate) mod state;
mod suspend;
mod waker;

pub use abort::AbortHandle;
pub use error::JoinError;
pub use id::Id;
pub(crate) use id::BLOCK_SHIFT;
pub use join::JoinHandle;
pub(crate) use raw::{Notified, RawTask};
pub(crate) use record::TaskRecord;
pub use suspend::{
    note_suspension, set_lock_wait_hook, traced, traced_fallback, Suspension, Traced,
};
