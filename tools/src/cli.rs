//! Command-line reading shared by the tools: flags as `--flag value` or `--flag=value`, and
//! numbers checked against a range, each error one line naming the flag.

use std::fmt::Display;
use std::str::FromStr;

/// One flag as it appeared: its name and the value written after `=`, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flag {
    /// `--rate`, `-h`, or a bare argument.
    pub name: String,
    /// `v` of `--flag=v`.
    pub inline: Option<String>,
}

/// The arguments of a command line, read flag by flag.
///
/// ```
/// use goro_tools::cli::Args;
/// let mut args = Args::new(["--rate=5", "--json"].map(String::from));
/// let rate = args.next_flag().unwrap();
/// assert_eq!(rate.name, "--rate");
/// assert_eq!(args.value(&rate).unwrap(), "5");
/// assert_eq!(args.next_flag().unwrap().name, "--json");
/// ```
pub struct Args<I> {
    rest: I,
}

impl<I: Iterator<Item = String>> Args<I> {
    /// Reads `args` (without the program name).
    pub fn new(args: impl IntoIterator<IntoIter = I>) -> Self {
        Args {
            rest: args.into_iter(),
        }
    }

    /// The next flag, `None` at the end.
    pub fn next_flag(&mut self) -> Option<Flag> {
        let arg = self.rest.next()?;
        Some(match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => Flag {
                name: f.to_string(),
                inline: Some(v.to_string()),
            },
            _ => Flag {
                name: arg,
                inline: None,
            },
        })
    }

    /// The value of `flag`: after its `=`, else the next argument.
    pub fn value(&mut self, flag: &Flag) -> Result<String, String> {
        match flag.inline.clone().or_else(|| self.rest.next()) {
            Some(v) => Ok(v),
            None => Err(format!("{} needs a value", flag.name)),
        }
    }

    /// The value of `flag` as a number in `min..=max`.
    pub fn number<T>(&mut self, flag: &Flag, min: T, max: T) -> Result<T, String>
    where
        T: FromStr + PartialOrd + Display + Copy,
    {
        number(&flag.name, &self.value(flag)?, min, max)
    }

    /// Fails if `flag` was written with a value (`--json=1`).
    pub fn no_value(&self, flag: &Flag) -> Result<(), String> {
        match flag.inline {
            Some(_) => Err(format!("{} takes no value", flag.name)),
            None => Ok(()),
        }
    }
}

/// `s` as a number in `min..=max`, or an error naming `flag`.
pub fn number<T>(flag: &str, s: &str, min: T, max: T) -> Result<T, String>
where
    T: FromStr + PartialOrd + Display + Copy,
{
    match s.trim().parse::<T>() {
        Ok(n) if n >= min && n <= max => Ok(n),
        Ok(_) => Err(format!("{flag} must be between {min} and {max}, got `{s}`")),
        Err(_) => Err(format!("{flag} expects a number, got `{s}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_range() {
        assert_eq!(number("--n", "5", 1, 10), Ok(5));
        assert!(number("--n", "0", 1, 10)
            .unwrap_err()
            .contains("between 1 and 10"));
        assert!(number::<u32>("--n", "x", 1, 10)
            .unwrap_err()
            .contains("expects a number"));
        assert_eq!(number("--f", "2.5", 0.0, 3.0), Ok(2.5));
        assert!(number("--f", "NaN", 0.0, 3.0).is_err());
    }

    #[test]
    fn missing_and_unwanted_values() {
        let mut a = Args::new(["--rate".to_string()]);
        let f = a.next_flag().unwrap();
        assert_eq!(a.value(&f).unwrap_err(), "--rate needs a value");
        let a = Args::new(["--json=yes".to_string()]);
        let mut a = a;
        let f = a.next_flag().unwrap();
        assert_eq!(a.no_value(&f).unwrap_err(), "--json takes no value");
    }
}
