//! `goro::signal` listens on the poller: registering signals and receiving them starts no
//! thread. A file of its own (one test, so one thread of the test harness) to count this
//! process's threads without other tests starting runtimes beside it.

mod common;

use goro::signal::unix::{signal, SignalKind};
use std::time::Duration;

/// Sends `sig` to this process (a handler for it must be installed).
fn raise(sig: libc::c_int) {
    // SAFETY: `kill` on our own pid only sends a signal; the caller installed a handler.
    assert_eq!(unsafe { libc::kill(libc::getpid(), sig) }, 0);
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

#[test]
fn signals_start_no_thread() {
    let rt = common::rt(1);
    rt.block_on(async {
        // Settle: the runtime's own threads (machine, spare, monitor) have started.
        goro::time::sleep(Duration::from_millis(50)).await;
        let before = threads();
        let kinds = [
            SignalKind::user_defined1(),
            SignalKind::user_defined2(),
            SignalKind::hangup(),
        ];
        for kind in kinds {
            let mut listener = signal(kind).unwrap();
            raise(kind.as_raw_value());
            goro::time::timeout(Duration::from_secs(5), listener.recv())
                .await
                .expect("the signal did not arrive")
                .unwrap();
        }
        let mut ctrl_c = std::pin::pin!(goro::signal::ctrl_c());
        // The first poll installs the handler.
        assert!(common::poll_once(&mut ctrl_c).is_pending());
        raise(libc::SIGINT);
        goro::time::timeout(Duration::from_secs(5), ctrl_c)
            .await
            .expect("SIGINT did not complete ctrl_c")
            .unwrap();
        assert_eq!(threads(), before, "listening for signals started threads");
    });
}
