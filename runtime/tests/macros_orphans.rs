//! `#[goro::test]` fails a test that leaves orphaned tasks behind, naming where they were
//! spawned; `#[goro::test(allow_orphans)]` lets it pass. It fails a test during which a
//! deadlock was found too, with the deadlock's text.

mod common;

use std::future::poll_fn;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::Poll;
use std::time::Duration;

/// A task that returns `Pending` once without keeping its waker: orphaned at once.
#[track_caller]
fn spawn_orphan() -> goro::task::JoinHandle<()> {
    goro::spawn(poll_fn(|_cx| Poll::<()>::Pending))
}

/// The line `orphaning::leaves_an_orphan` spawns its orphan on.
static ORPHAN_LINE: AtomicU32 = AtomicU32::new(0);

mod orphaning {
    use super::*;

    #[goro::test]
    #[should_panic(expected = "test left 1 orphaned task")]
    pub async fn leaves_an_orphan() {
        ORPHAN_LINE.store(line!() + 1, Ordering::SeqCst);
        let _orphan = spawn_orphan();
        goro::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn the_failure_names_the_spawn_site() {
    common::within(Duration::from_secs(10), || {
        let msg = common::expect_panic(orphaning::leaves_an_orphan);
        let line = ORPHAN_LINE.load(Ordering::SeqCst);
        let site = format!("spawned at {}:{line}:", file!());
        assert!(msg.contains(&site), "{msg}");
        assert!(msg.contains("allow_orphans"), "{msg}");
    });
}

#[goro::test]
#[should_panic(expected = "test left 2 orphaned tasks")]
async fn two_orphans_are_both_counted() {
    let _a = spawn_orphan();
    let _b = spawn_orphan();
    goro::time::sleep(Duration::from_millis(50)).await;
}

/// The line `deadlocking::locks_a_mutex_twice` locks its mutex the second time on.
static RELOCK_LINE: AtomicU32 = AtomicU32::new(0);

mod deadlocking {
    use super::*;

    #[goro::test]
    #[should_panic(expected = "test left 1 deadlock")]
    pub async fn locks_a_mutex_twice() {
        let m = std::sync::Arc::new(goro::sync::Mutex::new(()));
        goro::spawn(async move {
            let _held = m.lock().await;
            RELOCK_LINE.store(line!() + 1, Ordering::SeqCst);
            let _again = m.lock().await;
        });
        goro::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn a_deadlock_fails_the_test_with_its_text() {
    common::within(Duration::from_secs(10), || {
        let msg = common::expect_panic(deadlocking::locks_a_mutex_twice);
        let at = format!("{}:{}", file!(), RELOCK_LINE.load(Ordering::SeqCst));
        assert!(msg.contains("test left 1 deadlock"), "{msg}");
        assert!(msg.contains("\n    1 task deadlocked: #"), "{msg}");
        assert!(msg.contains(&format!(", waits Mutex at {at}")), "{msg}");
        assert!(msg.contains("[Mutex::lock, "), "{msg}");
        assert!(
            msg.contains(&format!("] at {at}, spawned at {}:", file!())),
            "{msg}"
        );
    });
}

#[goro::test(allow_orphans)]
async fn allow_orphans_lets_it_pass() {
    let _orphan = spawn_orphan();
    goro::time::sleep(Duration::from_millis(50)).await;
    // The orphan is there; only the check is off.
    assert_eq!(goro::stats::leak_report().orphaned_total, 1);
}

#[goro::test(processors = 1, allow_orphans)]
async fn allow_orphans_with_processors() {
    let _orphan = spawn_orphan();
    goro::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(goro::Handle::current().processors(), 1);
    assert_eq!(goro::stats::leak_report().orphaned_total, 1);
}

#[goro::test]
async fn a_clean_test_passes() {
    let workers: Vec<_> = (0..20u64)
        .map(|i| {
            goro::spawn(async move {
                goro::time::sleep(Duration::from_millis(i % 5)).await;
                goro::task::yield_now().await;
                i
            })
        })
        .collect();
    let mut sum = 0;
    for w in workers {
        sum += w.await.unwrap();
    }
    assert_eq!(sum, 190);
    // A task left sleeping is not an orphan: its timer holds a waker.
    let _sleeper = goro::spawn(goro::time::sleep(Duration::from_secs(60)));
    goro::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(goro::stats::leak_report().orphaned_total, 0);
}

#[goro::test]
async fn a_test_returning_a_result_is_checked_too() -> Result<(), std::num::ParseIntError> {
    let n: u32 = "42".parse()?;
    assert_eq!(goro::spawn(async move { n + 1 }).await.unwrap(), 43);
    Ok(())
}
