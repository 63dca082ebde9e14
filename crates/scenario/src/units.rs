//! Durations (`"30ms"`, `"2.5s"`, `"24h"`) and rates (`"10Mbps"`) as written in scenario files.
//!
//! Both are parsed exactly from their decimal text (no floating point), so `"0.1s"` is exactly
//! 100 ms. [`format_duration`] is the inverse used when a scenario is echoed in a report.

use simcore::Duration;

/// What a bad duration message says; shared with the docs and tests.
pub(crate) const DURATION_EXPECTED: &str = "a duration like \"30ms\" or \"2h\"";
/// What a bad rate message says.
pub(crate) const RATE_EXPECTED: &str = "a rate like \"10Mbps\" or \"1Gbps\"";

const DURATION_UNITS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60 * 1_000_000_000),
    ("min", 60 * 1_000_000_000),
    ("h", 3_600 * 1_000_000_000),
    ("d", 86_400 * 1_000_000_000),
];

const RATE_UNITS: &[(&str, u128)] = &[
    ("bps", 1),
    ("kbps", 1_000),
    ("Kbps", 1_000),
    ("Mbps", 1_000_000),
    ("Gbps", 1_000_000_000),
    ("Tbps", 1_000_000_000_000),
];

/// Splits `"2.5ms"` into its decimal number and its unit, then scales exactly.
///
/// Returns `None` for anything that is not `digits[.digits]unit` with a known unit, or whose
/// value does not fit in a `u64` of base units.
fn parse_scaled(text: &str, units: &[(&str, u128)]) -> Option<u64> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let scale = units.iter().find(|(name, _)| *name == unit)?.1;
    let (int, frac) = match number.split_once('.') {
        Some((int, frac)) => (int, frac),
        None => (number, ""),
    };
    if int.is_empty() || frac.contains('.') || (number.contains('.') && frac.is_empty()) {
        return None;
    }
    if int.len() > 20 || frac.len() > 18 {
        return None;
    }
    let int: u128 = int.parse().ok()?;
    let mut total = int.checked_mul(scale)?;
    if !frac.is_empty() {
        let digits: u128 = frac.parse().ok()?;
        let denom = 10u128.checked_pow(u32::try_from(frac.len()).ok()?)?;
        total = total.checked_add(digits.checked_mul(scale)? / denom)?;
    }
    u64::try_from(total).ok()
}

/// Parses a duration such as `"30ms"`, `"2.5s"`, `"3m"`, `"1h"`, `"30d"` (units: ns, us, ms, s,
/// m or min, h, d). A bare `"0"` is zero.
pub fn parse_duration(text: &str) -> Option<Duration> {
    if text == "0" {
        return Some(Duration::ZERO);
    }
    parse_scaled(text, DURATION_UNITS).map(Duration::from_nanos)
}

/// Parses a rate such as `"20Mbps"` or `"1Gbps"` into bits per second (units: bps, kbps, Mbps,
/// Gbps, Tbps).
pub fn parse_rate(text: &str) -> Option<u64> {
    parse_scaled(text, RATE_UNITS)
}

/// Formats a duration the way a scenario file would write it: the largest unit that keeps it
/// exact for whole days (from two days on), hours and minutes (`"24h"`, `"30d"`, `"3m"`), else decimal seconds or
/// milliseconds (`"2.5s"`, `"20ms"`, `"0.5ms"`). [`parse_duration`] reads every output back.
pub fn format_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0ms".to_owned();
    }
    const DAY: u128 = 86_400_000_000_000;
    for (unit, scale) in [("d", DAY), ("h", DAY / 24), ("m", DAY / 1440)] {
        // A day reads better as "24h"; days are for two or more.
        if nanos.checked_rem(scale) == Some(0) && (unit != "d" || nanos >= 2 * DAY) {
            return format!("{}{unit}", nanos / scale);
        }
    }
    let (unit, scale) = if nanos >= 1_000_000_000 {
        ("s", 1_000_000_000u128)
    } else if nanos >= 1_000_000 {
        ("ms", 1_000_000)
    } else if nanos >= 1_000 {
        ("us", 1_000)
    } else {
        ("ns", 1)
    };
    let (whole, rest) = (nanos / scale, nanos % scale);
    if rest == 0 {
        return format!("{whole}{unit}");
    }
    let width = scale.ilog10() as usize;
    let frac = format!("{rest:0width$}");
    format!("{whole}.{}{unit}", frac.trim_end_matches('0'))
}

/// `serialize_with` helper: a duration as its scenario-file text.
pub(crate) fn serialize_duration<S: serde::Serializer>(
    d: &Duration,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_duration(*d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_exactly() {
        assert_eq!(parse_duration("30ms"), Some(Duration::from_millis(30)));
        assert_eq!(parse_duration("2.5s"), Some(Duration::from_millis(2500)));
        assert_eq!(parse_duration("0.1s"), Some(Duration::from_millis(100)));
        assert_eq!(parse_duration("3m"), Some(Duration::from_secs(180)));
        assert_eq!(parse_duration("24h"), Some(Duration::from_secs(86_400)));
        assert_eq!(
            parse_duration("30d"),
            Some(Duration::from_secs(30 * 86_400))
        );
        assert_eq!(parse_duration("0ms"), Some(Duration::ZERO));
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
    }

    #[test]
    fn bad_durations_are_rejected() {
        for bad in [
            "",
            "ms",
            "30",
            "30 ms",
            "-1s",
            "1.s",
            ".5s",
            "1..2s",
            "3x",
            "1e3ms",
            "99999999999d",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn rates_parse() {
        assert_eq!(parse_rate("20Mbps"), Some(20_000_000));
        assert_eq!(parse_rate("1Gbps"), Some(1_000_000_000));
        assert_eq!(parse_rate("2.5kbps"), Some(2_500));
        assert_eq!(parse_rate("10MB"), None);
    }

    #[test]
    fn format_round_trips() {
        for text in [
            "20ms", "2.5s", "3m", "24h", "30d", "0ms", "1.5ms", "750us", "7ns", "90s",
        ] {
            let d = parse_duration(text).unwrap();
            assert_eq!(format_duration(d), text);
            assert_eq!(parse_duration(&format_duration(d)), Some(d));
        }
    }
}
