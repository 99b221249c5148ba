//! `goro-bench`: goro-benches' suites (sched, timers, echo) in quick mode, goro vs tokio
//! side by side, the latency suite (`--suite latency`, see `goro_tools::latency`) and the
//! hyper suite (`--suite hyper`, see `goro_tools::hyper_suite`).
//!
//! `cargo run --release -p goro-tools --bin goro-bench -- [--suite sched,timers,echo] [--procs 1,2] [--filter S] [--iters N] [--json]`
//! See `goro_tools::quick` for how figures are taken.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use goro_tools::quick::{self, Command, Suite, USAGE};
use goro_tools::{hyper_suite, latency};

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
        failed |= !report_suite(
            "latency",
            latency::run(lat, &show),
            &clear,
            opts.json,
            |r| (latency::render::json(r), latency::render::table(r)),
            |r| {
                r.rows
                    .iter()
                    .flat_map(|r| &r.cells)
                    .any(|c| !c.failures.is_empty())
            },
        );
    }
    if let Some(h) = &opts.hyper {
        failed |= !report_suite(
            "hyper",
            hyper_suite::run(h, &show),
            &clear,
            opts.json,
            |r| (hyper_suite::render::json(r), hyper_suite::render::table(r)),
            |r| {
                r.rows
                    .iter()
                    .flat_map(|r| &r.cells)
                    .any(|c| !c.failures.is_empty())
            },
        );
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Prints the report of a suite whose servers run in child processes (JSON or table, after
/// clearing the progress line); false if it failed or any of its runs did.
fn report_suite<R>(
    name: &str,
    report: std::io::Result<R>,
    clear: &dyn Fn(),
    json: bool,
    render: impl Fn(&R) -> (String, String),
    any_failed: impl Fn(&R) -> bool,
) -> bool {
    clear();
    match report {
        Ok(report) => {
            let (as_json, as_table) = render(&report);
            if json {
                println!("{as_json}");
            } else {
                print!("{as_table}");
            }
            !any_failed(&report)
        }
        Err(e) => {
            eprintln!("goro-bench: {name} suite: {e}");
            false
        }
    }
}
