//! RFC 3339 timestamps as CometBFT writes them (`2023-05-17T14:12:53.088875124Z`, 0 to 9
//! fractional digits, `Z` or a numeric offset), to [`Time`].

use corridor_light_client::Time;

/// Parses an RFC 3339 timestamp at or after the Unix epoch.
pub(super) fn parse_rfc3339(s: &str) -> Result<Time, String> {
    let bad = |why: &str| format!("{s:?} is not an RFC 3339 time: {why}");
    if !s.is_ascii() {
        return Err(bad("not ASCII"));
    }
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
        return Err(bad("expected YYYY-MM-DDTHH:MM:SS"));
    }
    if b[13] != b':' || b[16] != b':' {
        return Err(bad("expected HH:MM:SS"));
    }
    let num = |range: core::ops::Range<usize>| -> Result<u64, String> {
        let part = s.get(range).ok_or_else(|| bad("truncated"))?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad("non-digit in a date or time field"));
        }
        part.parse::<u64>().map_err(|_| bad("bad number"))
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err(bad("no such date"));
    }
    if hour > 23 || minute > 59 || second > 60 {
        return Err(bad("no such time of day"));
    }
    let mut rest = &s[19..];
    let mut nanos: u64 = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 9 {
            return Err(bad("fraction must have 1 to 9 digits"));
        }
        let value: u64 = frac[..digits].parse().map_err(|_| bad("bad fraction"))?;
        nanos = value.saturating_mul(10u64.pow(9u32.saturating_sub(digits as u32)));
        rest = &frac[digits..];
    }
    let offset_secs: i64 = match rest {
        "Z" | "z" => 0,
        _ => {
            let ob = rest.as_bytes();
            if ob.len() != 6 || !matches!(ob[0], b'+' | b'-') || ob[3] != b':' {
                return Err(bad("expected Z or +HH:MM"));
            }
            let oh: i64 = rest[1..3].parse().map_err(|_| bad("bad offset"))?;
            let om: i64 = rest[4..6].parse().map_err(|_| bad("bad offset"))?;
            let sign = if ob[0] == b'-' { -1 } else { 1 };
            sign * (oh * 3600 + om * 60)
        }
    };
    if year < 1970 {
        return Err(bad("before the Unix epoch"));
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second;
    let secs = i64::try_from(secs)
        .ok()
        .and_then(|s| s.checked_sub(offset_secs))
        .and_then(|s| u64::try_from(s).ok())
        .ok_or_else(|| bad("before the Unix epoch"))?;
    secs.checked_mul(1_000_000_000)
        .and_then(|n| n.checked_add(nanos))
        .map(Time::from_unix_nanos)
        .ok_or_else(|| bad("too far in the future"))
}

fn is_leap(y: u64) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

fn days_in_month(y: u64, m: u64) -> u64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a date at or after it (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: u64, m: u64, d: u64) -> u64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_the_light_client_formatting() {
        for s in [
            "1970-01-01T00:00:00.000000000Z",
            "2000-02-29T00:00:00.000000000Z",
            "2023-05-17T14:12:53.088875124Z",
            "2026-11-28T10:33:49.000000007Z",
        ] {
            assert_eq!(parse_rfc3339(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn fractions_and_offsets() {
        let t = parse_rfc3339("2021-12-17T20:27:48.90012577Z").unwrap();
        assert_eq!(t.to_string(), "2021-12-17T20:27:48.900125770Z");
        let a = parse_rfc3339("2021-12-17T22:27:48+02:00").unwrap();
        let b = parse_rfc3339("2021-12-17T20:27:48Z").unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn rejects_malformed_and_pre_epoch() {
        for s in [
            "",
            "0001-01-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2023-05-17 14:12:53Z",
            "2023-05-17T14:12:53",
            "2023-05-17T14:12:53.Z",
            "2023-05-17T14:12:53.0123456789Z",
            "2023-13-01T00:00:00Z",
        ] {
            assert!(parse_rfc3339(s).is_err(), "{s}");
        }
    }
}
