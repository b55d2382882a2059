//! A strict RFC 3339 parser for CometBFT's JSON times, and the protobuf `Timestamp` they
//! become.
//!
//! Accepted: `YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+HH:MM|-HH:MM)`, years 0001 to 9999 (the range
//! Go's `time.Time` marshals and tendermint-rs accepts), `T`/`Z` in either case, real
//! calendar dates only, no leap second (`:60`, which Go refuses too). The result is seconds
//! and nanoseconds since the Unix epoch in UTC, so commit signatures of absent votes, which
//! carry Go's zero time `0001-01-01T00:00:00Z`, parse like any other.

use core::fmt;

use crate::types::Time;

/// Seconds since the Unix epoch (negative before 1970) and nanoseconds, as protobuf's
/// `google.protobuf.Timestamp`.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, serde::Serialize, serde::Deserialize,
)]
pub struct Timestamp {
    /// Whole seconds since 1970-01-01T00:00:00Z.
    pub seconds: i64,
    /// Nanoseconds, 0 to 999 999 999.
    pub nanos: u32,
}

/// Go's zero `time.Time`, what absent votes carry.
pub const ZERO_TIME_SECONDS: i64 = -62_135_596_800;

/// Why a time string was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("bad RFC 3339 time {text:?}: {reason}")]
pub struct TimeError {
    /// The text given.
    pub text: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl Timestamp {
    /// Go's zero time, `0001-01-01T00:00:00Z`.
    pub const GO_ZERO: Self = Self {
        seconds: ZERO_TIME_SECONDS,
        nanos: 0,
    };

    /// The Unix epoch, `1970-01-01T00:00:00Z`.
    pub const EPOCH: Self = Self {
        seconds: 0,
        nanos: 0,
    };

    /// Parses an RFC 3339 time.
    // Every number here has at most 9 digits: no sum or product can overflow.
    #[allow(clippy::arithmetic_side_effects)]
    pub fn parse(text: &str) -> Result<Self, TimeError> {
        let err = |reason| TimeError {
            text: text.to_owned(),
            reason,
        };
        let b = text.as_bytes();
        let digits = |from: usize, len: usize| -> Result<u32, TimeError> {
            let part = b
                .get(from..from.saturating_add(len))
                .ok_or(err("too short"))?;
            part.iter().try_fold(0u32, |acc, &c| {
                if c.is_ascii_digit() {
                    Ok(acc.saturating_mul(10).saturating_add(u32::from(c - b'0')))
                } else {
                    Err(err("expected a digit"))
                }
            })
        };
        let expect = |at: usize, chars: &[u8], what| -> Result<(), TimeError> {
            match b.get(at) {
                Some(c) if chars.contains(c) => Ok(()),
                _ => Err(err(what)),
            }
        };
        let year = digits(0, 4)?;
        expect(4, b"-", "expected '-' after the year")?;
        let month = digits(5, 2)?;
        expect(7, b"-", "expected '-' after the month")?;
        let day = digits(8, 2)?;
        expect(10, b"Tt", "expected 'T' between date and time")?;
        let hour = digits(11, 2)?;
        expect(13, b":", "expected ':' after the hour")?;
        let minute = digits(14, 2)?;
        expect(16, b":", "expected ':' after the minutes")?;
        let second = digits(17, 2)?;
        if year == 0 {
            return Err(err("year 0000 is out of range"));
        }
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(err("no such date"));
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(err("no such time of day"));
        }
        let mut at = 19;
        let mut nanos = 0u32;
        if b.get(at) == Some(&b'.') {
            at = at.saturating_add(1);
            let start = at;
            while b.get(at).is_some_and(u8::is_ascii_digit) {
                at = at.saturating_add(1);
            }
            let len = at.saturating_sub(start);
            if len == 0 || len > 9 {
                return Err(err("a fraction needs 1 to 9 digits"));
            }
            nanos = digits(start, len)?.saturating_mul(10u32.saturating_pow(9 - len as u32));
        }
        let offset_secs: i64 = match b.get(at) {
            Some(b'Z' | b'z') if b.len() == at.saturating_add(1) => 0,
            Some(&sign @ (b'+' | b'-')) if b.len() == at.saturating_add(6) => {
                let oh = digits(at.saturating_add(1), 2)?;
                expect(at.saturating_add(3), b":", "expected ':' in the offset")?;
                let om = digits(at.saturating_add(4), 2)?;
                if oh > 23 || om > 59 {
                    return Err(err("no such offset"));
                }
                let secs = i64::from(oh * 3600 + om * 60);
                if sign == b'+' {
                    secs
                } else {
                    -secs
                }
            }
            _ => return Err(err("expected 'Z' or an offset at the end")),
        };
        let days = days_from_civil(i64::from(year), month, day);
        // All terms are bounded (years 1..=9999), far from i64 limits.
        let seconds = days
            .saturating_mul(86_400)
            .saturating_add(i64::from(hour * 3600 + minute * 60 + second))
            .saturating_sub(offset_secs);
        if !(ZERO_TIME_SECONDS..=MAX_SECONDS).contains(&seconds) {
            return Err(err("outside years 0001 to 9999 in UTC"));
        }
        Ok(Self { seconds, nanos })
    }

    /// This time as a [`Time`], or `None` before the Unix epoch or past year 2554.
    pub fn to_time(self) -> Option<Time> {
        let secs = u64::try_from(self.seconds).ok()?;
        Time::from_unix_secs(secs)?
            .checked_add(core::time::Duration::from_nanos(u64::from(self.nanos)))
    }

