//! Text forms of times and bytes that both SQL backends and JSON readers parse.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `2026-11-26T13:07:24.123456Z`: RFC 3339 in UTC, to the microsecond (the precision of
/// PostgreSQL's `timestamptz`). Times before 1970 are written as negative offsets too.
pub fn rfc3339(time: SystemTime) -> String {
    let (seconds, micros) = match time.duration_since(UNIX_EPOCH) {
        Ok(after) => (after.as_secs() as i64, after.subsec_micros()),
        Err(before) => {
            let before = before.duration();
            let micros = before.subsec_micros();
            if micros == 0 {
                (-(before.as_secs() as i64), 0)
            } else {
                (-(before.as_secs() as i64) - 1, 1_000_000 - micros)
            }
        }
    };
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A duration in seconds with nanosecond digits: `1.500000000`.
pub fn seconds(duration: Duration) -> String {
    format!("{}.{:09}", duration.as_secs(), duration.subsec_nanos())
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

/// A UUID's canonical text: `01a217fe-9be3-7000-9139-59794b914441`.
pub fn hyphenated(bytes: &[u8; 16]) -> String {
    let digits = hex(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &digits[..8],
        &digits[8..12],
        &digits[12..16],
        &digits[16..20],
        &digits[20..]
    )
}

/// A decimal's exact text, `mantissa * 10^-scale`: `-12.50` for (-1250, 2).
pub fn decimal(mantissa: i128, scale: u32) -> String {
    let digits = mantissa.unsigned_abs().to_string();
    let scale = scale as usize;
    // At least one digit before the point.
    let digits = format!("{digits:0>width$}", width = scale + 1);
    let (whole, fraction) = digits.split_at(digits.len() - scale);
    let sign = if mantissa < 0 { "-" } else { "" };
    if fraction.is_empty() {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{fraction}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_matches_known_instants() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
        let t = UNIX_EPOCH + Duration::new(1_795_698_444, 123_456_789);
        assert_eq!(rfc3339(t), "2026-11-26T13:07:24.123456Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00.000000Z"
        );
        let before = UNIX_EPOCH - Duration::new(1, 500_000);
        assert_eq!(rfc3339(before), "1969-12-31T23:59:58.999500Z");
    }

    #[test]
    fn hex_and_seconds() {
        assert_eq!(hex(&[0, 0xab, 0xff]), "00abff");
        assert_eq!(seconds(Duration::new(3, 7)), "3.000000007");
    }

    #[test]
    fn decimals_keep_their_scale_and_sign() {
        assert_eq!(decimal(-1250, 2), "-12.50");
        assert_eq!(decimal(5, 3), "0.005");
        assert_eq!(decimal(-5, 1), "-0.5");
        assert_eq!(decimal(42, 0), "42");
        assert_eq!(decimal(0, 2), "0.00");
    }

    #[test]
    fn uuids_are_hyphenated_lowercase() {
        let bytes = event_runtime::EventId::parse("01A217FE9BE37000913959794B914441")
            .unwrap()
            .to_bytes();
        assert_eq!(hyphenated(&bytes), "01a217fe-9be3-7000-9139-59794b914441");
    }
}
