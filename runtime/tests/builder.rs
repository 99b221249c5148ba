//! `Builder`: options and errors.

mod common;

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::*;
use goro::{Builder, Runtime};

const LIMIT: Duration = Duration::from_secs(10);

#[test]
fn processors_zero_is_an_invalid_input_error_naming_the_value() {
    for result in [
        Builder::new().processors(0).build(),
        Runtime::builder().processors(0).build(),
    ] {
        let err = match result {
            Ok(_) => panic!("processors(0) built a runtime"),
            Err(e) => e,
        };
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains('0') && msg.to_lowercase().contains("processors"),
            "the error should name the value and the setting: {msg:?}"
        );
    }
}

#[test]
fn builder_options_build_working_runtimes() {
    each_procs(LIMIT, |n| {
        let rt = Builder::new()
            .processors(n)
            .pin_threads(true)
            .thread_name("goro-test-worker")
            .max_blocking_threads(4)
            .build()
            .expect("build with every option set");
        let names = rt.block_on(async {
            let worker = goro::spawn(async { thread::current().name().map(str::to_owned) })
                .await
                .unwrap();
            let blocking =
                goro::task::spawn_blocking(|| thread::current().name().map(str::to_owned))
                    .await
                    .unwrap();
            (worker, blocking)
        });
        let worker = names.0.unwrap_or_default();
        let blocking = names.1.unwrap_or_default();
        assert!(
            worker.starts_with("goro-test-worker-machine-"),
            "a task ran on a thread named {worker:?}"
        );
        assert_eq!(
            blocking, "goro-test-worker-blocking",
            "the thread a blocking closure ran on"
        );
        let unpinned = Builder::new()
            .processors(n)
            .pin_threads(false)
            .build()
            .unwrap();
        assert_eq!(unpinned.block_on(unpinned.spawn(async { 1 })).unwrap(), 1);
    });
}

#[test]
fn max_blocking_threads_caps_concurrency() {
    each_procs(LIMIT, |n| {
        let rt = Builder::new()
            .processors(n)
            .max_blocking_threads(2)
            .build()
            .unwrap();
        let now = Arc::new(AtomicUsize::new(0));
        let max = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..8)
            .map(|i| {
                let (now, max) = (now.clone(), max.clone());
                rt.spawn_blocking(move || {
                    let c = now.fetch_add(1, Ordering::SeqCst) + 1;
                    max.fetch_max(c, Ordering::SeqCst);
                    thread::sleep(Duration::from_millis(20));
                    now.fetch_sub(1, Ordering::SeqCst);
                    i
                })
            })
            .collect();
        let sum: usize = rt.block_on(async move {
            let mut s = 0;
            for h in hs {
                s += h.await.unwrap();
            }
            s
        });
        assert_eq!(sum, 28, "every queued blocking closure ran");
        let max = max.load(Ordering::SeqCst);
        assert!(
            (1..=2).contains(&max),
            "max_blocking_threads(2) but {max} closures ran at once"
        );
    });
}
