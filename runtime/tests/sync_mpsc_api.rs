//! The parts of tokio's `mpsc` API that `goro::sync::mpsc` adds on top of the waits
//! `sync_primitives.rs` tests, at 1 and 2 processors: the `blocking_*` calls (they block a
//! plain thread until a task sends or receives, and panic inside a goro task),
//! `send_timeout` (waits named `mpsc::Sender::send`, timed by goro's timers), weak senders
//! and their counts, `reserve_many` and the permits that give goro's sender back.

mod common;

use common::{
    blocked, blocking_calls_panic_inside_the_runtime, each_procs, rt, wait_for_op, BlockingCall,
};
use goro::stats::WaitOp;
use goro::sync::mpsc::{self, error::SendTimeoutError};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn blocking_send_and_recv_wait_for_a_task() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        // A full channel: blocking_send waits until a task receives.
        let (tx, mut rx) = mpsc::channel(1);
        tx.try_send(1).unwrap();
        let sender = blocked(move || tx.blocking_send(2));
        let got = rt.block_on(rt.spawn(async move {
            let first = rx.recv().await;
            (first, rx.recv().await)
        }));
        assert_eq!(got.unwrap(), (Some(1), Some(2)));
        assert!(sender.join().unwrap().is_ok());

        // Empty channels: the blocking receives wait until a task sends.
        let (tx, mut rx) = mpsc::channel(4);
        let one = blocked(move || rx.blocking_recv());
        let (tx2, mut rx2) = mpsc::channel(4);
        let many = blocked(move || {
            let mut got = Vec::new();
            rx2.blocking_recv_many(&mut got, 8);
            got
        });
        let (utx, mut urx) = mpsc::unbounded_channel();
        let unbounded = blocked(move || urx.blocking_recv());
        let (utx2, mut urx2) = mpsc::unbounded_channel();
        let unbounded_many = blocked(move || {
            let mut got = Vec::new();
            urx2.blocking_recv_many(&mut got, 8);
            got
        });
        rt.block_on(rt.spawn(async move {
            tx.send("one").await.unwrap();
            tx2.send(5).await.unwrap();
            utx.send('u').unwrap();
            utx2.send(6u64).unwrap();
        }))
        .unwrap();
        assert_eq!(one.join().unwrap(), Some("one"));
        assert_eq!(many.join().unwrap(), [5]);
        assert_eq!(unbounded.join().unwrap(), Some('u'));
        assert_eq!(unbounded_many.join().unwrap(), [6]);
    });
}

/// Every `blocking_*` call of `mpsc`, each on a ready channel so that it would return at
/// once if it did not check where it runs.
fn every_blocking_call() -> Vec<(&'static str, BlockingCall)> {
    let ready = || {
        let (tx, rx) = mpsc::channel(2);
        tx.try_send(()).unwrap();
        (tx, rx)
    };
    let unbounded_ready = || {
        let (tx, rx) = mpsc::unbounded_channel();
        tx.send(()).unwrap();
        rx
    };
    let (tx, sent) = ready();
    let (_keep, mut rx) = ready();
    let (_keep2, mut rx2) = ready();
    let (mut urx, mut urx2) = (unbounded_ready(), unbounded_ready());
    vec![
        (
            "mpsc::Sender::blocking_send",
            Box::new(move || {
                let _sent = sent;
                tx.blocking_send(()).unwrap()
            }),
        ),
        (
            "mpsc::Receiver::blocking_recv",
            Box::new(move || assert!(rx.blocking_recv().is_some())),
        ),
        (
            "mpsc::Receiver::blocking_recv_many",
            Box::new(move || assert_eq!(rx2.blocking_recv_many(&mut Vec::new(), 4), 1)),
        ),
        (
            "mpsc::UnboundedReceiver::blocking_recv",
            Box::new(move || assert!(urx.blocking_recv().is_some())),
        ),
        (
            "mpsc::UnboundedReceiver::blocking_recv_many",
            Box::new(move || assert_eq!(urx2.blocking_recv_many(&mut Vec::new(), 4), 1)),
        ),
    ]
}

#[test]
fn blocking_calls_panic_inside_a_task_and_inside_block_on() {
    each_procs(LIMIT, |n| {
        blocking_calls_panic_inside_the_runtime(&rt(n), every_blocking_call)
    });
}

