//! Times and durations as every subcommand takes them.
//!
//! Times: RFC 3339 (`2026-01-15T08:00:00Z`, `2026-01-15T10:00:00+02:00`), a date
//! (`2026-01-15`, midnight UTC), a date and time without offset (`2026-01-15T08:00`, UTC;
//! a space for the `T`; a trailing ` UTC` or `Z`; an offset `+00` or `+0530` as databases
//! export them), `now`, `now-6h` / `now+1d` (any duration below), Unix seconds
//! (`1768464000`, `1768464000.5`), or Unix milliseconds as the store's `_ms` columns hold them
//! (`1768464000000`: a whole number of 12 digits or more, which as seconds would be past the
//! year 5000).
//!
//! Durations: one or more number-unit pairs (`90s`, `5m`, `1h30m`, `1.5h`, `1d`, `2w`, `250ms`);
//! units `ms`, `s`, `m` or `min`, `h`, `d`, `w`. A bare number is seconds.

use crate::QueryError;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// A time as ms since the Unix epoch, with `now` the current time.
pub fn parse_time(s: &str) -> Result<i64, QueryError> {
    parse_time_at(s, Utc::now().timestamp_millis())
}

/// A time as ms since the Unix epoch, with `now` = `now_ms` (for tests and servers that fix
/// the time of a request).
pub fn parse_time_at(s: &str, now_ms: i64) -> Result<i64, QueryError> {
    let bad = |reason: &str| QueryError::BadTime {
        input: s.to_owned(),
        reason: reason.to_owned(),
    };
    let t = s.trim();
    if t.is_empty() {
        return Err(bad("empty"));
    }
    if let Some(rest) = t.strip_prefix("now") {
        let rest = rest.trim();
        if rest.is_empty() {
            return Ok(now_ms);
        }
        let (sign, d) = match rest.split_at(1) {
            ("-", d) => (-1, d),
            ("+", d) => (1, d),
            _ => return Err(bad("after `now` comes -DURATION or +DURATION")),
        };
        let ms = parse_duration_ms(d.trim()).map_err(|e| match e {
            QueryError::BadDuration { reason, .. } => bad(&reason),
            other => other,
        })?;
        return now_ms
            .checked_add(sign * ms)
            .ok_or_else(|| bad("out of range"));
    }
    if t.bytes().all(|b| b.is_ascii_digit() || b == b'.') && t.bytes().any(|b| b != b'.') {
        // Unix seconds, or milliseconds from 12 digits on (1e11 s is the year 5138; 1e11 ms
        // is 1973).
        let secs: f64 = t.parse().map_err(|_| bad("not a number of seconds"))?;
        let ms = if !t.contains('.') && secs >= 1e11 {
            secs
        } else {
            (secs * 1000.0).round()
        };
        if !(0.0..9.0e15).contains(&ms) {
            return Err(bad("out of range"));
        }
        return Ok(ms as i64);
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(d.with_timezone(&Utc).timestamp_millis());
    }
    // Database exports: `2026-06-02 12:00:00 UTC` (BigQuery), `... +00` (PostgreSQL), and
    // RFC 3339 without seconds (`2026-06-02T12:00Z`).
    let t = t.strip_suffix(" UTC").map_or(t, str::trim_end);
    for f in [
        "%Y-%m-%d %H:%M:%S%.f%#z",
        "%Y-%m-%dT%H:%M%#z",
        "%Y-%m-%d %H:%M%#z",
    ] {
        if let Ok(d) = DateTime::parse_from_str(t, f) {
            return Ok(d.with_timezone(&Utc).timestamp_millis());
        }
    }
    let t = t.strip_suffix('Z').unwrap_or(t);
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(d
            .and_hms_opt(0, 0, 0)
            .map(|n| n.and_utc().timestamp_millis())
            .unwrap_or_default());
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(t, f) {
            return Ok(n.and_utc().timestamp_millis());
        }
    }
    Err(bad("unrecognised form"))
}

