//! Durations for people: `41s`, `120ms`, `35µs`, `2m5s`, `1h3m`.
//!
//! Two significant digits under 10 of a unit (`1.5s`, `2.4ms`), whole units above, and the
//! unit chosen after rounding, so 999.7 µs prints `1ms`, not `1000µs`. The alternate form
//! (`{:#}`) puts a space before a single unit, as the dumps' brackets do: `41 s`, `120 ms`.

use std::fmt;
use std::time::Duration;

/// Displays a duration humanly, see the module docs.
///
/// ```
/// use goro_stats::HumanDuration;
/// use std::time::Duration;
/// assert_eq!(HumanDuration(Duration::from_secs(41)).to_string(), "41s");
/// assert_eq!(HumanDuration(Duration::from_micros(35)).to_string(), "35µs");
/// assert_eq!(HumanDuration(Duration::from_secs(125)).to_string(), "2m5s");
/// assert_eq!(format!("{:#}", HumanDuration(Duration::from_secs(41))), "41 s");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = self.0.as_nanos();
        let gap = if f.alternate() { " " } else { "" };
        if nanos == 0 {
            return write!(f, "0{gap}s");
        }
        let (unit, name) = match nanos {
            0..=999 => return write!(f, "{nanos}{gap}ns"),
            1_000..=999_499 => (1e3, "µs"),
            999_500..=999_499_999 => (1e6, "ms"),
            999_500_000..=59_499_999_999 => (1e9, "s"),
            _ => {
                let secs = (nanos + 500_000_000) / 1_000_000_000;
                return if secs < 3_600 {
                    write!(f, "{}m{}s", secs / 60, secs % 60)
                } else {
                    let mins = (secs + 30) / 60;
                    write!(f, "{}h{}m", mins / 60, mins % 60)
                };
            }
        };
        let v = nanos as f64 / unit;
        if v >= 9.95 {
            write!(f, "{v:.0}{gap}{name}")
        } else {
            let s = format!("{v:.1}");
            write!(f, "{}{gap}{name}", s.strip_suffix(".0").unwrap_or(&s))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(d: Duration) -> String {
        HumanDuration(d).to_string()
    }

    #[test]
    fn units_and_rounding() {
        assert_eq!(h(Duration::ZERO), "0s");
        assert_eq!(h(Duration::from_nanos(7)), "7ns");
        assert_eq!(h(Duration::from_nanos(999)), "999ns");
        assert_eq!(h(Duration::from_nanos(1_000)), "1µs");
        assert_eq!(h(Duration::from_nanos(1_540)), "1.5µs");
        assert_eq!(h(Duration::from_micros(35)), "35µs");
        assert_eq!(h(Duration::from_nanos(999_700)), "1ms");
        assert_eq!(h(Duration::from_micros(2_350)), "2.4ms");
        assert_eq!(h(Duration::from_millis(120)), "120ms");
        assert_eq!(h(Duration::from_millis(1_500)), "1.5s");
        assert_eq!(h(Duration::from_millis(41_234)), "41s");
        assert_eq!(h(Duration::from_secs(60)), "1m0s");
        assert_eq!(h(Duration::from_secs(125)), "2m5s");
        assert_eq!(h(Duration::from_secs(3_600 + 3 * 60 + 10)), "1h3m");
        assert_eq!(h(Duration::from_secs(50 * 3_600)), "50h0m");
    }

    #[test]
    fn the_alternate_form_spaces_a_single_unit() {
        let spaced = |d| format!("{:#}", HumanDuration(d));
        assert_eq!(spaced(Duration::ZERO), "0 s");
        assert_eq!(spaced(Duration::from_nanos(7)), "7 ns");
        assert_eq!(spaced(Duration::from_micros(2_350)), "2.4 ms");
        assert_eq!(spaced(Duration::from_millis(41_234)), "41 s");
        assert_eq!(spaced(Duration::from_secs(125)), "2m5s");
    }
}
