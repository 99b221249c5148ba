//! Feature `tokio-io`: tokio's `AsyncRead`/`AsyncWrite` on goro's streams, their halves and
//! files, so tokio-util codecs work on them unchanged.

#[path = "../../tests/common/mod.rs"]
mod common;

use common::{each_procs, rt};
use futures_util::{SinkExt, StreamExt};
use goro::net::{TcpListener, TcpStream, UnixStream};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio_util::codec::{Framed, FramedRead, FramedWrite, LinesCodec};

const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn framed_lines_codec_round_trip_over_tcp() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            // An upper-casing line server.
            let server = goro::spawn(async move {
                let (stream, _) = listener.accept().await.unwrap();
                let mut lines = Framed::new(stream, LinesCodec::new());
                while let Some(line) = lines.next().await {
                    lines.send(line.unwrap().to_uppercase()).await.unwrap();
                }
            });
            let stream = TcpStream::connect(addr).await.unwrap();
            let mut client = Framed::new(stream, LinesCodec::new());
            for i in 0..500 {
                client.send(format!("line {i}")).await.unwrap();
                let reply = client.next().await.unwrap().unwrap();
                assert_eq!(reply, format!("LINE {i}"));
            }
            // A long line, many reads long.
            let long = "x".repeat(300_000);
            client.send(long.clone()).await.unwrap();
            assert_eq!(client.next().await.unwrap().unwrap(), long.to_uppercase());
            drop(client);
            server.await.unwrap();
        });
    });
}

#[test]
fn owned_halves_of_tcp_and_unix_streams() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let (client, server) = common::tcp_pair().await;
            let (rd, _wr) = server.into_split();
            let (_crd, cwr) = client.into_split();
            let mut sink = FramedWrite::new(cwr, LinesCodec::new());
            let mut source = FramedRead::new(rd, LinesCodec::new());
            sink.send("over the halves").await.unwrap();
            assert_eq!(source.next().await.unwrap().unwrap(), "over the halves");

            // The Unix stream and both its halves, through tokio-util's codecs only: they
            // call tokio's `AsyncRead`/`AsyncWrite` and nothing else (goro's inherent
            // `read`/`write_all` of the same names would shadow tokio's extension methods).
            let (a, b) = UnixStream::pair().unwrap();
            let (ard, awr) = a.into_split();
            let mut to_b = FramedWrite::new(awr, LinesCodec::new());
            let mut b = Framed::new(b, LinesCodec::new());
            let mut from_b = FramedRead::new(ard, LinesCodec::new());
            to_b.send("ping").await.unwrap();
            assert_eq!(b.next().await.unwrap().unwrap(), "ping");
            b.send("pong").await.unwrap();
            assert_eq!(from_b.next().await.unwrap().unwrap(), "pong");
            // tokio's `shutdown` on the stream: its peer's read half sees the end.
            AsyncWriteExt::shutdown(b.get_mut()).await.unwrap();
            assert!(from_b.next().await.is_none());
            // And on the write half: the stream sees the end.
            AsyncWriteExt::shutdown(to_b.get_mut()).await.unwrap();
            assert!(b.next().await.is_none());
        });
    });
}

#[test]
fn files_through_tokio_traits() {
    rt(1).block_on(async {
        let path = std::env::temp_dir().join(format!("goro-tokio-io-{}", std::process::id()));
        let mut file = goro::fs::File::create(&path).await.unwrap();
        file.write_all(b"hello tokio traits").await.unwrap();
        file.flush().await.unwrap();
        let mut file = goro::fs::File::open(&path).await.unwrap();
        assert_eq!(file.seek(std::io::SeekFrom::Start(6)).await.unwrap(), 6);
        let mut rest = String::new();
        file.read_to_string(&mut rest).await.unwrap();
        assert_eq!(rest, "tokio traits");
        goro::fs::remove_file(&path).await.unwrap();
    });
}

/// tokio's borrowed `split`: `tokio::io::copy` from one half of a stream to the other (an
/// echo server in one line), over TCP and Unix streams.
#[test]
fn borrowed_split_halves_echo_with_tokio_copy() {
    each_procs(LIMIT, |n| {
        rt(n).block_on(async {
            let (mut client, mut server) = common::tcp_pair().await;
            let echo = goro::spawn(async move {
                let (mut rd, mut wr): (
                    goro::net::tcp::ReadHalf<'_>,
                    goro::net::tcp::WriteHalf<'_>,
                ) = server.split();
                tokio::io::copy(&mut rd, &mut wr).await.unwrap()
            });
            AsyncWriteExt::write_all(&mut client, b"echo over tcp")
                .await
                .unwrap();
            AsyncWriteExt::shutdown(&mut client).await.unwrap();
            let mut back = Vec::new();
            AsyncReadExt::read_to_end(&mut client, &mut back)
                .await
                .unwrap();
            assert_eq!(back, b"echo over tcp");
            assert_eq!(echo.await.unwrap(), 13);

            let (mut a, mut b) = UnixStream::pair().unwrap();
            let echo = goro::spawn(async move {
                let (mut rd, mut wr) = b.split();
                tokio::io::copy(&mut rd, &mut wr).await.unwrap()
            });
            AsyncWriteExt::write_all(&mut a, b"echo over unix")
                .await
                .unwrap();
            AsyncWriteExt::shutdown(&mut a).await.unwrap();
            let mut back = Vec::new();
            AsyncReadExt::read_to_end(&mut a, &mut back).await.unwrap();
            assert_eq!(back, b"echo over unix");
            assert_eq!(echo.await.unwrap(), 14);
        });
    });
}
