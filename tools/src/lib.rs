//! goro's tools.
//!
//! * [`quick`] — the engine of the `goro-bench` binary: runs goro-benches' suites
//!   (`sched`: tokio's `rt_multi_threaded` shapes; `timers`; `echo`: TCP echo over loopback)
//!   on goro and on tokio with the same worker count, a fixed small number of times per
//!   workload, and prints one side-by-side table per suite with goro/tokio ratios and their
//!   geometric mean per processor count. It is the fast check to run after a scheduler,
//!   timer or netpoll change; the criterion suites in `benches/` are the careful ones.
//! * [`loadgen`] — the `goro-loadgen` binary: HTTP/1.1 keep-alive load on mio threads of
//!   its own, open loop at a fixed rate with coordinated omission corrected (wrk2 style) or
//!   closed loop, latencies in hdrhistogram.
//! * [`latency`] — `goro-bench --suite latency`: tail latency at a fixed rate while a
//!   handler blocks or hogs its thread, goro vs tokio, servers in pinned child processes
//!   ([`child`]).
//! * [`hyper_suite`] — `goro-bench --suite hyper`: the same hyper 1.x server (a hello route
//!   and an axum JSON route, the `hyper-hello` binary) on goro and on tokio, requests/s and
//!   server CPU per request under closed-loop load, in pinned child processes.
//! * [`pin`] — the `--pin CPU-LIST` flag of the server binaries.
//! * [`procs_effect`] — the `procs-effect` binary: a server at each processor count,
//!   driven by the load generator, its per-request costs measured and explained.
//! * [`cli`] — flag reading shared by the tools' command lines.
//! * [`http`] — the HTTP/1.1 keep-alive "hello" handler behind the `http-hello` binary,
//!   which `tools/http-bar.sh` loads with `wrk` to take the bar measurement
//!   (requests per second and server CPU time per request, goro vs tokio).
//! * [`soak`] — the engine of `goro-soak --seconds N --processors P`: a mixed workload
//!   (spawn churn, panics, aborts, timeouts, TCP echo with resets, blocking calls, stuck
//!   polls) with exact books of every task, checked against goro's own stats, and RSS and
//!   threads that must stay flat.

pub mod child;
pub mod cli;
pub mod http;
pub mod hyper_suite;
pub mod latency;
pub mod loadgen;
pub mod pin;
pub mod procs_effect;
pub mod quick;
pub mod soak;
