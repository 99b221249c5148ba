//! The command line of `procs-effect`.

use std::path::PathBuf;

use crate::cli::Args;

use super::{Side, Workload};

/// Most processors one may ask for.
pub const MAX_PROCS: usize = 64;

/// Usage text for `--help` and flag errors.
pub const USAGE: &str = "\
usage: procs-effect [--workload http|echo|json] [--procs 1,2,..] [--against tokio|go]
                    [--quick] [--out DIR]

Runs a server at each processor count (goro: GORO_PROCS=n) in a child process, drives it with
goro-loadgen pinned to CPU 0 (closed loop for maximum throughput, then open loop at 50% and
80% of the smallest maximum for p50/p99), measures per request the server's CPU time (user,
system), context switches and goro's own counters, and explains which costs grew with the
processor count.

options:
  --workload W   http: HTTP/1.1 keep-alive hello (default); json: a small JSON handler with
                 some CPU per request; echo: TCP echo of 64-byte messages
  --procs LIST   processor counts, e.g. 1,2,4 (default 1 up to the number of CPUs)
  --against R    also run tokio (current_thread at 1, multi_thread(n) above) or Go net/http
                 (needs `go` on the PATH; skipped with a message otherwise)
  --quick        short runs (the whole experiment in well under a minute)
  --out DIR      where procs-effect.json, throughput.svg and costs.svg go
                 (default target/procs-effect)
  -h, --help     print this help";

/// What to run.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// What the server does per request.
    pub workload: Workload,
    /// Processor counts to measure.
    pub procs: Vec<usize>,
    /// The runtime compared with goro, if any.
    pub against: Option<Side>,
    /// Shorter runs.
    pub quick: bool,
    /// Where the JSON and the charts go.
    pub out: PathBuf,
}

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Run the experiment.
    Run(Options),
    /// Print the usage.
    Help,
}

/// Parses the arguments (without the program name); `cores` sets the default `--procs`.
pub fn parse_args<I: IntoIterator<Item = String>>(
    args: I,
    cores: usize,
) -> Result<Command, String> {
    let mut args = Args::new(args);
    let mut opts = Options {
        workload: Workload::Http,
        procs: (1..=cores.max(1)).collect(),
        against: None,
        quick: false,
        out: PathBuf::from("target/procs-effect"),
    };
    while let Some(flag) = args.next_flag() {
        match flag.name.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--workload" => {
                let w = args.value(&flag)?;
                opts.workload = Workload::ALL
                    .into_iter()
                    .find(|x| x.name() == w)
                    .ok_or_else(|| format!("--workload expects http, echo or json, got `{w}`"))?;
            }
            "--procs" => opts.procs = parse_procs(&args.value(&flag)?)?,
            "--against" => {
                opts.against = Some(match args.value(&flag)?.as_str() {
                    "tokio" => Side::Tokio,
                    "go" => Side::Go,
                    other => return Err(format!("--against expects tokio or go, got `{other}`")),
                })
            }
            "--quick" => opts.quick = args.no_value(&flag).map(|_| true)?,
            "--out" => opts.out = PathBuf::from(args.value(&flag)?),
            f if f.starts_with('-') => return Err(format!("unknown flag `{f}`")),
            other => return Err(format!("unexpected argument `{other}`")),
        }
    }
    Ok(Command::Run(opts))
}

fn parse_procs(s: &str) -> Result<Vec<usize>, String> {
    let mut procs = Vec::new();
    for part in s.split(',') {
        let n = crate::cli::number("--procs", part, 1, MAX_PROCS)?;
        if !procs.contains(&n) {
            procs.push(n);
        }
    }
    procs.sort_unstable();
    Ok(procs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Command, String> {
        parse_args(line.split_whitespace().map(String::from), 2)
    }

    fn opts(line: &str) -> Options {
        match parse(line) {
            Ok(Command::Run(o)) => o,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn defaults_and_flags() {
        let o = opts("");
        assert_eq!(o.workload, Workload::Http);
        assert_eq!(o.procs, vec![1, 2], "1 up to the cores");
        assert_eq!((o.against, o.quick), (None, false));
        assert_eq!(o.out, PathBuf::from("target/procs-effect"));
        let o = opts("--workload json --procs 4,1,2,2 --against tokio --quick --out /tmp/x");
        assert_eq!(o.workload, Workload::Json);
        assert_eq!(o.procs, vec![1, 2, 4]);
        assert_eq!(o.against, Some(Side::Tokio));
        assert!(o.quick);
        assert_eq!(o.out, PathBuf::from("/tmp/x"));
        assert_eq!(opts("--against=go --workload=echo").against, Some(Side::Go));
        assert_eq!(parse("-h"), Ok(Command::Help));
    }

    #[test]
    fn bad_flags_say_why() {
        for (line, says) in [
            ("--workload grpc", "http, echo or json"),
            ("--procs 0", "--procs must be between 1 and 64"),
            ("--procs 1,x", "expects a number"),
            ("--against node", "tokio or go"),
            ("--quick=1", "takes no value"),
            ("--out", "needs a value"),
            ("--bogus", "unknown flag"),
        ] {
            let e = parse(line).unwrap_err();
            assert!(e.contains(says), "{line}: {e}");
        }
    }
}
