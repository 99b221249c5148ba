//! `goro::signal`: deliveries to this process reach `signal(..).recv()` and `ctrl_c()`.
//!
//! Every test here listens for a signal before raising it, so the signal's default action
//! (terminating the test process) never runs.

mod common;

use common::{each_procs, poll_once, rt};
use goro::signal::unix::{signal, SignalKind};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(20);

fn raise(sig: libc::c_int) {
    // SAFETY: `kill` on our own pid only sends a signal; a handler is installed for it.
    assert_eq!(unsafe { libc::kill(libc::getpid(), sig) }, 0);
}

#[test]
fn signal_reaches_recv_from_another_thread() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let mut usr1 = signal(SignalKind::user_defined1()).unwrap();
            let waiter = goro::spawn(async move {
                usr1.recv().await.unwrap();
                usr1
            });
            goro::time::sleep(Duration::from_millis(50)).await;
            std::thread::spawn(|| raise(libc::SIGUSR1)).join().unwrap();
            let mut usr1 = goro::time::timeout(Duration::from_secs(5), waiter)
                .await
                .expect("the signal did not wake the waiting task")
                .unwrap();
            // Deliveries pending at once coalesce into one recv.
            raise(libc::SIGUSR1);
            raise(libc::SIGUSR1);
            goro::time::sleep(Duration::from_millis(50)).await;
            assert_eq!(usr1.recv().await, Some(()));
            let again = goro::time::timeout(Duration::from_millis(100), usr1.recv()).await;
            assert!(again.is_err(), "two deliveries gave two recvs");
        });
    });
}

#[test]
fn every_listener_sees_the_signal() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let mut a = signal(SignalKind::user_defined2()).unwrap();
            let mut b = signal(SignalKind::user_defined2()).unwrap();
            raise(libc::SIGUSR2);
            let both = async { (a.recv().await, b.recv().await) };
            let got = goro::time::timeout(Duration::from_secs(5), both)
                .await
                .unwrap();
            assert_eq!(got, (Some(()), Some(())));
        });
    });
}

#[test]
fn ctrl_c_completes_on_sigint() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let mut ctrl_c = std::pin::pin!(goro::signal::ctrl_c());
            // The first poll installs the handler.
            assert!(poll_once(&mut ctrl_c).is_pending());
            raise(libc::SIGINT);
            goro::time::timeout(Duration::from_secs(5), ctrl_c)
                .await
                .expect("SIGINT did not complete ctrl_c")
                .unwrap();
        });
    });
}

#[test]
fn forbidden_signals_are_an_error() {
    rt(1).block_on(async {
        for sig in [libc::SIGKILL, libc::SIGSTOP, libc::SIGSEGV] {
            let err = signal(SignalKind::from_raw(sig)).unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
        }
    });
}

#[test]
fn a_task_waiting_for_a_signal_is_not_suspected() {
    let rt = goro::Runtime::builder()
        .processors(1)
        .stats_interval(Duration::from_millis(10))
        .leak_threshold(Duration::from_millis(20))
        .build()
        .unwrap();
    rt.block_on(async {
        let mut hup = signal(SignalKind::hangup()).unwrap();
        let waiter = goro::spawn(async move { hup.recv().await });
        goro::time::sleep(Duration::from_millis(300)).await;
        let report = goro::Handle::current().leak_report();
        assert!(report.orphaned.is_empty(), "{report}");
        assert!(report.suspected.is_empty(), "{report}");
        let dump = goro::Handle::current().tasks();
        assert!(
            dump.groups
                .iter()
                .any(|g| g.wait_op.map(|op| op.name()) == Some("Signal::recv")),
            "{dump}"
        );
        waiter.abort();
    });
}
