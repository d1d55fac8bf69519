//! Rows in PostgreSQL's binary `COPY` format: each value in its type's wire form, so the
//! server stores it without parsing text (timestamps, UUIDs and numerics are the costly
//! ones to parse). The format: a signature and two zero words, then per row a field count
//! and per field a length (-1 for NULL) and the bytes, then -1.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::row::Cell;
use crate::table::ColumnKind;

const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";
/// PostgreSQL's epoch, 2000-01-01T00:00:00Z, in Unix seconds.
const POSTGRES_EPOCH: u64 = 946_684_800;

/// Starts a COPY stream.
pub fn header(out: &mut Vec<u8>) {
    out.extend_from_slice(SIGNATURE);
    out.extend_from_slice(&0i32.to_be_bytes()); // flags
    out.extend_from_slice(&0i32.to_be_bytes()); // header extension length
}

/// Ends a COPY stream.
pub fn trailer(out: &mut Vec<u8>) {
    out.extend_from_slice(&(-1i16).to_be_bytes());
}

/// Appends one row; `kinds` are its columns' kinds, in order.
pub fn row(out: &mut Vec<u8>, kinds: &[ColumnKind], cells: &[Cell]) {
    out.extend_from_slice(&(cells.len() as i16).to_be_bytes());
    for (kind, cell) in kinds.iter().zip(cells) {
        field(out, *kind, cell);
    }
}

/// Appends a length-prefixed value written by `write`.
fn sized(out: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) {
    let at = out.len();
    out.extend_from_slice(&0i32.to_be_bytes());
    write(out);
    let len = (out.len() - at - 4) as i32;
    out[at..at + 4].copy_from_slice(&len.to_be_bytes());
}

fn field(out: &mut Vec<u8>, kind: ColumnKind, cell: &Cell) {
    match (kind, cell) {
        (_, Cell::Null) => out.extend_from_slice(&(-1i32).to_be_bytes()),
        (_, Cell::Uuid(bytes)) => sized(out, |out| out.extend_from_slice(bytes)),
        (_, Cell::Tag(text)) => sized(out, |out| out.extend_from_slice(text.as_bytes())),
        (ColumnKind::Json, Cell::Json(text)) => sized(out, |out| {
            out.push(1); // jsonb's binary format version
            out.extend_from_slice(text.as_bytes());
        }),
        (_, Cell::Text(text) | Cell::Json(text)) => {
            sized(out, |out| out.extend_from_slice(text.as_bytes()))
        }
        (_, Cell::Bytes(bytes)) => sized(out, |out| out.extend_from_slice(bytes)),
        (_, Cell::Bool(v)) => sized(out, |out| out.push(u8::from(*v))),
        (_, Cell::Int(v)) => sized(out, |out| out.extend_from_slice(&v.to_be_bytes())),
        (_, Cell::Float(v)) => sized(out, |out| out.extend_from_slice(&v.to_be_bytes())),
        (_, Cell::UInt(v)) => sized(out, |out| numeric(out, i128::from(*v), 0)),
        (_, Cell::Decimal { mantissa, scale }) => sized(out, |out| numeric(out, *mantissa, *scale)),
        (_, Cell::Timestamp(t)) => sized(out, |out| {
            out.extend_from_slice(&timestamp_micros(*t).to_be_bytes())
        }),
        (_, Cell::Duration(d)) => sized(out, |out| interval(out, *d, false)),
        (_, Cell::NegativeDuration(d)) => sized(out, |out| interval(out, *d, true)),
    }
}

/// Microseconds since 2000-01-01, truncated (the precision of `timestamptz`).
fn timestamp_micros(time: SystemTime) -> i64 {
    let epoch = UNIX_EPOCH + Duration::from_secs(POSTGRES_EPOCH);
    match time.duration_since(epoch) {
        Ok(after) => after.as_micros() as i64,
        Err(before) => {
            let before = before.duration();
            // Truncation toward the past, as for times after the epoch.
            -(before.as_micros() as i64) - i64::from(before.subsec_nanos() % 1000 != 0)
        }
    }
}

/// An interval of whole microseconds: `(micros: i64, days: i32, months: i32)`.
fn interval(out: &mut Vec<u8>, duration: Duration, negative: bool) {
    let micros = i64::try_from(duration.as_micros()).unwrap_or(i64::MAX);
    let micros = if negative { -micros } else { micros };
    out.extend_from_slice(&micros.to_be_bytes());
    out.extend_from_slice(&0i32.to_be_bytes());
    out.extend_from_slice(&0i32.to_be_bytes());
}

