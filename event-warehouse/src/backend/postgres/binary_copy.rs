//! Rows in PostgreSQL's binary `COPY` format: each value in its type's wire form, so the
//! server stores it without parsing text (timestamps, UUIDs and numerics are the costly
//! ones to parse). The format: a signature and two zero words, then per row a field count
//! and per field a length (-1 for NULL) and the bytes, then -1.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::row::Cell;
use crate::table::ColumnKind;
use crate::text::parse_uuid;

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
        (ColumnKind::EventId | ColumnKind::Uuid, Cell::Text(id)) => {
            // The loader only makes rows of event ids that parse, and a Uuid field's text
            // is the hyphenated form of its bytes.
            let bytes = parse_uuid(id).unwrap_or([0; 16]);
            sized(out, |out| out.extend_from_slice(&bytes));
        }
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
fn numeric(out: &mut Vec<u8>, mantissa: i128, scale: u32) {
    let text = mantissa.unsigned_abs().to_string();
    let scale_digits = scale as usize;
    // Pad so there is a whole part, then to whole groups on both sides of the point.
    let text = format!("{text:0>width$}", width = scale_digits + 1);
    let (whole, fraction) = text.split_at(text.len() - scale_digits);
    let whole = format!("{whole:0>width$}", width = whole.len().div_ceil(4) * 4);
    let fraction = format!(
        "{fraction:0<width$}",
        width = fraction.len().div_ceil(4) * 4
    );
    let group = |digits: &str| digits.parse::<i16>().unwrap_or(0);
    let mut groups: Vec<i16> = whole
        .as_bytes()
        .chunks(4)
        .chain(fraction.as_bytes().chunks(4))
        .map(|chunk| group(std::str::from_utf8(chunk).unwrap_or("0")))
        .collect();
    let mut weight = (whole.len() / 4) as i16 - 1;
    while groups.first() == Some(&0) {
        groups.remove(0);
        weight -= 1;
    }
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.is_empty() {
        weight = 0;
    }
    let sign: i16 = if mantissa < 0 && !groups.is_empty() {
        0x4000
    } else {
        0
    };
    out.extend_from_slice(&(groups.len() as i16).to_be_bytes());
    out.extend_from_slice(&weight.to_be_bytes());
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&(scale as i16).to_be_bytes());
    for digit in groups {
        out.extend_from_slice(&digit.to_be_bytes());
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
