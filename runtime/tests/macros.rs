//! `#[goro::test]` and `#[goro::main]`.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use goro::Handle;

#[goro::test]
async fn goro_test_runs_on_a_runtime() {
    assert!(Handle::try_current().is_some());
    assert_eq!(goro::spawn(async { 1 + 1 }).await.unwrap(), 2);
    goro::task::yield_now().await;
}

#[goro::test(processors = 1)]
async fn goro_test_with_one_processor() {
    let hs: Vec<_> = (0..100).map(|i| goro::spawn(async move { i })).collect();
    let mut s = 0;
    for h in hs {
        s += h.await.unwrap();
    }
    assert_eq!(s, 4950);
}

/// Two tasks that spin without yielding until both have started: only possible if the
/// attribute really built two processors.
#[goro::test(processors = 2)]
async fn goro_test_with_two_processors_runs_in_parallel() {
    let started = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..2)
        .map(|_| {
            let s = started.clone();
            goro::spawn(async move {
                s.fetch_add(1, Ordering::SeqCst);
                let t = Instant::now();
                while s.load(Ordering::SeqCst) < 2 {
                    assert!(
                        t.elapsed() < Duration::from_secs(5),
                        "processors = 2 did not run two tasks at once"
                    );
                    std::hint::spin_loop();
                }
            })
        })
        .collect();
    for h in hs {
        h.await.unwrap();
    }
}

#[goro::test(processors = 1, allow_orphans)]
async fn goro_test_accepts_allow_orphans() {
    drop(goro::spawn(std::future::pending::<()>()));
}

#[goro::test]
async fn goro_test_returning_result() -> Result<(), std::num::ParseIntError> {
    let n: u32 = "12".parse()?;
    assert_eq!(n, 12);
    Ok(())
}

#[goro::test]
#[should_panic(expected = "inside a goro test")]
async fn goro_test_with_should_panic() {
    goro::spawn(async {}).await.unwrap();
    panic!("inside a goro test");
}

mod mains {
    use std::sync::atomic::{AtomicBool, Ordering};

    pub static RAN: AtomicBool = AtomicBool::new(false);

    #[goro::main]
    pub async fn main() {
        let v = goro::spawn(async { 5 }).await.unwrap();
        assert_eq!(v, 5);
        RAN.store(true, Ordering::SeqCst);
    }

    #[derive(Debug)]
    pub struct MyError(pub String);

    impl From<std::num::ParseIntError> for MyError {
        fn from(e: std::num::ParseIntError) -> Self {
            MyError(e.to_string())
        }
    }

    pub static INPUT: std::sync::Mutex<&str> = std::sync::Mutex::new("");

    /// `?` converts into the declared error type.
    #[goro::main(processors = 1)]
    pub async fn parse() -> Result<u32, MyError> {
        let input = *INPUT.lock().unwrap();
        let n: u32 = goro::spawn(async move { input.parse() }).await.unwrap()?;
        Ok(n + 1)
    }
}

#[test]
fn goro_main_expands_to_a_sync_main() {
    mains::main();
    assert!(mains::RAN.load(Ordering::SeqCst));
}

#[test]
fn goro_main_with_a_result_and_processors() {
    *mains::INPUT.lock().unwrap() = "41";
    assert_eq!(mains::parse().unwrap(), 42);
    *mains::INPUT.lock().unwrap() = "x";
    assert!(mains::parse().unwrap_err().0.contains("invalid digit"));
}

/// tokio's arguments: `flavor = "current_thread"` is one processor, `worker_threads = N` is
/// `processors = N`.
#[goro::test(flavor = "current_thread")]
async fn tokio_current_thread_flavor_is_one_processor() {
    assert_eq!(Handle::current().processors(), 1);
}

#[goro::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_multi_thread_flavor_with_worker_threads() {
    assert_eq!(Handle::current().processors(), 2);
}

#[goro::test(worker_threads = 3)]
async fn tokio_worker_threads_alone() {
    assert_eq!(Handle::current().processors(), 3);
}

mod tokio_main {
    #[goro::main(flavor = "multi_thread", worker_threads = 2)]
    pub async fn main() -> usize {
        goro::Handle::current().processors()
    }
}

#[test]
fn goro_main_accepts_tokio_arguments() {
    assert_eq!(tokio_main::main(), 2);
}
