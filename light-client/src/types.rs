//! Types shared by every chain family: chain ids, heights, times, hashes, the trust threshold
//! and the verification options.
//!
//! Each type checks its invariants when it is built (by constructor or by serde's
//! `try_from`), so a value that exists is valid: "parse, don't validate".

use core::fmt;
use core::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest chain id accepted, in bytes (CometBFT uses the same limit).
pub const MAX_CHAIN_ID_LEN: usize = 50;

/// A chain's identifier, such as `cn-shanghai-trade` or `cosmoshub-4`.
///
/// Invariant: 1 to [`MAX_CHAIN_ID_LEN`] bytes of printable ASCII without spaces.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ChainId(String);

/// Why a chain id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChainIdError {
    /// Empty or longer than [`MAX_CHAIN_ID_LEN`].
    #[error("chain id must be 1 to {MAX_CHAIN_ID_LEN} bytes, got {0}")]
    Length(usize),
    /// A byte outside printable ASCII, or a space.
    #[error("chain id {0:?} has a character outside printable ASCII")]
    Character(String),
}

impl ChainId {
    /// Checks and wraps a chain id.
    pub fn new(id: impl Into<String>) -> Result<Self, ChainIdError> {
        let id = id.into();
        if id.is_empty() || id.len() > MAX_CHAIN_ID_LEN {
            return Err(ChainIdError::Length(id.len()));
        }
        if !id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ChainIdError::Character(id));
        }
        Ok(Self(id))
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ChainId {
    type Error = ChainIdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<ChainId> for String {
    fn from(value: ChainId) -> Self {
        value.0
    }
}

impl fmt::Display for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// A block height. Height 0 is never a block.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Height(pub u64);

impl Height {
    /// The next height, or `None` at `u64::MAX`.
    pub fn increment(self) -> Option<Self> {
        self.0.checked_add(1).map(Self)
    }

    /// The height as a number.
    pub fn value(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Height {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for Height {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A point in time: nanoseconds since the Unix epoch, UTC.
///
/// The light client never reads a clock; callers pass `now` as a `Time`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Time(u64);

impl Time {
    /// The Unix epoch.
    pub const EPOCH: Self = Self(0);

    /// A time from nanoseconds since the Unix epoch.
    pub const fn from_unix_nanos(nanos: u64) -> Self {
        Self(nanos)
    }

    /// A time from whole seconds since the Unix epoch, or `None` past year 2554.
    pub fn from_unix_secs(secs: u64) -> Option<Self> {
        secs.checked_mul(1_000_000_000).map(Self)
    }

    /// Nanoseconds since the Unix epoch.
    pub const fn unix_nanos(self) -> u64 {
        self.0
    }

    /// `self + d`, or `None` on overflow.
    pub fn checked_add(self, d: Duration) -> Option<Self> {
        let nanos = u64::try_from(d.as_nanos()).ok()?;
        self.0.checked_add(nanos).map(Self)
    }

    /// `self - d`, or `None` before the epoch.
    pub fn checked_sub(self, d: Duration) -> Option<Self> {
        let nanos = u64::try_from(d.as_nanos()).ok()?;
        self.0.checked_sub(nanos).map(Self)
    }

    /// How long after `earlier` this time is; zero when it is not later.
    pub fn saturating_duration_since(self, earlier: Self) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl fmt::Display for Time {
    /// Formats as RFC 3339 in UTC with nanoseconds, e.g. `2026-11-28T10:33:49.000000000Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0 / 1_000_000_000;
        let nanos = self.0 % 1_000_000_000;
        let days = secs / 86_400;
        let rem = secs % 86_400;
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
            rem / 3600,
            (rem % 3600) / 60,
            rem % 60
        )
    }
}

impl fmt::Debug for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day).
/// Howard Hinnant's `civil_from_days`, restricted to dates after the epoch.
#[allow(clippy::arithmetic_side_effects)] // bounded: days < 2^64 / 86400, all terms small
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A 32-byte hash (SHA3-256 for the native family, SHA-256 for CometBFT).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash32(pub [u8; 32]);

impl Hash32 {
    /// The all-zero hash, used where a header has no parent.
    pub const ZERO: Self = Self([0; 32]);

    /// The bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses 64 hex digits (either case).
    pub fn from_hex(s: &str) -> Result<Self, hex::FromHexError> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out)?;
        Ok(Self(out))
    }
}

impl fmt::Display for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash32({})", hex::encode(self.0))
    }
}