/// `mantissa * 10^-scale` as `numeric`: base-10000 digits, most significant first, each
/// group aligned on the decimal point; the weight is the first group's power of 10000, and
/// leading and trailing zero groups are dropped. The display scale keeps `scale`.
/// Written without allocating: a `u64` column is one of these in most rows.
fn numeric(out: &mut Vec<u8>, mantissa: i128, scale: u32) {
    // The decimal digits, least significant first: at most 39 for an i128.
    let mut digits = [0u8; 39];
    let mut len = 0;
    let mut rest = mantissa.unsigned_abs();
    while rest > 0 {
        digits[len] = (rest % 10) as u8;
        rest /= 10;
        len += 1;
    }
    // Digit i stands for 10^(i - scale): group (i - scale) div 4, at (i - scale) mod 4 in
    // it. The groups the digits span, lowest first: at most 11.
    let exponent = |i: usize| i as i64 - i64::from(scale);
    let lowest = exponent(0).div_euclid(4);
    let mut groups = [0i16; 12];
    for (i, &digit) in digits[..len].iter().enumerate() {
        let group = (exponent(i).div_euclid(4) - lowest) as usize;
        groups[group] += i16::from(digit) * 10i16.pow(exponent(i).rem_euclid(4) as u32);
    }
    let spanned = if len == 0 {
        0
    } else {
        (exponent(len - 1).div_euclid(4) - lowest) as usize + 1
    };
    let first = groups[..spanned].iter().position(|&g| g != 0);
    let last = groups[..spanned].iter().rposition(|&g| g != 0);
    let (kept, weight) = match (first, last) {
        (Some(first), Some(last)) => (&groups[first..=last], lowest + last as i64),
        _ => (&groups[..0], 0),
    };
    let sign: i16 = if mantissa < 0 && !kept.is_empty() {
        0x4000
    } else {
        0
    };
    out.extend_from_slice(&(kept.len() as i16).to_be_bytes());
    out.extend_from_slice(&(weight as i16).to_be_bytes());
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&(scale as i16).to_be_bytes());
    for &group in kept.iter().rev() {
        out.extend_from_slice(&group.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric_bytes(value: u64) -> Vec<i16> {
        decimal_bytes(i128::from(value), 0)
    }

    fn decimal_bytes(mantissa: i128, scale: u32) -> Vec<i16> {
        let mut out = Vec::new();
        numeric(&mut out, mantissa, scale);
        out.chunks(2)
            .map(|c| i16::from_be_bytes([c[0], c[1]]))
            .collect()
    }

    #[test]
    fn numerics_are_base_10000_digits_with_a_weight() {
        // [ndigits, weight, sign, dscale, digits...]
        assert_eq!(numeric_bytes(0), [0, 0, 0, 0]);
        assert_eq!(numeric_bytes(9_999), [1, 0, 0, 0, 9_999]);
        assert_eq!(numeric_bytes(10_000), [1, 1, 0, 0, 1]);
        assert_eq!(numeric_bytes(1_0000_0001), [3, 2, 0, 0, 1, 0, 1]);
        assert_eq!(
            numeric_bytes(u64::MAX), // 1844 6744 0737 0955 1615
            [5, 4, 0, 0, 1844, 6744, 737, 955, 1615]
        );
    }

    #[test]
    fn decimals_align_their_groups_on_the_point() {
        // [ndigits, weight, sign, dscale, digits...]; 0x4000 is negative.
        assert_eq!(decimal_bytes(-1250, 2), [2, 0, 0x4000, 2, 12, 5000]);
        assert_eq!(decimal_bytes(5, 3), [1, -1, 0, 3, 50]);
        assert_eq!(decimal_bytes(123_456_789, 4), [3, 1, 0, 4, 1, 2345, 6789]);
        assert_eq!(decimal_bytes(0, 2), [0, 0, 0, 2]);
        assert_eq!(decimal_bytes(-7, 0), [1, 0, 0x4000, 0, 7]);
        assert_eq!(decimal_bytes(10_000_000, 4), [1, 0, 0, 4, 1000]);
        // i128's extremes: 39 digits.
        assert_eq!(
            decimal_bytes(i128::MIN, 0), // 170 1411 8346 0469 2317 3168 7303 7158 8410 5728
            [10, 9, 0x4000, 0, 170, 1411, 8346, 469, 2317, 3168, 7303, 7158, 8410, 5728]
        );
        assert_eq!(
            decimal_bytes(i128::MAX, 38), // 1.7014 1183 4604 6923 1731 6873 0371 5884 1057 27
            [11, 0, 0, 38, 1, 7014, 1183, 4604, 6923, 1731, 6873, 371, 5884, 1057, 2700]
        );
    }

    #[test]
    fn timestamps_count_microseconds_from_2000() {
        let y2k = UNIX_EPOCH + Duration::from_secs(POSTGRES_EPOCH);
        assert_eq!(timestamp_micros(y2k), 0);
        assert_eq!(timestamp_micros(y2k + Duration::from_nanos(1_999)), 1);
        assert_eq!(timestamp_micros(y2k - Duration::from_nanos(1)), -1);
        assert_eq!(timestamp_micros(UNIX_EPOCH), -946_684_800_000_000);
    }
}
