//! The decode loop of generated `Event::decode`.

use prost::encoding::{decode_key, skip_field, DecodeContext, WireType};
use prost::DecodeError;

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

/// The signature of [`ProtoField::merge`](crate::__private::ProtoField::merge).
type Merge<S> = fn(&mut S, WireType, &mut &[u8], DecodeContext) -> Result<(), DecodeError>;

// Generated code passes `<T as ProtoField>::merge` and `::finish` rather than naming `T`
// as a type argument here: the trait obligation then arises on the field's own type
// tokens, so an unsupported type is one error on the field, not one per use.

/// Reads one occurrence of a known field, naming it in any error.
pub fn merge_field<S>(
    merge: Merge<S>,
    slot: &mut S,
    wire_type: WireType,
    buf: &mut &[u8],
    ctx: DecodeContext,
    message: &'static str,
    field: &'static str,
) -> Result<bool, DecodeError> {
    merge(slot, wire_type, buf, ctx).map_err(|mut error| {
        error.push(message, field);
        error
    })?;
    Ok(true)
}

/// The value of a field once the message is read, naming it in any error.
pub fn finish_field<S, T>(
    finish: fn(S) -> Result<T, DecodeError>,
    slot: S,
    message: &'static str,
    field: &'static str,
) -> Result<T, DecodeError> {
    finish(slot).map_err(|mut error| {
        error.push(message, field);
        error
    })
}