impl Serialize for Hash32 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&hex::encode(self.0))
        } else {
            s.serialize_bytes(&self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Hash32 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        bytes_or_hex::<D, 32>(d).map(Self)
    }
}

/// Deserializes a fixed-size byte array from CBOR bytes or, in human-readable formats, hex.
pub(crate) fn bytes_or_hex<'de, D: Deserializer<'de>, const N: usize>(
    d: D,
) -> Result<[u8; N], D::Error> {
    use serde::de::Error;
    struct V<const N: usize>;
    impl<const N: usize> serde::de::Visitor<'_> for V<N> {
        type Value = [u8; N];
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{N} bytes or {} hex digits", N.saturating_mul(2))
        }
        fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<Self::Value, E> {
            <[u8; N]>::try_from(v).map_err(|_| E::invalid_length(v.len(), &self))
        }
        fn visit_str<E: Error>(self, v: &str) -> Result<Self::Value, E> {
            let mut out = [0u8; N];
            hex::decode_to_slice(v, &mut out).map_err(|e| E::custom(format!("bad hex: {e}")))?;
            Ok(out)
        }
    }
    if d.is_human_readable() {
        d.deserialize_str(V::<N>)
    } else {
        d.deserialize_bytes(V::<N>)
    }
}

/// A fraction of voting power that must sign before a header is trusted by skipping.
///
/// Invariant: `1/3 <= numerator/denominator <= 1`, denominator non-zero. Comparisons use
/// 128-bit arithmetic, so no voting power can overflow them.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawTrustThreshold", into = "RawTrustThreshold")]
pub struct TrustThreshold {
    numerator: u64,
    denominator: u64,
}

#[derive(Serialize, Deserialize)]
struct RawTrustThreshold {
    numerator: u64,
    denominator: u64,
}

/// Why a trust threshold was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("trust threshold {numerator}/{denominator} must be a fraction between 1/3 and 1")]
pub struct TrustThresholdError {
    /// The numerator given.
    pub numerator: u64,
    /// The denominator given.
    pub denominator: u64,
}

impl TrustThreshold {
    /// One third: the default for skipping verification.
    pub const ONE_THIRD: Self = Self {
        numerator: 1,
        denominator: 3,
    };
    /// Two thirds: what a commit needs of its own validator set.
    pub const TWO_THIRDS: Self = Self {
        numerator: 2,
        denominator: 3,
    };

    /// Checks and builds a threshold.
    pub fn new(numerator: u64, denominator: u64) -> Result<Self, TrustThresholdError> {
        let err = TrustThresholdError {
            numerator,
            denominator,
        };
        if denominator == 0 || numerator > denominator {
            return Err(err);
        }
        // numerator/denominator >= 1/3  <=>  3 * numerator >= denominator
        if u128::from(numerator).saturating_mul(3) < u128::from(denominator) {
            return Err(err);
        }
        Ok(Self {
            numerator,
            denominator,
        })
    }

    /// The numerator.
    pub fn numerator(&self) -> u64 {
        self.numerator
    }

    /// The denominator.
    pub fn denominator(&self) -> u64 {
        self.denominator
    }

    /// Whether `signed` is strictly more than this fraction of `total`.
    pub fn is_exceeded_by(&self, signed: u64, total: u64) -> bool {
        // u64 x u64 always fits in u128: the products never saturate.
        u128::from(signed).saturating_mul(u128::from(self.denominator))
            > u128::from(total).saturating_mul(u128::from(self.numerator))
    }
}

