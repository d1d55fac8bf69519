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

/// Reads a base-128 varint. A value of one or two bytes (keys, lengths, most amounts and
/// counts) is read inline; prost's reader, which goes through its `Buf` abstraction out of
/// line, measured a twelfth of a nested payload's decode. Always inlined: left to the
/// compiler, whether it was depended on how the crate's code fell into codegen units, and
/// a change elsewhere in the crate once moved the payload decode from 11,127 to 12,062
/// instructions (`scripts/bench-payload-instructions`).
#[inline(always)]
pub(crate) fn get_varint(buf: &mut &[u8]) -> Result<u64, prost::DecodeError> {
    match **buf {
        [byte, ..] if byte < 0x80 => {
            *buf = &buf[1..];
            Ok(u64::from(byte))
        }
        [low, high, ..] if high < 0x80 => {
            *buf = &buf[2..];
            Ok(u64::from(low & 0x7f) | u64::from(high) << 7)
        }
        _ => prost::encoding::decode_varint(buf),
    }
}

/// Reads a field key: its number and wire type, refusing what prost refuses.
#[inline]
pub(crate) fn get_key(buf: &mut &[u8]) -> Result<(u32, WireType), prost::DecodeError> {
    let key = get_varint(buf)?;
    let key = u32::try_from(key).map_err(|_| super::invalid("invalid key value"))?;
    let wire_type = WireType::try_from(u64::from(key & 0x7))
        .map_err(|_| super::invalid("invalid wire type"))?;
    let number = key >> 3;
    if number == 0 {
        return Err(super::invalid("invalid tag value: 0"));
    }
    Ok((number, wire_type))
}

/// Reads the value of a varint field, checking its wire type.
#[inline(always)]
pub(crate) fn get_varint_field(
    wire_type: WireType,
    buf: &mut &[u8],
) -> Result<u64, prost::DecodeError> {
    prost::encoding::check_wire_type(WireType::Varint, wire_type)?;
    get_varint(buf)
}

/// Splits the value of a length-delimited field (text, bytes, a message) off `buf`.
#[inline]
pub(crate) fn get_len_delimited<'b>(
    wire_type: WireType,
    buf: &mut &'b [u8],
) -> Result<&'b [u8], prost::DecodeError> {
    prost::encoding::check_wire_type(WireType::LengthDelimited, wire_type)?;
    let len = get_varint(buf)?;
    let len = usize::try_from(len)
        .ok()
        .filter(|len| *len <= buf.len())
        .ok_or_else(|| super::invalid("buffer underflow"))?;
    let (value, rest) = buf.split_at(len);
    *buf = rest;
    Ok(value)
}

/// Reads a `string` field's text into a `String`, checking that it is UTF-8.
///
/// Copied first, then checked: the check reads a word at a time where the text is
/// aligned, which a fresh allocation is and a field inside a payload seldom is (checked in
/// place, it measured a quarter more instructions).
#[inline]
pub(crate) fn get_string(
    wire_type: WireType,
    buf: &mut &[u8],
) -> Result<String, prost::DecodeError> {
    let bytes = get_len_delimited(wire_type, buf)?.to_vec();
    String::from_utf8(bytes)
        .map_err(|_| super::invalid("invalid string value: data is not UTF-8 encoded"))
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
                let mut read = &ours[..];
                assert_eq!(get_key(&mut read).unwrap(), (number, wire_type));
                assert!(read.is_empty());
            }
        }
        for bad in [&[0x00][..], &[0x07], &[0x80], &[0xff; 11]] {
            let (mut ours, mut prosts) = (bad, bad);
            assert_eq!(
                get_key(&mut ours).is_err(),
                encoding::decode_key(&mut prosts).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn varints_read_back_as_prost_reads_them() {
        for value in (0..64)
            .map(|shift| 1u64 << shift)
            .chain([0, 0x7f, 0x80, u64::MAX])
        {
            let mut bytes = Vec::new();
            encoding::encode_varint(value, &mut bytes);
            bytes.push(0xaa);
            let mut read = &bytes[..];
            assert_eq!(get_varint(&mut read).unwrap(), value);
            assert_eq!(read, [0xaa]);
        }
    }
}
