//! UDP sockets: round trips with `send_to`/`recv_from` and with connected `send`/`recv`,
//! a sender and a receiver task sharing one socket. Loopback only, at 1 and 2 processors.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use goro::net::UdpSocket;

#[test]
fn udp_round_trips() {
    each_procs(Duration::from_secs(20), |n| {
        let rt = rt(n);
        rt.block_on(async {
            let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());

            // Unconnected: an echo task on `b`, 100 ping-pongs from `a`.
            let echo = goro::spawn(async move {
                let mut buf = [0; 64];
                for _ in 0..100 {
                    let (len, from) = b.recv_from(&mut buf).await.unwrap();
                    assert_eq!(b.send_to(&buf[..len], from).await.unwrap(), len);
                }
                b
            });
            let mut buf = [0; 64];
            for i in 0..100u32 {
                let msg = format!("datagram {i}");
                assert_eq!(a.send_to(msg.as_bytes(), b_addr).await.unwrap(), msg.len());
                let (len, from) = a.recv_from(&mut buf).await.unwrap();
                assert_eq!(from, b_addr);
                assert_eq!(&buf[..len], msg.as_bytes());
            }
            let b = echo.await.unwrap();

            // Connected: send/recv, peer_addr.
            assert!(a.peer_addr().is_err());
            a.connect(b_addr).await.unwrap();
            b.connect(a_addr).await.unwrap();
            assert_eq!(a.peer_addr().unwrap(), b_addr);
            assert_eq!(b.peer_addr().unwrap(), a_addr);
            let b = Arc::new(b);
            let b2 = b.clone();
            let echo = goro::spawn(async move {
                let mut buf = [0; 64];
                for _ in 0..100 {
                    let len = b2.recv(&mut buf).await.unwrap();
                    b2.send(&buf[..len]).await.unwrap();
                }
            });
            for i in 0..100u32 {
                a.send(&i.to_le_bytes()).await.unwrap();
                assert_eq!(a.recv(&mut buf).await.unwrap(), 4);
                assert_eq!(u32::from_le_bytes(buf[..4].try_into().unwrap()), i);
            }
            echo.await.unwrap();

            // send_to with a string address; peek_from leaves the datagram queued.
            let c = UdpSocket::bind(("127.0.0.1", 0)).await.unwrap();
            c.send_to(b"peek", a_addr.to_string()).await.unwrap();
            let d = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            d.send_to(b"x", c.local_addr().unwrap()).await.unwrap();
            let (len, from) = c.peek_from(&mut buf).await.unwrap();
            assert_eq!((&buf[..len], from), (&b"x"[..], d.local_addr().unwrap()));
            let (len, _) = c.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..len], b"x");
        });
    });
}

#[test]
fn udp_sender_and_receiver_tasks_share_a_socket() {
    // One task blocks in recv_from while another sends on the same socket: read and write
    // readiness have separate waker slots.
    each_procs(Duration::from_secs(20), |n| {
        let rt = rt(n);
        rt.block_on(async {
            let sock = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
            let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let peer_addr = peer.local_addr().unwrap();
            let rx = sock.clone();
            let receiver = goro::spawn(async move {
                let mut buf = [0; 8];
                let mut sum = 0u64;
                for _ in 0..200 {
                    let (len, _) = rx.recv_from(&mut buf).await.unwrap();
                    sum += u64::from(buf[..len][0]);
                }
                sum
            });
            let reflector = goro::spawn(async move {
                let mut buf = [0; 8];
                for _ in 0..200 {
                    let (len, from) = peer.recv_from(&mut buf).await.unwrap();
                    peer.send_to(&buf[..len], from).await.unwrap();
                }
            });
            for i in 0..200u32 {
                sock.send_to(&[(i % 7) as u8], peer_addr).await.unwrap();
                if i % 20 == 0 {
                    goro::time::sleep(Duration::from_millis(1)).await;
                }
            }
            reflector.await.unwrap();
            let want: u64 = (0..200u64).map(|i| i % 7).sum();
            assert_eq!(receiver.await.unwrap(), want);
        });
    });
}

#[test]
fn udp_from_std() {
    each_procs(Duration::from_secs(20), |n| {
        let rt = rt(n);
        rt.block_on(async {
            let std_sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            let addr = std_sock.local_addr().unwrap();
            let sock = UdpSocket::from_std(std_sock).unwrap();
            assert_eq!(sock.local_addr().unwrap(), addr);
            let other = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            other.send_to(b"hey", addr).unwrap();
            let mut buf = [0; 8];
            let (len, from) = sock.recv_from(&mut buf).await.unwrap();
            assert_eq!(
                (&buf[..len], from),
                (&b"hey"[..], other.local_addr().unwrap())
            );
        });
    });
}
