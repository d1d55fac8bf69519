//! The decode loop of generated `Event::decode`.

use prost::encoding::{decode_key, skip_field, DecodeContext, WireType};
use prost::DecodeError;

use crate::proto::ProtoField;

/// Reads every field of a message, calling `field` for each; when it returns
/// `Ok(false)` (a number this version does not know) the field is skipped, as
/// protobuf requires for forward compatibility.
pub fn decode_fields(
    mut bytes: &[u8],
    mut field: impl FnMut(u32, WireType, &mut &[u8], DecodeContext) -> Result<bool, DecodeError>,
) -> Result<(), DecodeError> {
    let ctx = DecodeContext::default();
    while !bytes.is_empty() {
        let (number, wire_type) = decode_key(&mut bytes)?;
        if !field(number, wire_type, &mut bytes, ctx.clone())? {
            skip_field(wire_type, number, &mut bytes, ctx.clone())?;
        }
    }
    Ok(())
}

/// Reads one occurrence of a known field, naming it in any error.
pub fn merge_field<T: ProtoField>(
    slot: &mut T::Slot,
    wire_type: WireType,
    buf: &mut &[u8],
    ctx: DecodeContext,
    message: &'static str,
    field: &'static str,
) -> Result<bool, DecodeError> {
    T::merge(slot, wire_type, buf, ctx).map_err(|mut error| {
        error.push(message, field);
        error
    })?;
    Ok(true)
}

/// The value of a field once the message is read, naming it in any error.
pub fn finish_field<T: ProtoField>(
    slot: T::Slot,
    message: &'static str,
    field: &'static str,
) -> Result<T, DecodeError> {
    T::finish(slot).map_err(|mut error| {
        error.push(message, field);
        error
    })
}
