//! The wire primitives a publish writes for every field: keys, varints, fixed-width
//! numbers and length-delimited bytes, in exactly prost's encoding.
//!
//! prost's `encode_varint` pushes byte by byte through its `BufMut` abstraction and is not
//! inlined: it measured about two thirds of an event's encode time. Here a field key folds
//! to one constant byte once `number` is a literal (every derived field's is), and a small
//! value is one `push`. Decoding stays prost's; the round-trip tests hold the two together.

use prost::encoding::WireType;

/// Writes `value` as a base-128 varint.
#[inline]
pub(crate) fn put_varint(value: u64, buf: &mut Vec<u8>) {
    if value < 0x80 {
        buf.push(value as u8);
    } else if value < 0x4000 {
        // Two bytes, stored at once (the general loop ends in a `memcpy` call): lengths up to
        // 16 KiB and most amounts, counts and enum values take this branch.
        buf.extend_from_slice(&[value as u8 | 0x80, (value >> 7) as u8]);
    } else {
        put_long_varint(value, buf);
    }
}

fn put_long_varint(value: u64, buf: &mut Vec<u8>) {
    let mut bytes = [0u8; 10];
    let mut len = 0;
    let mut rest = value;
    while rest >= 0x80 {
        bytes[len] = rest as u8 | 0x80;
        rest >>= 7;
        len += 1;
    }
    bytes[len] = rest as u8;
    buf.extend_from_slice(&bytes[..=len]);
}

/// Writes a field's key: its number and wire type.
#[inline]
pub(crate) fn put_key(number: u32, wire_type: WireType, buf: &mut Vec<u8>) {
    put_varint(u64::from(number << 3 | wire_type as u32), buf);
}

/// Writes a varint field.
#[inline]
pub(crate) fn put_varint_field(number: u32, value: u64, buf: &mut Vec<u8>) {
    put_key(number, WireType::Varint, buf);
    put_varint(value, buf);
}

/// Writes a fixed-width field (`float`, `double`): its key, then its little-endian bytes.
#[inline]
pub(crate) fn put_fixed_field(
    number: u32,
    wire_type: WireType,
    le_bytes: &[u8],
    buf: &mut Vec<u8>,
) {
    put_key(number, wire_type, buf);
    buf.extend_from_slice(le_bytes);
}

/// Writes a length-delimited field (`string`, `bytes`).
#[inline]
pub(crate) fn put_bytes_field(number: u32, bytes: &[u8], buf: &mut Vec<u8>) {
    put_key(number, WireType::LengthDelimited, buf);
    put_varint(bytes.len() as u64, buf);
    buf.extend_from_slice(bytes);
}

/// Writes a packed repeated varint field; nothing for no values, as protobuf omits it.
pub(crate) fn put_packed_varints(
    number: u32,
    values: impl Iterator<Item = u64> + Clone,
    buf: &mut Vec<u8>,
) {
    let len: usize = values
        .clone()
        .map(prost::encoding::encoded_len_varint)
        .sum();
    if len == 0 {
        return;
    }
    put_key(number, WireType::LengthDelimited, buf);
    put_varint(len as u64, buf);
    for value in values {
        put_varint(value, buf);
    }
}

/// The length [`put_packed_varints`] writes.
pub(crate) fn packed_varints_len(number: u32, values: impl Iterator<Item = u64>) -> usize {
    let len: usize = values.map(prost::encoding::encoded_len_varint).sum();
    if len == 0 {
        return 0;
    }
    prost::encoding::key_len(number) + prost::encoding::encoded_len_varint(len as u64) + len
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::encoding;

    #[test]
    fn varints_and_keys_are_prosts() {
        let mut values = vec![
            0,
            1,
            0x7f,
            0x80,
            0x3fff,
            0x4000,
            u64::from(u32::MAX),
            u64::MAX,
        ];
        values.extend((0..64).map(|shift| 1u64 << shift));
        values.extend((1..64).map(|shift| (1u64 << shift) - 1));
        for value in values {
            let (mut ours, mut prosts) = (Vec::new(), Vec::new());
            put_varint(value, &mut ours);
            encoding::encode_varint(value, &mut prosts);
            assert_eq!(ours, prosts, "varint {value}");
        }
        for number in [1, 15, 16, 2047, 2048, (1 << 29) - 1] {
            for wire_type in [
                WireType::Varint,
                WireType::LengthDelimited,
                WireType::ThirtyTwoBit,
            ] {
                let (mut ours, mut prosts) = (Vec::new(), Vec::new());
                put_key(number, wire_type, &mut ours);
                encoding::encode_key(number, wire_type, &mut prosts);
                assert_eq!(ours, prosts, "key {number} {wire_type:?}");
            }
        }
    }
}
