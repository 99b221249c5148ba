//! `goro-bench`: goro-benches' suites (sched, timers, echo) in quick mode, goro vs tokio
//! side by side.
//!
//! `cargo run --release -p goro-tools --bin goro-bench -- [--suite sched,timers,echo] [--procs 1,2] [--filter S] [--iters N] [--json]`
//! See `goro_tools::quick` for how figures are taken.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

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
    let report = quick::run(&opts, |what| {
        if progress {
            eprint!("\rgoro-bench: running {what:<50}");
            let _ = std::io::stderr().flush();
        }
    });
    if progress {
        eprint!("\r{:<80}\r", "");
    }

    if opts.json {
        println!("{}", quick::render_json(&report));
    } else {
        print!("{}", quick::render_table(&report));
    }

    if report.any_failed() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
