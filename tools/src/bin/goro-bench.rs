//! `goro-bench`: goro-benches' suites (sched, timers, echo) in quick mode, goro vs tokio
//! side by side, and the latency suite (`--suite latency`, see `goro_tools::latency`).
//!
//! `cargo run --release -p goro-tools --bin goro-bench -- [--suite sched,timers,echo] [--procs 1,2] [--filter S] [--iters N] [--json]`
//! See `goro_tools::quick` for how figures are taken.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use goro_tools::latency;
use goro_tools::quick::{self, Command, Suite, USAGE};

fn main() -> ExitCode {
    let opts = match quick::parse_args(std::env::args().skip(1)) {
        Ok(Command::Run(opts)) => opts,
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::List) => {
            for suite in Suite::ALL {
                for w in suite.workloads() {
                    println!("{w}");
                }
            }
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("goro-bench: {e}\n(run `goro-bench --help` for usage)");
            return ExitCode::from(2);
        }
    };

    if cfg!(debug_assertions) {
        eprintln!("goro-bench: warning: debug build; figures are meaningless (use --release)");
    }

    // A one-line progress indicator, only on a terminal.
    let progress = std::io::stderr().is_terminal();
    let show = |what: &str| {
        if progress {
            eprint!("\rgoro-bench: running {what:<50}");
            let _ = std::io::stderr().flush();
        }
    };
    let clear = || {
        if progress {
            eprint!("\r{:<80}\r", "");
        }
    };

    let mut failed = false;
    if !opts.suites.is_empty() {
        let report = quick::run(&opts, show);
        clear();
        if opts.json {
            println!("{}", quick::render_json(&report));
        } else {
            print!("{}", quick::render_table(&report));
        }
        failed |= report.any_failed();
    }
    if let Some(lat) = &opts.latency {
        match latency::run(lat, show) {
            Ok(report) => {
                clear();
                if opts.json {
                    println!("{}", latency::render::json(&report));
                } else {
                    print!("{}", latency::render::table(&report));
                }
                failed |= report
                    .rows
                    .iter()
                    .flat_map(|r| &r.cells)
                    .any(|c| !c.failures.is_empty());
            }
            Err(e) => {
                clear();
                eprintln!("goro-bench: latency suite: {e}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
