//! Standard input to standard output, upper-cased, line by line, through goro's
//! `io::{stdin, stdout}` (on the blocking pool) and tokio-util's `LinesCodec` (feature
//! `tokio-io`).
//!
//! ```sh
//! printf 'hello\ngoro\n' | cargo run -p goro-ecosystem --example stdio-upper
//! ```

use futures_util::{SinkExt, StreamExt};
use tokio_util::codec::{FramedRead, FramedWrite, LinesCodec};

#[goro::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut lines = FramedRead::new(goro::io::stdin(), LinesCodec::new());
    let mut out = FramedWrite::new(goro::io::stdout(), LinesCodec::new());
    while let Some(line) = lines.next().await {
        out.send(line?.to_uppercase()).await?;
    }
    // `close` flushes: the last write has reached stdout when it returns.
    SinkExt::<String>::close(&mut out).await?;
    Ok(())
}