#[test]
fn send_timeout_waits_as_send_and_gives_the_value_back() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel(1);
            tx.send_timeout(1, Duration::from_millis(1)).await.unwrap();
            // Full, nobody receives: the time runs out and the value comes back.
            let late = tx.send_timeout(2, Duration::from_millis(5)).await;
            assert_eq!(late, Err(SendTimeoutError::Timeout(2)));
            // Full, a receiver comes in time: the wait is named as `send`.
            let waiting = goro::spawn({
                let tx = tx.clone();
                async move { tx.send_timeout(3, Duration::from_secs(60)).await }
            });
            wait_for_op(WaitOp::MpscSend, 1).await;
            assert_eq!(rx.recv().await, Some(1));
            assert_eq!(waiting.await.unwrap(), Ok(()));
            assert_eq!(rx.recv().await, Some(3));
            drop(rx);
            let closed = tx.send_timeout(4, Duration::from_secs(60)).await;
            assert_eq!(closed, Err(SendTimeoutError::Closed(4)));
        });
        // Made outside the runtime, polled inside it (as tokio's `async fn`).
        let (tx, _rx) = mpsc::channel(1);
        let made_outside = tx.send_timeout(5, Duration::from_millis(1));
        assert_eq!(rt.block_on(made_outside), Ok(()));
    });
}

#[test]
fn weak_senders_do_not_keep_the_channel_open() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel(2);
            let weak = tx.downgrade();
            let weak2 = weak.clone();
            assert_eq!((tx.strong_count(), tx.weak_count()), (1, 2));
            assert_eq!((rx.sender_strong_count(), rx.sender_weak_count()), (1, 2));
            let upgraded: mpsc::Sender<u8> = weak.upgrade().unwrap();
            assert_eq!(weak2.strong_count(), 2);
            upgraded.send(1).await.unwrap();
            drop((tx, upgraded));
            assert!(weak.upgrade().is_none());
            assert_eq!(rx.recv().await, Some(1));
            assert_eq!(rx.recv().await, None); // closed, though weak senders remain
            assert_eq!(weak2.weak_count(), 2);

            let (utx, mut urx) = mpsc::unbounded_channel();
            let uweak = utx.downgrade();
            assert_eq!((utx.strong_count(), utx.weak_count()), (1, 1));
            let uup: mpsc::UnboundedSender<u8> = uweak.upgrade().unwrap();
            uup.send(2).unwrap();
            assert_eq!(urx.sender_strong_count(), 2);
            drop((utx, uup));
            assert!(uweak.upgrade().is_none());
            assert_eq!(urx.recv().await, Some(2));
            assert_eq!(urx.recv().await, None);
        });
    });
}

#[test]
fn reserve_many_waits_for_room_for_all() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel(3);
            tx.send(0).await.unwrap();
            tx.send(1).await.unwrap();
            assert_eq!((rx.capacity(), rx.max_capacity()), (1, 3));
            assert!(tx.try_reserve_many(2).is_err());
            let reserver = goro::spawn({
                let tx = tx.clone();
                async move {
                    let permits = tx.reserve_many(2).await.unwrap();
                    for (permit, value) in permits.zip([10, 11]) {
                        permit.send(value);
                    }
                }
            });
            wait_for_op(WaitOp::MpscSend, 1).await;
            assert_eq!(rx.recv().await, Some(0));
            reserver.await.unwrap();
            let mut got = Vec::new();
            let n = std::future::poll_fn(|cx| rx.poll_recv_many(cx, &mut got, 8)).await;
            assert_eq!((n, got), (3, vec![1, 10, 11]));
        });
    });
}

#[test]
fn owned_permits_give_goro_senders_back() {
    each_procs(LIMIT, |n| {
        let rt = rt(n);
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel(1);
            let permit = tx.clone().reserve_owned().await.unwrap();
            assert!(permit.same_channel_as_sender(&tx));
            let full = tx.clone().try_reserve_owned().unwrap_err();
            let back: mpsc::Sender<u8> = match full {
                mpsc::error::TrySendError::Full(sender) => sender,
                other => panic!("expected Full, got {other:?}"),
            };
            assert!(back.same_channel(&tx));
            let released: mpsc::Sender<u8> = permit.release();
            assert_eq!(released.capacity(), 1);
            let permit = released.try_reserve_owned().unwrap();
            let sent: mpsc::Sender<u8> = permit.send(9);
            assert_eq!(rx.recv().await, Some(9));
            drop((sent, back, tx));
            assert_eq!(rx.recv().await, None);
        });
    });
}

#[test]
fn every_end_is_debug_for_any_message() {
    struct Opaque; // not Debug
    let (tx, rx) = mpsc::channel::<Opaque>(1);
    let (utx, urx) = mpsc::unbounded_channel::<Opaque>();
    let permit = tx.clone().try_reserve_owned().unwrap();
    let ends = [
        ("Sender", format!("{tx:?}")),
        ("Receiver", format!("{rx:?}")),
        ("WeakSender", format!("{:?}", tx.downgrade())),
        ("OwnedPermit", format!("{permit:?}")),
        ("UnboundedSender", format!("{utx:?}")),
        ("UnboundedReceiver", format!("{urx:?}")),
        ("WeakUnboundedSender", format!("{:?}", utx.downgrade())),
    ];
    for (name, end) in ends {
        assert!(end.starts_with(name), "{name}: {end}");
    }
}