    /// The timestamp of a [`Time`].
    pub fn from_time(t: Time) -> Self {
        let n = t.unix_nanos();
        // u64::MAX / 1e9 fits in i64.
        Self {
            seconds: i64::try_from(n / 1_000_000_000).unwrap_or(i64::MAX),
            nanos: (n % 1_000_000_000) as u32,
        }
    }

    /// The protobuf encoding (`google.protobuf.Timestamp`).
    pub fn encode(&self) -> Vec<u8> {
        super::proto::timestamp(self.seconds, self.nanos)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}s+{}ns", self.seconds, self.nanos)
    }
}

/// 9999-12-31T23:59:59Z.
const MAX_SECONDS: i64 = 253_402_300_799;

fn is_leap(y: u32) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`), for years 1 to 9999.
#[allow(clippy::arithmetic_side_effects)] // years 1..=9999: every term is small
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Timestamp, TimeError> {
        Timestamp::parse(s)
    }

    #[test]
    fn parses_the_forms_in_the_vectors() {
        assert_eq!(
            p("1970-01-01T00:00:01Z").unwrap(),
            Timestamp {
                seconds: 1,
                nanos: 0
            }
        );
        assert_eq!(
            p("2023-05-17T14:12:53.605374524Z").unwrap(),
            Timestamp {
                seconds: 1_684_332_773,
                nanos: 605_374_524
            }
        );
        assert_eq!(p("2020-11-18T12:36:18.1Z").unwrap().nanos, 100_000_000);
        assert_eq!(p("0001-01-01T00:00:00Z").unwrap(), Timestamp::GO_ZERO);
        assert_eq!(
            p("9999-12-31T23:59:59.999999999Z").unwrap().seconds,
            MAX_SECONDS
        );
        assert_eq!(
            p("1970-01-01T01:00:00+01:00").unwrap(),
            Timestamp {
                seconds: 0,
                nanos: 0
            }
        );
        assert_eq!(p("2000-02-29t00:00:00z").unwrap().seconds, 951_782_400);
    }

    #[test]
    fn refuses_anything_else() {
        for bad in [
            "",
            "1970-01-01",
            "1970-01-01 00:00:00Z",
            "1970-01-01T00:00:00",
            "1970-01-01T00:00:00.Z",
            "1970-01-01T00:00:00.1234567890Z",
            "1970-02-30T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "1970-01-01T24:00:00Z",
            "1970-01-01T00:00:60Z",
            "0000-01-01T00:00:00Z",
            "1970-01-01T00:00:00Zjunk",
            "1970-01-01T00:00:00+0100",
            "0001-01-01T00:00:00+00:01",
            "+970-01-01T00:00:00Z",
            "١٩٧٠-01-01T00:00:00Z",
        ] {
            assert!(p(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn time_round_trips() {
        let t = p("2023-05-17T14:12:53.605374524Z").unwrap();
        assert_eq!(Timestamp::from_time(t.to_time().unwrap()), t);
        assert_eq!(Timestamp::GO_ZERO.to_time(), None);
    }

    #[test]
    fn each_field_admits_its_last_value_and_refuses_the_next() {
        let no_date = "no such date";
        let no_time = "no such time of day";
        let no_offset = "no such offset";
        let outside = "outside years 0001 to 9999 in UTC";
        for (last, next, reason) in [
            ("1970-12-01T00:00:00Z", "1970-13-01T00:00:00Z", no_date),
            ("1970-01-01T00:00:00Z", "1970-00-01T00:00:00Z", no_date),
            ("1970-01-01T00:00:00Z", "1970-01-00T00:00:00Z", no_date),
            ("1970-01-31T00:00:00Z", "1970-01-32T00:00:00Z", no_date),
            ("1970-04-30T00:00:00Z", "1970-04-31T00:00:00Z", no_date),
            ("1970-06-30T00:00:00Z", "1970-06-31T00:00:00Z", no_date),
            ("1970-09-30T00:00:00Z", "1970-09-31T00:00:00Z", no_date),
            ("1970-11-30T00:00:00Z", "1970-11-31T00:00:00Z", no_date),
            ("2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z", no_date),
            ("1970-01-01T23:00:00Z", "1970-01-01T24:00:00Z", no_time),
            ("1970-01-01T00:59:00Z", "1970-01-01T00:60:00Z", no_time),
            ("1970-01-01T00:00:59Z", "1970-01-01T00:00:60Z", no_time),
            (
                "1970-01-02T00:00:00+23:00",
                "1970-01-02T00:00:00+24:00",
                no_offset,
            ),
            (
                "1970-01-02T00:00:00-00:59",
                "1970-01-02T00:00:00-00:60",
                no_offset,
            ),
            ("9999-12-31T23:59:59Z", "9999-12-31T23:59:59-00:01", outside),
            ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00+00:01", outside),
        ] {
            assert!(p(last).is_ok(), "{last:?} refused");
            assert_eq!(p(next).unwrap_err().reason, reason, "{next:?}");
        }
    }

    #[test]
    fn an_offset_is_taken_off_to_give_utc() {
        let utc = p("2023-05-17T14:12:53Z").unwrap();
        assert_eq!(p("2023-05-17T19:42:53+05:30").unwrap(), utc);
        assert_eq!(p("2023-05-17T08:42:53-05:30").unwrap(), utc);
        assert_eq!(
            p("2023-05-17T19:42:53+05:30junk").unwrap_err().reason,
            "expected 'Z' or an offset at the end"
        );
    }

    #[test]
    fn a_timestamp_shows_its_seconds_and_nanoseconds() {
        let t = p("2023-05-17T14:12:53.605374524Z").unwrap();
        assert_eq!(t.to_string(), "1684332773s+605374524ns");
    }
}
