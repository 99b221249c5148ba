//! goro's tools.
//!
//! * [`quick`] — the engine of the `goro-bench` binary: runs goro-benches' suites
//!   (`sched`: tokio's `rt_multi_threaded` shapes; `timers`; `echo`: TCP echo over loopback)
//!   on goro and on tokio with the same worker count, a fixed small number of times per
//!   workload, and prints one side-by-side table per suite with goro/tokio ratios and their
//!   geometric mean per processor count. It is the fast check to run after a scheduler,
//!   timer or netpoll change; the criterion suites in `benches/` are the careful ones.
//! * [`http`] — the HTTP/1.1 keep-alive "hello" handler behind the `http-hello` binary,
//!   which `tools/http-bar.sh` loads with `wrk` to take the bar measurement
//!   (requests per second and server CPU time per request, goro vs tokio).
//! * [`soak`] — the engine of `goro-soak --seconds N --processors P`: a mixed workload
//!   (spawn churn, panics, aborts, timeouts, TCP echo with resets, blocking calls, stuck
//!   polls) with exact books of every task, checked against goro's own stats, and RSS and
//!   threads that must stay flat.

pub mod http;
pub mod quick;
pub mod soak;
