//! Durations in configuration files (feature `serde`): the one form every tenure
//! adapter's file format uses, a whole number and a unit (`250ms`, `10s`, `5m`,
//! `1h`). Not part of the API: the adapters' `serde` features use it so that
//! their files agree.

use std::{fmt, time::Duration};

use serde::{Deserialize, Deserializer, de};

/// A duration read from text such as `"10s"`.
#[doc(hidden)]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DurationText(pub Duration);

impl fmt::Debug for DurationText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse(&text)
            .map(DurationText)
            .map_err(|why| de::Error::custom(format_args!("invalid duration {text:?}: {why}")))
    }
}

/// What is wrong with a duration's text, for an error message.
const MALFORMED: &str = "write a whole number and a unit (ms, s, m or h), as in \"10s\"";
/// A whole number and a unit whose duration does not fit.
const TOO_LARGE: &str = "the number is too large for a duration";

/// `250ms`, `10s`, `5m`, `1h` (spaces around the unit allowed); else why not
/// ([`MALFORMED`], or [`TOO_LARGE`] for a duration that overflows).
pub(crate) fn parse(text: &str) -> Result<Duration, &'static str> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or(MALFORMED)?;
    let (number, unit) = text.split_at(split);
    let (per_unit, of): (u64, fn(u64) -> Duration) = match unit.trim() {
        _ if number.is_empty() => return Err(MALFORMED),
        "ms" => (1, Duration::from_millis),
        "s" => (1, Duration::from_secs),
        "m" => (60, Duration::from_secs),
        "h" => (3600, Duration::from_secs),
        _ => return Err(MALFORMED),
    };
    let n: u64 = number.parse().map_err(|_| TOO_LARGE)?;
    n.checked_mul(per_unit).map(of).ok_or(TOO_LARGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse("5 m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse("1h"), Ok(Duration::from_secs(3600)));
        for bad in ["", "10", "s", "1.5s", "-1s", "10d", "+1s", "99999999999999999999"] {
            assert_eq!(parse(bad), Err(MALFORMED), "{bad}");
        }
        for too_large in [
            "99999999999999999999s",
            "18446744073709551616ms",
            "18446744073709551615h",
            "307445734561825861m",
        ] {
            assert_eq!(parse(too_large), Err(TOO_LARGE), "{too_large}");
        }
    }
}
