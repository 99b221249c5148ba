//! goro's tools.
//!
//! * [`quick`] — the engine of the `goro-bench` binary: runs goro-benches' scheduler suite
//!   (tokio's `rt_multi_threaded` shapes) on goro and on tokio with the same worker count,
//!   a fixed small number of times per workload, and prints one side-by-side table with
//!   goro/tokio ratios and their geometric mean per processor count. It is the fast
//!   check to run after a scheduler change; the criterion suite in `benches/` is the
//!   careful one.

pub mod quick;
