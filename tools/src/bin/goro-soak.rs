//! `goro-soak --seconds N --processors P`: runs goro's soak (see `goro_tools::soak`) and
//! prints its counts and its RSS, live heap and thread series; exits with 1 on any mismatch,
//! 2 on a bad command line.

use goro_tools::soak::heap::CountingAlloc;
use goro_tools::soak::{self, Config};
use std::process::ExitCode;

/// Counts live heap bytes, so that the soak checks the heap exactly (see `soak::heap`).
#[global_allocator]
static HEAP: CountingAlloc = CountingAlloc;

const USAGE: &str = "usage: goro-soak --seconds N --processors P  (N >= 1, P >= 1)";

fn main() -> ExitCode {
    let config = match parse(std::env::args().skip(1)) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("goro-soak: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match soak::run(config) {
        Ok(report) => {
            print!("{report}");
            if report.problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("goro-soak: cannot run: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Parses `--seconds N --processors P` (both required, in any order).
fn parse(mut args: impl Iterator<Item = String>) -> Result<Config, String> {
    let (mut seconds, mut processors) = (None, None);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = value
            .parse::<u64>()
            .ok()
            .filter(|&n| n >= 1)
            .ok_or_else(|| format!("{flag} {value:?}: expected a whole number, at least 1"))?;
        match flag.as_str() {
            "--seconds" => seconds = Some(number),
            "--processors" => processors = Some(number),
            _ => return Err(format!("unknown argument {flag:?}")),
        }
    }
    Ok(Config {
        seconds: seconds.ok_or("--seconds is required")?,
        processors: usize::try_from(processors.ok_or("--processors is required")?)
            .map_err(|_| "--processors is too large".to_string())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> impl Iterator<Item = String> + '_ {
        line.split_whitespace().map(String::from)
    }

    #[test]
    fn parses_both_flags_and_rejects_bad_input() {
        let config = parse(args("--processors 2 --seconds 60")).unwrap();
        assert_eq!(
            config,
            Config {
                seconds: 60,
                processors: 2
            }
        );
        for (bad, says) in [
            ("--seconds 60", "--processors is required"),
            ("--seconds 0 --processors 1", "at least 1"),
            ("--seconds x --processors 1", "\"x\""),
            ("--seconds 5 --processors", "needs a value"),
            ("--minutes 5 --processors 1", "unknown argument"),
        ] {
            let err = parse(args(bad)).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
