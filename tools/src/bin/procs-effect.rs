//! `procs-effect`: runs a server at each processor count, measures what each request costs
//! and explains why one processor can serve more; see `goro_tools::procs_effect`.
//!
//! ```text
//! cargo build --release -p goro-tools
//! target/release/procs-effect --against tokio [--workload http|echo|json] [--procs 1,2] [--quick]
//! ```

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use goro_tools::procs_effect::{self, args, render};

fn main() -> ExitCode {
    let cores = goro_tools::quick::available_cores();
    let opts = match args::parse_args(std::env::args().skip(1), cores) {
        Ok(args::Command::Run(o)) => o,
        Ok(args::Command::Help) => {
            println!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("procs-effect: {e}\n(run `procs-effect --help` for usage)");
            return ExitCode::from(2);
        }
    };
    if cfg!(debug_assertions) {
        eprintln!("procs-effect: warning: debug build; use --release for measurements");
    }
    let tty = std::io::stderr().is_terminal();
    let experiment = procs_effect::run(&opts, |what| {
        if tty {
            eprint!("\rprocs-effect: {what:<60}");
            let _ = std::io::stderr().flush();
        }
    });
    if tty {
        eprint!("\r{:<80}\r", "");
    }
    let experiment = match experiment {
        Ok(e) => e,
        Err(e) => {
            eprintln!("procs-effect: {e}");
            return ExitCode::FAILURE;
        }
    };
    print!("{}", render::table(&experiment));
    match render::write_outputs(&experiment, &opts.out) {
        Ok(files) => {
            let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
            println!("\nwrote {}", names.join(", "));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("procs-effect: writing to {}: {e}", opts.out.display());
            ExitCode::FAILURE
        }
    }
}
