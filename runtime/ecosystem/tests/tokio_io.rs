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
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let client = TcpStream::connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            let (server, _) = listener.accept().await.unwrap();
            let (rd, _wr) = server.into_split();
            let (_crd, cwr) = client.into_split();
            let mut sink = FramedWrite::new(cwr, LinesCodec::new());
            let mut source = FramedRead::new(rd, LinesCodec::new());
            sink.send("over the halves").await.unwrap();
            assert_eq!(source.next().await.unwrap().unwrap(), "over the halves");

            let (a, mut b) = UnixStream::pair().unwrap();
            let (mut ard, mut awr) = a.into_split();
            awr.write_all(b"ping").await.unwrap();
            let mut buf = [0u8; 4];
            b.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"ping");
            b.write_all(b"pong").await.unwrap();
            AsyncWriteExt::shutdown(&mut b).await.unwrap();
            let mut rest = Vec::new();
            ard.read_to_end(&mut rest).await.unwrap();
            assert_eq!(rest, b"pong");
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
