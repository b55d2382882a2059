//! Code lists and check digits of TRADE-DOCS.md: ISO 3166-1 alpha-2, ISO 4217 with minor
//! units, UN/LOCODE, HS, ISO 6346, LEI, IBAN, BIC, UETR and Incoterms 2020.
//!
//! Every function first checks its input is ASCII of the right length, so slicing is safe,
//! and all arithmetic is on small bounded numbers (remainders below 97, at most 27 digits).
#![allow(clippy::arithmetic_side_effects)]

/// ISO 3166-1 alpha-2 country codes (officially assigned).
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ \
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR \
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP \
KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ \
NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW \
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ \
UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// Active ISO 4217 currency codes with their minor units (decimal places).
const CURRENCIES: &[(&str, u32)] = &[
    ("AED", 2),
    ("AFN", 2),
    ("ALL", 2),
    ("AMD", 2),
    ("ANG", 2),
    ("AOA", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("AWG", 2),
    ("AZN", 2),
    ("BAM", 2),
    ("BBD", 2),
    ("BDT", 2),
    ("BGN", 2),
    ("BHD", 3),
    ("BIF", 0),
    ("BMD", 2),
    ("BND", 2),
    ("BOB", 2),
    ("BRL", 2),
    ("BSD", 2),
    ("BTN", 2),
    ("BWP", 2),
    ("BYN", 2),
    ("BZD", 2),
    ("CAD", 2),
    ("CDF", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("CRC", 2),
    ("CUP", 2),
    ("CVE", 2),
    ("CZK", 2),
    ("DJF", 0),
    ("DKK", 2),
    ("DOP", 2),
    ("DZD", 2),
    ("EGP", 2),
    ("ERN", 2),
    ("ETB", 2),
    ("EUR", 2),
    ("FJD", 2),
    ("FKP", 2),
    ("GBP", 2),
    ("GEL", 2),
    ("GHS", 2),
    ("GIP", 2),
    ("GMD", 2),
    ("GNF", 0),
    ("GTQ", 2),
    ("GYD", 2),
    ("HKD", 2),
    ("HNL", 2),
    ("HTG", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("IQD", 3),
    ("IRR", 2),
    ("ISK", 0),
    ("JMD", 2),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KGS", 2),
    ("KHR", 2),
    ("KMF", 0),
    ("KPW", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("KYD", 2),
    ("KZT", 2),
    ("LAK", 2),
    ("LBP", 2),
    ("LKR", 2),
    ("LRD", 2),
    ("LSL", 2),
    ("LYD", 3),
    ("MAD", 2),
    ("MDL", 2),
    ("MGA", 2),
    ("MKD", 2),
    ("MMK", 2),
    ("MNT", 2),
    ("MOP", 2),
    ("MRU", 2),
    ("MUR", 2),
    ("MVR", 2),
    ("MWK", 2),
    ("MXN", 2),
    ("MYR", 2),
    ("MZN", 2),
    ("NAD", 2),
    ("NGN", 2),
    ("NIO", 2),
    ("NOK", 2),
    ("NPR", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PAB", 2),
    ("PEN", 2),
    ("PGK", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("PYG", 0),
    ("QAR", 2),
    ("RON", 2),
    ("RSD", 2),
    ("RUB", 2),
    ("RWF", 0),
    ("SAR", 2),
    ("SBD", 2),
    ("SCR", 2),
    ("SDG", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("SHP", 2),
    ("SLE", 2),
    ("SOS", 2),
    ("SRD", 2),
    ("SSP", 2),
    ("STN", 2),
    ("SVC", 2),
    ("SYP", 2),
    ("SZL", 2),
    ("THB", 2),
    ("TJS", 2),
    ("TMT", 2),
    ("TND", 3),
    ("TOP", 2),
    ("TRY", 2),
    ("TTD", 2),
    ("TWD", 2),
    ("TZS", 2),
    ("UAH", 2),
    ("UGX", 0),
    ("USD", 2),
    ("UYU", 2),
    ("UZS", 2),
    ("VES", 2),
    ("VND", 0),
    ("VUV", 0),
    ("WST", 2),
    ("XAF", 0),
    ("XCD", 2),
    ("XOF", 0),
    ("XPF", 0),
    ("YER", 2),
    ("ZAR", 2),
    ("ZMW", 2),
    ("ZWG", 2),
];

/// Incoterms 2020 rules; the sea-only four name a port.
pub(crate) const INCOTERMS: &[&str] = &[
    "EXW", "FCA", "CPT", "CIP", "DAP", "DPU", "DDP", "FAS", "FOB", "CFR", "CIF",
];

/// Whether `code` is an ISO 3166-1 alpha-2 country.
pub fn is_country(code: &str) -> bool {
    code.len() == 2 && COUNTRIES.split(' ').any(|c| c == code)
}

/// Minor units of an ISO 4217 currency, or `None` if the code is not one.
pub fn currency_minor_units(code: &str) -> Option<u32> {
    CURRENCIES.iter().find(|(c, _)| *c == code).map(|(_, m)| *m)
}

/// UN/LOCODE: `^[A-Z]{2}[A-Z2-9]{3}$` with a valid country prefix.
pub fn is_locode(code: &str) -> bool {
    let b = code.as_bytes();
    code.is_ascii()
        && b.len() == 5
        && is_country(&code[..2])
        && b[2..]
            .iter()
            .all(|c| c.is_ascii_uppercase() || (b'2'..=b'9').contains(c))
}

/// HS code: 6 to 12 digits (national lines keep the 6-digit HS prefix).
pub fn is_hs_code(code: &str, max: usize) -> bool {
    (6..=max).contains(&code.len()) && code.bytes().all(|c| c.is_ascii_digit())
}

/// ISO 6346 container number `^[A-Z]{3}[UJZ]\d{7}$` with its check digit.
pub fn is_container(code: &str) -> bool {
    let b = code.as_bytes();
    if b.len() != 11
        || !b[..3].iter().all(u8::is_ascii_uppercase)
        || !matches!(b[3], b'U' | b'J' | b'Z')
        || !b[4..].iter().all(u8::is_ascii_digit)
    {
        return false;
    }
    let mut sum: u64 = 0;
    for (i, &c) in b[..10].iter().enumerate() {
        let v = if c.is_ascii_digit() {
            u64::from(c - b'0')
        } else {
            container_letter_value(c)
        };
        sum = sum.saturating_add(v << i);
    }
    let check = (sum % 11) % 10;
    u64::from(b[10] - b'0') == check
}

/// Letter values of ISO 6346: A = 10 upwards, skipping multiples of 11.
fn container_letter_value(c: u8) -> u64 {
    let mut v = 10u64;
    let mut letter = b'A';
    while letter < c {
        v = v.saturating_add(1);
        if v.is_multiple_of(11) {
            v = v.saturating_add(1);
        }
        letter = letter.saturating_add(1);
    }
    v
}

/// ISO 7064 mod 97-10 over letters-as-numbers (A = 10 ... Z = 35).
fn mod97(chars: impl Iterator<Item = u8>) -> Option<u64> {
    let mut rem: u64 = 0;
    for c in chars {
        let v = match c {
            b'0'..=b'9' => u64::from(c - b'0'),
            b'A'..=b'Z' => u64::from(c - b'A').saturating_add(10),
            _ => return None,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    Some(rem)
}

/// LEI (ISO 17442): `^[A-Z0-9]{18}\d{2}$`, mod 97 = 1.
pub fn is_lei(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 20
        && b[..18]
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && b[18..].iter().all(u8::is_ascii_digit)
        && mod97(b.iter().copied()) == Some(1)
}

/// IBAN (ISO 13616): country, two check digits, up to 30 alphanumerics; mod 97 = 1 after
/// moving the first four characters to the end.
pub fn is_iban(code: &str) -> bool {
    let b = code.as_bytes();
    code.is_ascii()
        && (15..=34).contains(&b.len())
        && is_country(&code[..2])
        && b[2..4].iter().all(u8::is_ascii_digit)
        && mod97(b[4..].iter().chain(&b[..4]).copied()) == Some(1)
}

/// BIC (ISO 9362): `^[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$`, valid country.
pub fn is_bic(code: &str) -> bool {
    let b = code.as_bytes();
    let alnum = |c: &u8| c.is_ascii_uppercase() || c.is_ascii_digit();
    code.is_ascii()
        && (b.len() == 8 || b.len() == 11)
        && b[..4].iter().all(alnum)
        && is_country(&code[4..6])
        && b[6..].iter().all(alnum)
}

/// UETR: a lowercase UUID version 4 (`xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx`).
pub fn is_uetr(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            14 => *c == b'4',
            19 => matches!(c, b'8' | b'9' | b'a' | b'b'),
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(c),
        })
}

/// Days in `month` of `year` (proleptic Gregorian).
fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// An ISO 8601 calendar date `YYYY-MM-DD`, as a sortable number `YYYYMMDD`.
pub fn iso_date(s: &str) -> Option<u32> {
    let b = s.as_bytes();
    if !s.is_ascii() {
        return None;
    }
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    ymd(digits(s, 0..4)?, digits(s, 5..7)?, digits(s, 8..10)?)
}

/// A SWIFT date `YYMMDD` (years 2000-2099), as `YYYYMMDD`.
pub fn swift_date(s: &str) -> Option<u32> {
    if s.len() != 6 || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    ymd(2000 + digits(s, 0..2)?, digits(s, 2..4)?, digits(s, 4..6)?)
}

/// The decimal number in `s[r]`, which must be all ASCII digits: `u32`'s parser also takes
/// a leading `+`, which no date or time field may have.
fn digits(s: &str, r: core::ops::Range<usize>) -> Option<u32> {
    s.get(r)
        .filter(|d| d.bytes().all(|c| c.is_ascii_digit()))?
        .parse()
        .ok()
}

fn ymd(y: u32, m: u32, d: u32) -> Option<u32> {
    ((1..=12).contains(&m) && (1..=days_in_month(y, m)).contains(&d))
        .then_some(y * 10_000 + m * 100 + d)
}

/// An ISO 8601 date-time `YYYY-MM-DDThh:mm:ss[.fff][Z|±hh:mm]`.
pub fn is_iso_datetime(s: &str) -> bool {
    if !s.is_ascii() {
        return false;
    }
    let (Some(date), Some(rest)) = (s.get(..10), s.get(10..)) else {
        return false;
    };
    if iso_date(date).is_none() || !rest.starts_with('T') {
        return false;
    }
    let t = rest.as_bytes();
    if t.len() < 9 || t[3] != b':' || t[6] != b':' {
        return false;
    }
    let two = |i: usize| digits(rest, i..i + 2);
    match (two(1), two(4), two(7)) {
        (Some(h), Some(m), Some(sec)) if h < 24 && m < 60 && sec < 61 => {}
        _ => return false,
    }
    let mut tail = &rest[9..];
    if let Some(frac) = tail.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return false;
        }
        tail = &frac[digits..];
    }
    let offset = |t: &str| {
        t.len() == 6
            && matches!(t.as_bytes()[0], b'+' | b'-')
            && t.as_bytes()[3] == b':'
            && digits(t, 1..3).is_some_and(|h| h < 24)
            && digits(t, 4..6).is_some_and(|m| m < 60)
    };
    tail.is_empty() || tail == "Z" || offset(tail)
}

/// A decimal amount `-?\d+([.,]\d+)?` as (units scaled by 10^scale, scale).
pub fn decimal(s: &str) -> Option<(i128, u32)> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int, frac) = match digits.split_once(['.', ',']) {
        Some((i, f)) => (i, f),
        None => (digits, ""),
    };
    if int.is_empty()
        || int.len() > 18
        || frac.len() > 9
        || !int.bytes().chain(frac.bytes()).all(|c| c.is_ascii_digit())
    {
        return None;
    }
    if digits.contains(['.', ',']) && frac.is_empty() {
        return None;
    }
    let scale = u32::try_from(frac.len()).ok()?;
    let value: i128 = format!("{int}{frac}").parse().ok()?;
    Some((if neg { -value } else { value }, scale))
}

/// Brings two scaled decimals to one scale.
pub fn rescale(value: i128, from: u32, to: u32) -> i128 {
    value * 10i128.pow(to.saturating_sub(from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_check_digits() {
        // Worked examples of ISO 6346 (BIC code register).
        assert!(is_container("CSQU3054383"));
        assert!(is_container("MSKU9070323"));
        assert!(!is_container("CSQU3054384"));
        assert!(!is_container("CSQX3054383"));
        assert!(!is_container("CSQU305438"));
    }

    #[test]
    fn lei_iban_bic_uetr() {
        assert!(is_lei("5493001KJTIIGC8Y1R12"));
        assert!(!is_lei("5493001KJTIIGC8Y1R13"));
        assert!(is_iban("GB82WEST12345698765432"));
        assert!(is_iban("DE89370400440532013000"));
        assert!(!is_iban("GB82WEST12345698765433"));
        assert!(is_bic("DEUTDEFF"));
        assert!(is_bic("BKCHCNBJ300"));
        assert!(!is_bic("DEUTXXFF"));
        assert!(is_uetr("eb6305c9-1f7f-49de-aed0-16487c27b42d"));
        assert!(!is_uetr("EB6305C9-1F7F-49DE-AED0-16487C27B42D"));
        assert!(!is_uetr("eb6305c9-1f7f-39de-aed0-16487c27b42d"));
    }

    #[test]
    fn locode_country_currency_hs() {
        assert!(is_locode("CNSHA"));
        assert!(is_locode("PKKHI"));
        assert!(is_locode("KZALA"));
        assert!(!is_locode("XXSHA"));
        assert!(!is_locode("CNSH1"));
        assert!(is_country("KZ") && !is_country("ZZ"));
        assert_eq!(currency_minor_units("JPY"), Some(0));
        assert_eq!(currency_minor_units("KWD"), Some(3));
        assert_eq!(currency_minor_units("XYZ"), None);
        assert!(is_hs_code("850440", 12) && is_hs_code("850440900000", 12));
        assert!(!is_hs_code("85044", 12) && !is_hs_code("85044A", 12));
    }

    #[test]
    fn dates_and_decimals() {
        assert_eq!(iso_date("2024-02-29"), Some(20240229));
        assert_eq!(iso_date("2023-02-29"), None);
        assert_eq!(swift_date("261128"), Some(20261128));
        assert!(is_iso_datetime("2026-11-28T10:33:49Z"));
        assert!(is_iso_datetime("2026-11-28T10:33:49.123+08:00"));
        assert!(!is_iso_datetime("2026-11-28 10:33:49"));
        assert_eq!(decimal("1234.50"), Some((123450, 2)));
        assert_eq!(decimal("1234,5"), Some((12345, 1)));
        assert_eq!(decimal("-3"), Some((-3, 0)));
        assert_eq!(decimal("1."), None);
        assert_eq!(decimal("1e5"), None);
    }

    #[test]
    fn container_check_digits_cover_every_remainder() {
        // One owner code, serial numbers chosen so the weighted sum leaves each remainder
        // mod 11; a remainder of 10 gives the check digit 0, as 0 does.
        for number in [
            "MSKU0000140", // remainder 0
            "MSKU0000011",
            "MSKU0000032",
            "MSKU0000053",
            "MSKU0000074",
            "MSKU0000095",
            "MSKU0000006",
            "MSKU0000027",
            "MSKU0000048",
            "MSKU0000069",
            "MSKU0000080", // remainder 10
        ] {
            assert!(is_container(number), "{number}");
            for wrong in (b'0'..=b'9').filter(|&d| d != number.as_bytes()[10]) {
                let mut other = number.as_bytes().to_vec();
                other[10] = wrong;
                let other = String::from_utf8(other).unwrap();
                assert!(!is_container(&other), "{other}");
            }
        }
        // The shape: three capitals, U, J or Z, seven digits.
        assert!(is_container("MSKJ0000009") && is_container("MSKZ0000000"));
        for bad in [
            "",
            "CSQU305438",
            "CSQU30543833",
            "csqU3054383",
            "CS1U3054383",
            "CSQX3054383",
            "CSQU305438A",
            "CSQU30543A3",
        ] {
            assert!(!is_container(bad), "{bad}");
        }
        // Each part of the shape wrong on its own, with the check digit the weighted sum
        // gives: refused for the shape alone.
        for bad in [
            "M1KU0000003",
            "MSK10000000",
            "MSKX0000005",
            "MSKU00000A0",
            "MSKU0A00007",
        ] {
            assert!(!is_container(bad), "{bad}");
        }
    }

    #[test]
    fn lei_iban_bic_and_uetr_shapes_at_their_edges() {
        // LEI: 18 alphanumerics, two digits.
        for bad in [
            "",
            "5493",
            "5493001KJTIIGC8Y1R1",
            "5493001KJTIIGC8Y1RWZ",
            "5493001kjtiigc8y1r12",
        ] {
            assert!(!is_lei(bad), "{bad}");
        }
        // IBAN: 15 to 34 characters, a country, two check digits. Each refused one below
        // has a valid mod 97 checksum.
        assert!(is_iban("NO9386011117947"));
        // Long runs of letters (each letter is two digits of the number mod 97).
        assert!(is_iban("GB83WESTABCDEFGHIJ12"));
        assert!(is_lei("ABCDEFGHIJKLMNOPQR30"));
        assert!(is_iban("GB60WEST11111111111111111111111111"));
        for bad in [
            "",
            "GB8",
            "GB57WEST123456",
            "GB23WEST111111111111111111111111111",
            "ZZ11WEST1234567890",
            "GBAKWEST12345698765432",
        ] {
            assert!(!is_iban(bad), "{bad}");
        }
        // BIC: 8 or 11 characters.
        for bad in [
            "",
            "DEU",
            "DEUTDEF",
            "DEUTDEFFX",
            "DEUTDEFF30",
            "DEUTDEFF3000",
            "deutDEFF",
            "DEU!DEFF",
            "DEUTDEF!",
        ] {
            assert!(!is_bic(bad), "{bad}");
        }
        assert!(is_bic("1EUTDEF2"));
        // UETR: 36 characters, the version 4 and the variant 8, 9, a or b.
        for variant in ['8', '9', 'a', 'b'] {
            let uetr = format!("eb6305c9-1f7f-49de-{variant}ed0-16487c27b42d");
            assert!(is_uetr(&uetr), "{uetr}");
        }
        for bad in [
            "eb6305c9-1f7f-49de-ced0-16487c27b42d",
            "eb6305c9-1f7f-49de-7ed0-16487c27b42d",
            "eb6305c9-1f7f-49de-aed0-16487c27b42d0",
            "eb6305c9-1f7f-49de-aed0-16487c27b42",
            "eb6305c9x1f7f-49de-aed0-16487c27b42d",
            "eb6305c9-1f7f-49de-aed0-16487c27b42g",
        ] {
            assert!(!is_uetr(bad), "{bad}");
        }
    }

    #[test]
    fn locodes_are_five_characters() {
        for bad in ["", "CN", "CNSH", "CNSHAX", "CNsha", "CNSH0", "CNSH1"] {
            assert!(!is_locode(bad), "{bad}");
        }
        assert!(is_locode("CNSH2") && is_locode("CNSH9"));
    }

    #[test]
    fn dates_at_the_edges_of_months_and_years() {
        assert_eq!(iso_date("2026-04-30"), Some(20260430));
        for month in ["04", "06", "09", "11"] {
            assert_eq!(iso_date(&format!("2026-{month}-31")), None, "{month}");
        }
        assert_eq!(iso_date("2026-12-31"), Some(20261231));
        assert_eq!(iso_date("2026-01-31"), Some(20260131));
        assert_eq!(iso_date("2000-02-29"), Some(20000229));
        assert_eq!(iso_date("1900-02-29"), None);
        assert_eq!(iso_date("2023-02-28"), Some(20230228));
        for bad in [
            "2026-13-01",
            "2026-00-01",
            "2026-01-00",
            "2026-01-32",
            "2024-02-290",
            "2024-02-2",
            "2024/02-29",
            "2024-02/29",
            "2024-02-é",
        ] {
            assert_eq!(iso_date(bad), None, "{bad}");
        }
        assert_eq!(swift_date("991231"), Some(20991231));
        assert_eq!(swift_date("000101"), Some(20000101));
        for bad in ["2611280", "26112", "26-128", "261131", "261301"] {
            assert_eq!(swift_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn date_times_at_the_edges_of_each_field() {
        for good in [
            "2026-11-28T23:59:59",
            "2026-11-28T00:00:00Z",
            "2026-11-28T23:59:60Z",
            "2026-11-28T10:33:49.1Z",
            "2026-11-28T10:33:49-05:00",
        ] {
            assert!(is_iso_datetime(good), "{good}");
        }
        for bad in [
            "2026-11-28T24:00:00Z",
            "2026-11-28T23:60:00Z",
            "2026-11-28T23:59:61Z",
            "2026-13-28T10:33:49Z",
            "2026-11-28X10:33:49Z",
            "2026-11-28T10:33",
            "2026-11-28T10-33:49Z",
            "2026-11-28T10:33-49Z",
            "2026-11-28T10:33:49.Z",
            "2026-11-28T10:33:49z",
            "2026-11-28T10:33:49x08:00",
            "2026-11-28T10:33:49+08-00",
            "2026-11-28T10:33:49+0800",
            "2026-11-28T10:33:49+08:000",
            "2026-11-28",
            "2026-11-2",
        ] {
            assert!(!is_iso_datetime(bad), "{bad}");
        }
    }

    #[test]
    fn decimals_at_their_digit_limits() {
        let max_int = "9".repeat(18);
        assert_eq!(decimal(&max_int), Some((999_999_999_999_999_999, 0)));
        assert_eq!(decimal(&format!("1{max_int}")), None);
        assert_eq!(decimal("0.123456789"), Some((123_456_789, 9)));
        assert_eq!(decimal("0.1234567890"), None);
        for bad in ["", "-", ".5", "1.2.3", "1a", "+1", " 1", "1,"] {
            assert_eq!(decimal(bad), None, "{bad}");
        }
        assert_eq!(decimal("-0,05"), Some((-5, 2)));
        assert_eq!(rescale(5, 0, 2), 500);
        assert_eq!(rescale(-5, 1, 1), -5);
    }

    #[test]
    fn date_and_time_fields_are_digits_only() {
        // `u32`'s parser takes a leading '+': none of these is a date or a time.
        for bad in ["2024-+2-29", "+024-02-29", "2024-02-+9"] {
            assert_eq!(iso_date(bad), None, "{bad}");
        }
        for bad in [
            "2026-11-28T+1:33:49Z",
            "2026-11-28T10:+3:49Z",
            "2026-11-28T10:33:+9Z",
            "2026-11-28T10:33:49+ab:cd",
            "2026-11-28T10:33:49+24:00",
            "2026-11-28T10:33:49-00:60",
            "2026-11-28T10:33:49++1:00",
        ] {
            assert!(!is_iso_datetime(bad), "{bad}");
        }
        assert!(is_iso_datetime("2026-11-28T10:33:49+23:59"));
        assert!(is_iso_datetime("2026-11-28T10:33:49-00:00"));
    }
}
