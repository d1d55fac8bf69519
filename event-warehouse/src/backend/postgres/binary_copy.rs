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
        (ColumnKind::EventId, Cell::Text(id)) => {
            // The loader only makes rows of event ids that parse.
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
        (_, Cell::UInt(v)) => sized(out, |out| numeric(out, *v)),
        (_, Cell::Timestamp(t)) => sized(out, |out| {
            out.extend_from_slice(&timestamp_micros(*t).to_be_bytes())
        }),
        (_, Cell::Duration(d)) => sized(out, |out| interval(out, *d)),
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
fn interval(out: &mut Vec<u8>, duration: Duration) {
    let micros = i64::try_from(duration.as_micros()).unwrap_or(i64::MAX);
    out.extend_from_slice(&micros.to_be_bytes());
    out.extend_from_slice(&0i32.to_be_bytes());
    out.extend_from_slice(&0i32.to_be_bytes());
}

/// A non-negative integer as `numeric`: base-10000 digits, most significant first, with
/// trailing zero digits dropped (the weight keeps the magnitude).
fn numeric(out: &mut Vec<u8>, value: u64) {
    let mut digits = Vec::with_capacity(5);
    let mut rest = value;
    while rest > 0 {
        digits.push((rest % 10_000) as i16);
        rest /= 10_000;
    }
    let weight = digits.len() as i16 - 1;
    digits.reverse();
    while digits.last() == Some(&0) {
        digits.pop();
    }
    out.extend_from_slice(&(digits.len() as i16).to_be_bytes());
    out.extend_from_slice(&(if value == 0 { 0 } else { weight }).to_be_bytes());
    out.extend_from_slice(&0i16.to_be_bytes()); // sign: positive
    out.extend_from_slice(&0i16.to_be_bytes()); // display scale: no decimals
    for digit in digits {
        out.extend_from_slice(&digit.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric_bytes(value: u64) -> Vec<i16> {
        let mut out = Vec::new();
        numeric(&mut out, value);
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
    fn timestamps_count_microseconds_from_2000() {
        let y2k = UNIX_EPOCH + Duration::from_secs(POSTGRES_EPOCH);
        assert_eq!(timestamp_micros(y2k), 0);
        assert_eq!(timestamp_micros(y2k + Duration::from_nanos(1_999)), 1);
        assert_eq!(timestamp_micros(y2k - Duration::from_nanos(1)), -1);
        assert_eq!(timestamp_micros(UNIX_EPOCH), -946_684_800_000_000);
    }
}
