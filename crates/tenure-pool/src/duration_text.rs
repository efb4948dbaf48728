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
        parse(&text).map(DurationText).ok_or_else(|| {
            de::Error::custom(format_args!(
                "invalid duration {text:?}: write a whole number and a unit (ms, s, m or h), as in \"10s\""
            ))
        })
    }
}

/// `250ms`, `10s`, `5m`, `1h` (spaces around the unit allowed); `None` for
/// anything else, or a duration that overflows.
fn parse(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    match unit.trim() {
        "ms" => Some(Duration::from_millis(n)),
        "s" => Some(Duration::from_secs(n)),
        "m" => n.checked_mul(60).map(Duration::from_secs),
        "h" => n.checked_mul(3600).map(Duration::from_secs),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse("5 m"), Some(Duration::from_secs(300)));
        assert_eq!(parse("1h"), Some(Duration::from_secs(3600)));
        for bad in ["", "10", "s", "1.5s", "-1s", "10d", "99999999999999999999s"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
