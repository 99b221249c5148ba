//! `GORO_PROCS`. Environment variables are process-wide, so every case runs in one test
//! function of this test binary (its own process), one after another.

mod common;

use std::io;

use goro::{Builder, Runtime};

mod bad_env_main {
    #[goro::main]
    pub async fn main() {}
}

fn build_err(what: &str, r: io::Result<Runtime>) -> io::Error {
    match r {
        Ok(_) => panic!("{what}: built a runtime"),
        Err(e) => e,
    }
}

#[test]
fn goro_procs_env_var() {
    common::within(std::time::Duration::from_secs(10), || {
        for bad in ["0", "abc", "-1", "2x"] {
            std::env::set_var("GORO_PROCS", bad);
            for (how, r) in [
                ("Runtime::new()", Runtime::new()),
                ("Builder::new().build()", Builder::new().build()),
            ] {
                let e = build_err(&format!("GORO_PROCS={bad} {how}"), r);
                assert_eq!(
                    e.kind(),
                    io::ErrorKind::InvalidInput,
                    "GORO_PROCS={bad}: {e}"
                );
                let msg = e.to_string();
                assert!(
                    msg.contains(bad),
                    "GORO_PROCS={bad}: the error should name the value: {msg:?}"
                );
                assert!(
                    msg.contains("GORO_PROCS"),
                    "GORO_PROCS={bad}: the error should name the variable: {msg:?}"
                );
            }
            // #[goro::main] reports the builder's error when it panics.
            let msg = common::expect_panic(bad_env_main::main);
            assert!(
                msg.contains("goro: cannot start the runtime") && msg.contains(bad),
                "#[goro::main] with GORO_PROCS={bad}: {msg:?}"
            );
        }

        // An explicit processors(n) does not consult GORO_PROCS.
        std::env::set_var("GORO_PROCS", "abc");
        let rt = Builder::new()
            .processors(1)
            .build()
            .expect("processors(1) with GORO_PROCS=abc");
        assert_eq!(rt.block_on(rt.spawn(async { 1 })).unwrap(), 1);
        drop(rt);

        // Good values work.
        for good in ["1", "2", "3"] {
            std::env::set_var("GORO_PROCS", good);
            let rt = Runtime::new().unwrap_or_else(|e| panic!("GORO_PROCS={good}: {e}"));
            assert_eq!(
                rt.block_on(async { goro::spawn(async { 2 }).await.unwrap() }),
                2
            );
        }
        std::env::remove_var("GORO_PROCS");
        let rt = Runtime::new().expect("no GORO_PROCS: the number of CPUs");
        assert_eq!(rt.block_on(async { 3 }), 3);
    });
}