/// A duration in ms: `90` (seconds), `90s`, `5m`, `1h30m`, `1.5h`, `1d`, `2w`, `250ms`.
pub fn parse_duration_ms(s: &str) -> Result<i64, QueryError> {
    let bad = |reason: String| QueryError::BadDuration {
        input: s.to_owned(),
        reason,
    };
    let t = s.trim();
    if t.is_empty() {
        return Err(bad("empty".to_owned()));
    }
    let mut total: i64 = 0;
    let mut rest = t;
    let mut parts = 0;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, after) = rest.split_at(num_end);
        if num.is_empty() {
            return Err(bad(format!("expected a number at `{rest}`")));
        }
        let unit_end = after
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_end);
        let unit_ms: i64 = match unit {
            "" if parts == 0 && next.is_empty() => 1_000,
            "" => return Err(bad(format!("`{num}` needs a unit"))),
            "ms" => 1,
            "s" => 1_000,
            "m" | "min" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 7 * 86_400_000,
            _ => {
                return Err(bad(format!(
                    "unknown unit `{unit}` (use ms, s, m, h, d or w)"
                )))
            }
        };
        let ms = if num.contains('.') {
            let v: f64 = num
                .parse()
                .map_err(|_| bad(format!("`{num}` is not a number")))?;
            let ms = (v * unit_ms as f64).round();
            if !(0.0..9.0e15).contains(&ms) {
                return Err(bad("too long".to_owned()));
            }
            ms as i64
        } else {
            let v: i64 = num.parse().map_err(|_| bad("too long".to_owned()))?;
            v.checked_mul(unit_ms)
                .ok_or_else(|| bad("too long".to_owned()))?
        };
        total = total
            .checked_add(ms)
            .ok_or_else(|| bad("too long".to_owned()))?;
        rest = next;
        parts += 1;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOW: i64 = 1_768_464_000_000; // 2026-01-15T08:00:00Z

    #[test]
    fn time_forms() {
        assert_eq!(parse_time_at("2026-01-15T08:00:00Z", 0).unwrap(), NOW);
        assert_eq!(parse_time_at("2026-01-15T10:00:00+02:00", 0).unwrap(), NOW);
        assert_eq!(parse_time_at("2026-01-15T08:00", 0).unwrap(), NOW);
        assert_eq!(parse_time_at("2026-01-15 08:00:00", 0).unwrap(), NOW);
        assert_eq!(parse_time_at("2026-01-15", 0).unwrap(), NOW - 8 * 3_600_000);
        assert_eq!(parse_time_at("1768464000", 0).unwrap(), NOW);
        assert_eq!(parse_time_at("1768464000.25", 0).unwrap(), NOW + 250);
        // The store's `start_ms` as it is: milliseconds, not the year 58000.
        assert_eq!(parse_time_at("1768464000000", 0).unwrap(), NOW);
        assert_eq!(parse_time_at("99999999999", 0).unwrap(), 99_999_999_999_000);
        assert_eq!(parse_time_at("now", NOW).unwrap(), NOW);
        assert_eq!(parse_time_at("now-6h", NOW).unwrap(), NOW - 6 * 3_600_000);
        assert_eq!(parse_time_at("now+1d", NOW).unwrap(), NOW + 86_400_000);
        assert_eq!(parse_time_at("now-1h30m", NOW).unwrap(), NOW - 5_400_000);
        // As databases export them.
        for t in [
            "2026-01-15 08:00:00 UTC",
            "2026-01-15 08:00:00.000000 UTC",
            "2026-01-15 08:00:00+00",
            "2026-01-15 13:30:00+0530",
            "2026-01-15T08:00Z",
            "2026-01-15 08:00 UTC",
        ] {
            assert_eq!(parse_time_at(t, 0).unwrap(), NOW, "{t}");
        }
        for bad in [
            "2026-01-15 08:00:00 CET",
            "",
            "yesterday",
            "now-",
            "now*2h",
            "2026-13-01",
            "2026-01-15T25:00Z",
            ".",
        ] {
            assert!(parse_time_at(bad, NOW).is_err(), "{bad}");
        }
    }

    #[test]
    fn duration_forms() {
        assert_eq!(parse_duration_ms("90").unwrap(), 90_000);
        assert_eq!(parse_duration_ms("90s").unwrap(), 90_000);
        assert_eq!(parse_duration_ms("250ms").unwrap(), 250);
        assert_eq!(parse_duration_ms("5m").unwrap(), 300_000);
        assert_eq!(parse_duration_ms("5min").unwrap(), 300_000);
        assert_eq!(parse_duration_ms("1h30m").unwrap(), 5_400_000);
        assert_eq!(parse_duration_ms("1.5h").unwrap(), 5_400_000);
        assert_eq!(parse_duration_ms("1d").unwrap(), 86_400_000);
        assert_eq!(parse_duration_ms("2w").unwrap(), 14 * 86_400_000);
        assert_eq!(parse_duration_ms("0.5").unwrap(), 500);
        for bad in [
            "",
            "h",
            "5x",
            "-5m",
            "1h30",
            "5 m",
            "1..5h",
            "99999999999999999999s",
        ] {
            assert!(parse_duration_ms(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        /// Any sum of whole units written out parses back to its value.
        #[test]
        fn durations_round_trip(d in 0i64..1000, h in 0i64..24, m in 0i64..60, s in 0i64..60) {
            let text = format!("{d}d{h}h{m}m{s}s");
            let want = ((d * 24 + h) * 60 + m) * 60_000 + s * 1000;
            prop_assert_eq!(parse_duration_ms(&text).unwrap(), want);
        }

        /// Every time written as RFC 3339, as Unix seconds, or relative to now parses back.
        #[test]
        fn times_round_trip(secs in 0i64..4_000_000_000, back in 0i64..100_000) {
            let ms = secs * 1000;
            let rfc = crate::iso8601_ms(ms);
            prop_assert_eq!(parse_time_at(&rfc, 0).unwrap(), ms);
            prop_assert_eq!(parse_time_at(&secs.to_string(), 0).unwrap(), ms);
            if ms >= 100_000_000_000 {
                prop_assert_eq!(parse_time_at(&ms.to_string(), 0).unwrap(), ms);
            }
            prop_assert_eq!(parse_time_at(&format!("now-{back}s"), ms).unwrap(), ms - back * 1000);
        }

        /// Nothing panics on arbitrary text.
        #[test]
        fn no_panics(s in ".{0,24}") {
            let _ = parse_time_at(&s, NOW);
            let _ = parse_duration_ms(&s);
        }
    }
}
