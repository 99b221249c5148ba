//! A line-based chat server: tokio-util's `LinesCodec` framing goro `TcpStream`s (feature
//! `tokio-io`), and a `tokio::sync::broadcast` channel (runtime-agnostic) between the
//! connection tasks.
//!
//! ```sh
//! cargo run --release -p goro-ecosystem --example chat      # listens on 127.0.0.1:6142
//! nc 127.0.0.1 6142      # in two terminals; type lines
//! ```

use futures_util::{SinkExt, StreamExt};
use goro::net::TcpListener;
use tokio::sync::broadcast;
use tokio_util::codec::{FramedRead, FramedWrite, LinesCodec};

/// The longest line a client may send (bounds each connection's buffer).
const MAX_LINE: usize = 4096;

#[goro::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:6142".into());
    let listener = TcpListener::bind(&addr).await?;
    println!("chat on {}", listener.local_addr()?);
    let (tx, _) = broadcast::channel::<(std::net::SocketAddr, String)>(256);
    loop {
        let (stream, peer) = listener.accept().await?;
        let tx = tx.clone();
        let mut rx = tx.subscribe();
        goro::task::Builder::new()
            .name("chat client")
            .spawn(async move {
                let (rd, wr) = stream.into_split();
                let mut lines = FramedRead::new(rd, LinesCodec::new_with_max_length(MAX_LINE));
                let mut out = FramedWrite::new(wr, LinesCodec::new());
                let _ = out.send(format!("welcome, {peer}")).await;
                let _ = tx.send((peer, "joined".into()));
                loop {
                    tokio::select! {
                        line = lines.next() => match line {
                            Some(Ok(line)) => { let _ = tx.send((peer, line)); }
                            _ => break, // closed, or a line over MAX_LINE
                        },
                        msg = rx.recv() => match msg {
                            Ok((from, text)) if from != peer => {
                                if out.send(format!("{from}: {text}")).await.is_err() {
                                    break;
                                }
                            }
                            Ok(_) => {}
                            Err(broadcast::error::RecvError::Lagged(_)) => {}
                            Err(broadcast::error::RecvError::Closed) => break,
                        },
                    }
                }
                let _ = tx.send((peer, "left".into()));
            })?;
    }
}
