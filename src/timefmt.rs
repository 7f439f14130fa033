//! RFC 3339 UTC timestamps without a date-time crate: the civil-from-days algorithm over
//! `clock_gettime(CLOCK_REALTIME)`, used for log lines and the state's `created` field; and
//! Go durations (`events --interval`), parsed as Go's `time.ParseDuration` does.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::quote;

/// Now, as `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` (`nanos`) or `YYYY-MM-DDTHH:MM:SSZ`.
pub fn now_rfc3339(nanos: bool) -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format_rfc3339(d.as_secs() as i64, d.subsec_nanos(), nanos)
}

/// Format seconds and nanoseconds since the epoch as RFC 3339 in UTC.
pub fn format_rfc3339(secs: i64, nsec: u32, nanos: bool) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (rem / 3600, rem % 3600 / 60, rem % 60);
    if nanos {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{nsec:09}Z")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
    }
}

/// Howard Hinnant's days-since-epoch to (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Parse a Go duration (`300ms`, `1.5h`, `2h45m`, `-1s`, `0`) into nanoseconds, with Go's
/// `time.ParseDuration` error wording.
pub fn parse_duration(text: &str) -> std::result::Result<i64, String> {
    let invalid = || format!("time: invalid duration {}", quote(text));
    let mut s = text;
    let mut neg = false;
    if let Some(rest) = s.strip_prefix('-') {
        neg = true;
        s = rest;
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest;
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let not_digit = |c: char| !c.is_ascii_digit();
    let mut total: u128 = 0;
    while !s.is_empty() {
        if !(s.starts_with('.') || s.starts_with(|c: char| c.is_ascii_digit())) {
            return Err(invalid());
        }
        let end = s.find(not_digit).unwrap_or(s.len());
        let (int_part, rest) = s.split_at(end);
        s = rest;
        let mut frac_part = "";
        if let Some(rest) = s.strip_prefix('.') {
            let end = rest.find(not_digit).unwrap_or(rest.len());
            frac_part = &rest[..end];
            s = &rest[end..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid());
        }
        let end = s
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        let (unit, rest) = s.split_at(end);
        s = rest;
        let per_unit: u128 = match unit {
            "" => return Err(format!("time: missing unit in duration {}", quote(text))),
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    quote(unit),
                    quote(text)
                ))
            }
        };
        let int: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| invalid())?
        };
        let mut v = int.checked_mul(per_unit).ok_or_else(invalid)?;
        if !frac_part.is_empty() {
            // Digits past the 18th cannot change the result by a nanosecond.
            let digits = &frac_part[..frac_part.len().min(18)];
            let f: u128 = digits.parse().map_err(|_| invalid())?;
            v += f * per_unit / 10u128.pow(digits.len() as u32);
        }
        total = total.checked_add(v).ok_or_else(invalid)?;
        let max = if neg { 1u128 << 63 } else { (1u128 << 63) - 1 };
        if total > max {
            return Err(invalid());
        }
    }
    Ok(if neg {
        (total as i128).wrapping_neg() as i64
    } else {
        total as i64
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(format_rfc3339(0, 0, false), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_rfc3339(951_782_400, 5, true),
            "2000-02-29T00:00:00.000000005Z"
        );
        assert_eq!(
            format_rfc3339(1_795_341_139, 0, false),
            "2026-11-22T09:52:19Z"
        );
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("5s"), Ok(5_000_000_000));
        assert_eq!(parse_duration("500ms"), Ok(500_000_000));
        assert_eq!(parse_duration("1m"), Ok(60_000_000_000));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration(".5s"), Ok(500_000_000));
        assert_eq!(parse_duration("300us"), Ok(300_000));
        assert_eq!(parse_duration("300µs"), Ok(300_000));
        assert_eq!(parse_duration("7ns"), Ok(7));
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(parse_duration("-1s"), Ok(-1_000_000_000));
        assert_eq!(parse_duration("+2ms"), Ok(2_000_000));
        assert_eq!(
            parse_duration("5"),
            Err("time: missing unit in duration \"5\"".into())
        );
        assert_eq!(
            parse_duration("5x"),
            Err("time: unknown unit \"x\" in duration \"5x\"".into())
        );
        assert_eq!(
            parse_duration("abc"),
            Err("time: invalid duration \"abc\"".into())
        );
        assert_eq!(
            parse_duration(""),
            Err("time: invalid duration \"\"".into())
        );
        assert_eq!(
            parse_duration(".s"),
            Err("time: invalid duration \".s\"".into())
        );
        assert!(parse_duration("9999999999h").is_err());
    }
}
