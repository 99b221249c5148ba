//! How reports serialize durations: as **floating-point seconds** (`0.000035` for 35 µs).
//!
//! serde's own representation of a `Duration` is `{"secs": 0, "nanos": 35000}`, which every
//! consumer has to put back together. Seconds as a float are what Prometheus uses too, so a
//! JSON report and a scrape of the same runtime show the same numbers; an `f64` holds
//! nanosecond precision for durations up to about 104 days. Every `Duration` field of the
//! report types goes through these functions.

use serde::ser::SerializeSeq;
use serde::Serializer;
use std::time::Duration;

pub(crate) fn secs<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

pub(crate) fn opt_secs<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_f64(d.as_secs_f64()),
        None => s.serialize_none(),
    }
}

pub(crate) fn vec_secs<S: Serializer>(ds: &[Duration], s: S) -> Result<S::Ok, S::Error> {
    let mut seq = s.serialize_seq(Some(ds.len()))?;
    for d in ds {
        seq.serialize_element(&d.as_secs_f64())?;
    }
    seq.end()
}

#[cfg(test)]
mod tests {
    use serde::Serialize;
    use std::time::Duration;

    #[derive(Serialize)]
    struct T {
        #[serde(serialize_with = "super::secs")]
        a: Duration,
        #[serde(serialize_with = "super::opt_secs")]
        b: Option<Duration>,
        #[serde(serialize_with = "super::opt_secs")]
        c: Option<Duration>,
        #[serde(serialize_with = "super::vec_secs")]
        d: Vec<Duration>,
    }

    #[test]
    fn durations_are_seconds() {
        let t = T {
            a: Duration::from_micros(35),
            b: Some(Duration::from_millis(1500)),
            c: None,
            d: vec![Duration::from_secs(2), Duration::from_nanos(1)],
        };
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#"{"a":0.000035,"b":1.5,"c":null,"d":[2.0,1e-9]}"#
        );
    }
}