impl TryFrom<RawTrustThreshold> for TrustThreshold {
    type Error = TrustThresholdError;
    fn try_from(raw: RawTrustThreshold) -> Result<Self, Self::Error> {
        Self::new(raw.numerator, raw.denominator)
    }
}

impl From<TrustThreshold> for RawTrustThreshold {
    fn from(t: TrustThreshold) -> Self {
        Self {
            numerator: t.numerator,
            denominator: t.denominator,
        }
    }
}

impl Default for TrustThreshold {
    fn default() -> Self {
        Self::ONE_THIRD
    }
}

impl fmt::Display for TrustThreshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.numerator, self.denominator)
    }
}

impl fmt::Debug for TrustThreshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Settings of one verification: how much trust skipping needs and how long trust lasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Options {
    /// Share of the trusted validator set that must sign a non-adjacent header.
    pub trust_threshold: TrustThreshold,
    /// How long a trusted header stays usable as a base for verification.
    pub trusting_period: Duration,
    /// How far in the future (by the caller's clock) a header's time may be.
    pub clock_drift: Duration,
}

impl Default for Options {
    /// 1/3 threshold, two weeks of trust, ten seconds of drift.
    fn default() -> Self {
        Self {
            trust_threshold: TrustThreshold::ONE_THIRD,
            trusting_period: Duration::from_secs(14 * 24 * 3600),
            clock_drift: Duration::from_secs(10),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn chain_id_rules() {
        assert!(ChainId::new("cn-shanghai-trade").is_ok());
        assert_eq!(ChainId::new(""), Err(ChainIdError::Length(0)));
        assert!(matches!(
            ChainId::new("a b"),
            Err(ChainIdError::Character(_))
        ));
        assert!(matches!(
            ChainId::new("x".repeat(51)),
            Err(ChainIdError::Length(51))
        ));
    }

    #[test]
    fn time_formats_as_rfc3339() {
        assert_eq!(Time::EPOCH.to_string(), "1970-01-01T00:00:00.000000000Z");
        let t = Time::from_unix_nanos(1_795_862_029_000_000_007);
        assert_eq!(t.to_string(), "2026-11-28T10:33:49.000000007Z");
        let leap = Time::from_unix_secs(951_782_400).unwrap(); // 2000-02-29
        assert_eq!(leap.to_string(), "2000-02-29T00:00:00.000000000Z");
    }

    #[test]
    fn time_arithmetic_saturates_or_fails() {
        let t = Time::from_unix_nanos(u64::MAX - 1);
        assert_eq!(t.checked_add(Duration::from_nanos(2)), None);
        assert_eq!(Time::EPOCH.checked_sub(Duration::from_nanos(1)), None);
        assert_eq!(Time::EPOCH.saturating_duration_since(t), Duration::ZERO);
    }

    #[test]
    fn threshold_bounds() {
        assert!(TrustThreshold::new(1, 3).is_ok());
        assert!(TrustThreshold::new(1, 1).is_ok());
        assert!(TrustThreshold::new(1, 4).is_err());
        assert!(TrustThreshold::new(2, 1).is_err());
        assert!(TrustThreshold::new(0, 0).is_err());
        assert!(TrustThreshold::new(u64::MAX, u64::MAX).is_ok());
        // exactly one third is not more than one third
        assert!(!TrustThreshold::ONE_THIRD.is_exceeded_by(1, 3));
        assert!(TrustThreshold::ONE_THIRD.is_exceeded_by(2, 3));
        assert!(!TrustThreshold::TWO_THIRDS.is_exceeded_by(2, 3));
        assert!(TrustThreshold::TWO_THIRDS.is_exceeded_by(3, 3));
    }

    #[test]
    fn threshold_deserialisation_validates() {
        let bad = serde_json::from_str::<TrustThreshold>(r#"{"numerator":1,"denominator":4}"#);
        assert!(bad.is_err());
        let good: TrustThreshold =
            serde_json::from_str(r#"{"numerator":2,"denominator":3}"#).unwrap();
        assert_eq!(good, TrustThreshold::TWO_THIRDS);
    }

    #[test]
    fn chain_id_length_is_1_to_50_bytes_of_printable_ascii() {
        let longest = "x".repeat(MAX_CHAIN_ID_LEN);
        assert_eq!(MAX_CHAIN_ID_LEN, 50);
        assert_eq!(ChainId::new(longest.clone()).unwrap().as_str(), longest);
        assert_eq!(ChainId::new("a").unwrap().as_str(), "a");
        for bad in ["caf\u{e9}", "tab\there", "del\u{7f}"] {
            assert_eq!(ChainId::new(bad), Err(ChainIdError::Character(bad.into())));
        }
        assert_eq!(
            ChainIdError::Length(51).to_string(),
            "chain id must be 1 to 50 bytes, got 51"
        );
        // Serde checks the same rules.
        let id: ChainId = serde_json::from_str("\"kz-astana\"").unwrap();
        assert_eq!(id.to_string(), "kz-astana");
        assert_eq!(format!("{id:?}"), "\"kz-astana\"");
        assert_eq!(String::from(id.clone()), "kz-astana");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"kz-astana\"");
        assert!(serde_json::from_str::<ChainId>("\"\"").is_err());
    }

    #[test]
    fn heights_count_up_to_the_last_one() {
        assert_eq!(Height(7).increment(), Some(Height(8)));
        assert_eq!(Height(u64::MAX).increment(), None);
        assert_eq!(Height(7).value(), 7);
        assert_eq!(Height(42).to_string(), "42");
        assert_eq!(format!("{:?}", Height(42)), "42");
    }

    #[test]
    fn time_formats_every_month_boundary_and_the_last_instant() {
        let at = |secs: u64| Time::from_unix_secs(secs).unwrap().to_string();
        assert_eq!(at(5_097_600), "1970-03-01T00:00:00.000000000Z");
        assert_eq!(at(946_684_799), "1999-12-31T23:59:59.000000000Z");
        assert_eq!(at(978_307_200), "2001-01-01T00:00:00.000000000Z");
        assert_eq!(at(1_709_251_200), "2024-03-01T00:00:00.000000000Z");
        // 2100 is not a leap year, 2400 is.
        assert_eq!(at(4_107_542_399), "2100-02-28T23:59:59.000000000Z");
        assert_eq!(at(4_107_542_400), "2100-03-01T00:00:00.000000000Z");
        assert_eq!(at(13_574_606_400), "2400-02-29T12:00:00.000000000Z");
        let last = Time::from_unix_nanos(u64::MAX);
        assert_eq!(last.to_string(), "2554-07-21T23:34:33.709551615Z");
        assert_eq!(format!("{last:?}"), last.to_string());
        assert_eq!(
            Time::from_unix_secs(18_446_744_073).unwrap().unix_nanos(),
            18_446_744_073_000_000_000
        );
        assert_eq!(Time::from_unix_secs(18_446_744_074), None);
    }

    #[test]
    fn time_arithmetic_within_range() {
        let t = Time::from_unix_nanos(1_000);
        assert_eq!(
            t.checked_add(Duration::from_nanos(5)),
            Some(Time::from_unix_nanos(1_005))
        );
        assert_eq!(
            t.checked_sub(Duration::from_nanos(5)),
            Some(Time::from_unix_nanos(995))
        );
        assert_eq!(
            t.checked_sub(Duration::from_nanos(1_000)),
            Some(Time::EPOCH)
        );
        assert_eq!(t.checked_sub(Duration::from_nanos(1_001)), None);
        assert_eq!(
            Time::from_unix_nanos(u64::MAX - 1).checked_add(Duration::from_nanos(1)),
            Some(Time::from_unix_nanos(u64::MAX))
        );
        assert_eq!(Time::EPOCH.checked_add(Duration::MAX), None);
        assert_eq!(
            t.saturating_duration_since(Time::EPOCH),
            Duration::from_nanos(1_000)
        );
    }

    #[test]
    fn hashes_print_and_parse_as_hex() {
        let mut bytes = [0u8; 32];
        bytes[0] = 0xab;
        bytes[31] = 0x01;
        let h = Hash32(bytes);
        let hex = format!("ab{}01", "00".repeat(30));
        assert_eq!(h.to_string(), hex);
        assert_eq!(format!("{h:?}"), format!("Hash32({hex})"));
        assert_eq!(Hash32::from_hex(&hex), Ok(h));
        assert_eq!(h.as_bytes(), &bytes);
        assert_eq!(Hash32::default(), Hash32::ZERO);
        assert_eq!(serde_json::to_string(&h).unwrap(), format!("\"{hex}\""));
        assert_eq!(
            serde_json::from_str::<Hash32>(&format!("\"{hex}\"")).unwrap(),
            h
        );
        let cbor = crate::codec::encode("hash", &h).unwrap();
        assert_eq!(crate::codec::decode::<Hash32>("hash", &cbor).unwrap(), h);
    }

    #[test]
    fn fixed_size_bytes_refuse_other_lengths_saying_what_they_expect() {
        let short = crate::codec::encode("bytes", &ciborium::Value::Bytes(vec![1; 31])).unwrap();
        let err = crate::codec::decode::<Hash32>("hash", &short).unwrap_err();
        assert!(
            err.to_string()
                .contains("expected 32 bytes or 64 hex digits"),
            "{err}"
        );
        let err = serde_json::from_str::<Hash32>("\"abcd\"").unwrap_err();
        assert!(err.to_string().starts_with("bad hex:"), "{err}");
        let err = serde_json::from_str::<Hash32>("7").unwrap_err();
        assert!(
            err.to_string()
                .contains("expected 32 bytes or 64 hex digits"),
            "{err}"
        );
    }

    #[test]
    fn threshold_needs_a_nonzero_denominator_and_reports_itself() {
        assert_eq!(
            TrustThreshold::new(1, 0),
            Err(TrustThresholdError {
                numerator: 1,
                denominator: 0
            })
        );
        assert_eq!(
            TrustThreshold::new(3, 2).unwrap_err().to_string(),
            "trust threshold 3/2 must be a fraction between 1/3 and 1"
        );
        let t = TrustThreshold::new(3, 4).unwrap();
        assert_eq!((t.numerator(), t.denominator()), (3, 4));
        assert_eq!(t.to_string(), "3/4");
        assert_eq!(format!("{t:?}"), "3/4");
        assert_eq!(TrustThreshold::default(), TrustThreshold::ONE_THIRD);
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#"{"numerator":3,"denominator":4}"#
        );
    }

    #[test]
    fn default_options_trust_for_two_weeks_with_ten_seconds_of_drift() {
        let o = Options::default();
        assert_eq!(o.trust_threshold, TrustThreshold::ONE_THIRD);
        assert_eq!(o.trusting_period, Duration::from_secs(1_209_600));
        assert_eq!(o.clock_drift, Duration::from_secs(10));
    }

    proptest! {
        #![proptest_config(crate::test_support::proptest_config(256))]

        #[test]
        fn threshold_matches_exact_rational_comparison(
            num in 1u64.., den in 1u64.., signed: u64, total: u64
        ) {
            match TrustThreshold::new(num, den) {
                Ok(t) => {
                    // compare signed/total > num/den using big integers by hand
                    let lhs = u128::from(signed) * u128::from(den);
                    let rhs = u128::from(total) * u128::from(num);
                    prop_assert_eq!(t.is_exceeded_by(signed, total), lhs > rhs);
                    prop_assert!(u128::from(num) * 3 >= u128::from(den));
                    prop_assert!(num <= den);
                }
                Err(_) => prop_assert!(num > den || u128::from(num) * 3 < u128::from(den)),
            }
        }

        #[test]
        fn threshold_at_power_extremes(signed in (u64::MAX - 10)..=u64::MAX) {
            // Must not overflow at the edges of voting power.
            let t = TrustThreshold::TWO_THIRDS;
            prop_assert!(t.is_exceeded_by(signed, u64::MAX));
            prop_assert!(!t.is_exceeded_by(u64::MAX / 3 * 2, u64::MAX));
        }
    }
}
