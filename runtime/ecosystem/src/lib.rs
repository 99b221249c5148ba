//! goro with the crates a service moving off tokio brings along: hyper, axum, tokio-util's
//! codecs and reqwest. The crate has no code of its own: its `tests/` check the `hyper`,
//! `tokio-io` and `tokio-compat` features of goro against those crates, and its `examples/`
//! show them in use (`cargo run -p goro-ecosystem --example axum-app`; `tests/examples.rs`
//! runs each of them as a user would). It is a workspace member so that
//! `cargo test --workspace` builds goro with those features and runs them.
