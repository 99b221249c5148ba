//! `goro-loadgen`: HTTP/1.1 keep-alive load, open loop at a fixed rate with coordinated
//! omission corrected, or closed loop; see `goro_tools::loadgen` and `--help`.
//!
//! ```text
//! taskset -c 0 goro-loadgen --url http://127.0.0.1:8080/ --connections 64 --rate 20000 \
//!     --duration 4 --warmup 1 --json
//! ```

use std::process::ExitCode;

use goro_tools::loadgen::{self, args};

fn main() -> ExitCode {
    let (config, json) = match args::parse_args(std::env::args().skip(1)) {
        Ok(args::Command::Run { config, json }) => (config, json),
        Ok(args::Command::Help) => {
            println!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("goro-loadgen: {e}\n(run `goro-loadgen --help` for usage)");
            return ExitCode::from(2);
        }
    };
    if cfg!(debug_assertions) {
        eprintln!("goro-loadgen: warning: debug build; use --release for measurements");
    }
    let report = match loadgen::run(&config) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("goro-loadgen: {e}");
            return ExitCode::FAILURE;
        }
    };
    if json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_table());
    }
    if report.requests == 0 {
        eprintln!(
            "goro-loadgen: no request completed ({} errors): is the server at {} up?",
            report.errors, config.target.addr
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
