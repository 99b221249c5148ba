//! The threads a runtime starts are named by kind (`Builder::thread_name`), so that a
//! thread list (`/proc/<pid>/task/*/comm`, `top -H`, a debugger) tells machines, blocking
//! threads and the monitor apart; `goro-soak` counts them by these names.

mod common;

use common::threads_named;
use std::collections::BTreeSet;
use std::time::Duration;

#[test]
fn threads_are_named_by_kind() {
    let rt = goro::Builder::new()
        .processors(2)
        .thread_name("kd")
        .build()
        .unwrap();
    rt.block_on(async { goro::task::spawn_blocking(|| ()).await })
        .unwrap();
    let names = || -> BTreeSet<String> {
        threads_named("kd-")
            .into_iter()
            .map(|(_, name)| name)
            .collect()
    };
    let machines = |names: &BTreeSet<String>| {
        names
            .iter()
            .filter(|n| n.starts_with("kd-machine-"))
            .count()
    };
    // Two processors' machines and the spare (a thread names itself as it starts).
    common::wait_until(Duration::from_secs(5), "three machines", || {
        machines(&names()) == 3
    });
    let names = names();
    assert!(names.contains("kd-monitor"), "{names:?}");
    assert!(names.contains("kd-blocking"), "{names:?}");
    assert_eq!(machines(&names), 3, "{names:?}");
}
