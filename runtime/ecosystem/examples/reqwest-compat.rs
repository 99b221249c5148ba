//! reqwest (no TLS here) inside goro tasks, through `Builder::tokio_compat(true)`: reqwest
//! drives its connections with tokio's runtime, which the compat flag provides on every
//! goro thread.
//!
//! ```sh
//! cargo run --release -p goro-ecosystem --example reqwest-compat -- http://127.0.0.1:3000/hello/reqwest
//! ```

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:3000/".into());
    let rt = goro::Runtime::builder().tokio_compat(true).build()?;
    rt.block_on(async move {
        // A goro task, like any request handler of a service.
        let fetch = goro::spawn(async move {
            let resp = reqwest::get(&url).await?;
            let status = resp.status();
            let body = resp.text().await?;
            Ok::<_, reqwest::Error>((status, body))
        });
        let (status, body) = fetch.await??;
        println!("{status}\n{body}");
        Ok(())
    })
}
