//! TCP echo suite: 64 loopback connections, each doing 100 round trips per iteration with
//! 1 KiB or 64 B messages, against an echo server on goro (1 or 2 processors) or on tokio
//! (`current_thread` for 1, `multi_thread` with 2 workers for 2). The clients are the same
//! for both: a tokio `current_thread` runtime on a thread of its own. See
//! `goro_benches::echo`.
//!
//! Criterion ids are `echo/<size>/<procs>/{goro,tokio}`; throughput is reported in round
//! trips. Placement: clients pinned to the first core; the server pinned to the second at
//! procs=1 and free on both at procs=2 (`GORO_BENCH_PIN=0` pins nothing). Run with
//! `cargo bench -p goro-benches --bench echo`.

use criterion::{criterion_main, Criterion};
use goro_benches::server::Side;

mod common;

fn echo(c: &mut Criterion) {
    common::echo_suite(c, "echo", [Side::Goro, Side::Tokio]);
}

/// The criterion group, in a module of its own: `criterion_group!` defines a `pub fn`
/// that cannot carry a doc.
mod group {
    criterion::criterion_group!(benches, super::echo);
}

criterion_main!(group::benches);
