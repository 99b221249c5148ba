//! `GORO_SCHEDTRACE`, `GORO_LEAK_THRESHOLD`, `GORO_DEBUG_ADDR` and `GORO_DEBUG_PUBLIC`: malformed values fail `build()` with a message
//! that names the variable and the value and says what is expected; good ones take effect.
//! Environment variables are process-wide, so every case runs in one test function of this
//! test binary (its own process), one after another.

mod common;

use std::io;
use std::time::Duration;

use goro::{Builder, Runtime};

mod bad_env_main {
    #[goro::main]
    pub async fn main() {}
}

/// Sets `var` to each bad value and checks every way of building a runtime fails, naming
/// the variable, the value and `expected`.
fn rejects(var: &str, bad_values: &[&str], expected: &str) {
    for bad in bad_values {
        std::env::set_var(var, bad);
        for (how, r) in [
            ("Runtime::new()", Runtime::new()),
            (
                "Builder::new().build()",
                Builder::new().processors(1).build(),
            ),
        ] {
            let e = r.expect_err(&format!("{var}={bad} {how}: built a runtime"));
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{var}={bad}: {e}");
            let msg = e.to_string();
            assert!(
                msg.contains(var),
                "{var}={bad}: no variable name in {msg:?}"
            );
            assert!(
                msg.contains(&format!("{bad:?}")),
                "{var}={bad}: no value in {msg:?}"
            );
            assert!(msg.contains(expected), "{var}={bad}: {msg:?}");
        }
        let msg = common::expect_panic(bad_env_main::main);
        assert!(
            msg.contains("goro: cannot start the runtime") && msg.contains(var),
            "{var}={bad}: #[goro::main] said {msg:?}"
        );
    }
    std::env::remove_var(var);
}

#[test]
fn stats_env_vars() {
    common::within(Duration::from_secs(20), || {
        rejects(
            "GORO_SCHEDTRACE",
            &["0", "-1", "abc", "1.5", "10ms", ""],
            "a whole number of milliseconds",
        );
        rejects(
            "GORO_DEBUG_ADDR",
            &[
                "",
                "6060",
                "localhost:6060",
                "127.0.0.1",
                "127.0.0.1:99999",
                "http://x",
            ],
            "a socket address ip:port",
        );

        rejects(
            "GORO_LEAK_THRESHOLD",
            &["0", "-5", "30s", "1.5", ""],
            "a whole number of milliseconds",
        );
        // A good one sets the default; the builder's own wins over it.
        std::env::set_var("GORO_LEAK_THRESHOLD", "1500");
        let rt = Builder::new().processors(1).build().unwrap();
        let threshold = rt.handle().leak_report().leak_threshold;
        assert_eq!(threshold, Duration::from_millis(1500));
        drop(rt);
        let rt = Builder::new()
            .processors(1)
            .leak_threshold(Duration::from_secs(7))
            .build()
            .unwrap();
        assert_eq!(
            rt.handle().leak_report().leak_threshold,
            Duration::from_secs(7)
        );
        drop(rt);
        std::env::remove_var("GORO_LEAK_THRESHOLD");

        rejects(
            "GORO_DEBUG_PUBLIC",
            &["", "yes", "public", "metric"],
            "loopback, metrics or all",
        );

        // A bind beyond loopback needs GORO_DEBUG_PUBLIC, and the error says so.
        std::env::set_var("GORO_DEBUG_ADDR", "0.0.0.0:0");
        let err = Builder::new().processors(1).build().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("0.0.0.0:0") && msg.contains("GORO_DEBUG_PUBLIC=metrics"),
            "{msg}"
        );
        std::env::set_var("GORO_DEBUG_PUBLIC", "metrics");
        let rt = Builder::new().processors(1).build().unwrap();
        assert!(rt.debug_addr().unwrap().ip().is_unspecified());
        drop(rt);
        std::env::remove_var("GORO_DEBUG_PUBLIC");

        // A good GORO_DEBUG_ADDR starts the server.
        std::env::set_var("GORO_DEBUG_ADDR", "127.0.0.1:0");
        let rt = Builder::new().processors(1).build().unwrap();
        let addr = rt
            .debug_addr()
            .expect("a debug server from GORO_DEBUG_ADDR");
        assert!(addr.ip().is_loopback() && addr.port() != 0, "{addr}");
        std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .expect("the debug server accepts");
        drop(rt);

        // The builder's address wins over the variable, which is then not even read.
        std::env::set_var("GORO_DEBUG_ADDR", "not an address");
        let rt = Builder::new()
            .processors(1)
            .debug_addr(([127, 0, 0, 1], 0).into())
            .build()
            .unwrap();
        assert!(rt.debug_addr().is_some());
        drop(rt);
        std::env::remove_var("GORO_DEBUG_ADDR");

        // Without the variables: no server, no trace.
        let rt = Builder::new().processors(1).build().unwrap();
        assert_eq!(rt.debug_addr(), None);
        // A good GORO_SCHEDTRACE builds (its output is tested in schedtrace.rs).
        std::env::set_var("GORO_SCHEDTRACE", "1000");
        Builder::new().processors(1).build().unwrap();
        std::env::remove_var("GORO_SCHEDTRACE");
    });
}
