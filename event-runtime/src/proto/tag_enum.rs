//! `#[derive(Tag)]` enums on the wire: a protobuf enum where the value at index `i` is
//! numbered `i + 1`, because proto3 reserves 0 for `UNSPECIFIED`.
//!
//! The derive implements [`Singular`](super::Singular) by delegating to these functions.

use prost::encoding::{self, WireType};
use prost::DecodeError;

use super::DecodeContext;

use crate::Tag;

fn number<T: Tag>(value: &T) -> i32 {
    // CARDINALITY is far below i32::MAX for any enum a compiler accepts.
    value.index() as i32 + 1
}

fn from_number<T: Tag>(number: i32) -> Result<T, DecodeError> {
    usize::try_from(number)
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(T::from_index)
        .ok_or_else(|| super::invalid("enum value is UNSPECIFIED or unknown to this version"))
}

/// Writes one enum value.
pub fn encode<T: Tag>(value: &T, field: u32, buf: &mut Vec<u8>) {
    // Numbers are positive, so the varint is int32's.
    super::wire::put_varint_field(field, number(value) as u64, buf);
}

/// The length [`encode`] writes.
pub fn encoded_len<T: Tag>(value: &T, field: u32) -> usize {
    encoding::int32::encoded_len(field, &number(value))
}

/// Reads one enum value.
pub fn merge<T: Tag>(
    slot: &mut Option<T>,
    wire_type: WireType,
    buf: &mut &[u8],
    _ctx: DecodeContext,
) -> Result<(), DecodeError> {
    let mut raw = 0;
    encoding::int32::merge(wire_type, &mut raw, buf, Default::default())?;
    *slot = Some(from_number(raw)?);
    Ok(())
}

/// Writes a packed repeated enum field.
pub fn encode_repeated<T: Tag>(values: &[T], field: u32, buf: &mut Vec<u8>) {
    if values.is_empty() {
        return;
    }
    encoding::encode_key(field, WireType::LengthDelimited, buf);
    let len: usize = values
        .iter()
        .map(|v| encoding::encoded_len_varint(number(v) as u64))
        .sum();
    encoding::encode_varint(len as u64, buf);
    for value in values {
        encoding::encode_varint(number(value) as u64, buf);
    }
}

/// The length [`encode_repeated`] writes.
pub fn encoded_len_repeated<T: Tag>(values: &[T], field: u32) -> usize {
    if values.is_empty() {
        return 0;
    }
    let len: usize = values
        .iter()
        .map(|v| encoding::encoded_len_varint(number(v) as u64))
        .sum();
    encoding::key_len(field) + encoding::encoded_len_varint(len as u64) + len
}

/// Reads a repeated enum field, packed or not.
pub fn merge_repeated<T: Tag>(
    values: &mut Vec<T>,
    wire_type: WireType,
    buf: &mut &[u8],
    _ctx: DecodeContext,
) -> Result<(), DecodeError> {
    let mut raw = Vec::new();
    encoding::int32::merge_repeated(wire_type, &mut raw, buf, Default::default())?;
    for number in raw {
        values.push(from_number(number)?);
    }
    Ok(())
}
