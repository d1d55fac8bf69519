//! The decode loop of generated `Event::decode`.

use prost::encoding::{skip_field, WireType};
use prost::DecodeError;

use crate::proto::DecodeContext;

/// Reads one field: its number, wire type, the bytes from its value on and the context;
/// `Ok(false)` for a number the message does not know.
pub type FieldReader<'a, 'de> =
    dyn FnMut(u32, WireType, &mut &'de [u8], DecodeContext) -> Result<bool, DecodeError> + 'a;

/// Reads every field of a message, calling `field` for each; when it returns
/// `Ok(false)` (a number this version does not know) the field is skipped, as
/// protobuf requires for forward compatibility.
///
/// `field` is a `dyn`: generic, this loop was compiled once per event type, a tenth of
/// the code a crate of derived events compiled. Decoding is the loader's, not publish's.
pub fn decode_fields<'de>(
    mut bytes: &'de [u8],
    ctx: DecodeContext,
    field: &mut FieldReader<'_, 'de>,
) -> Result<(), DecodeError> {
    while !bytes.is_empty() {
        let (number, wire_type) = crate::proto::wire::get_key(&mut bytes)?;
        if !field(number, wire_type, &mut bytes, ctx)? {
            skip_field(wire_type, number, &mut bytes, Default::default())?;
        }
    }
    Ok(())
}

/// The signature of [`FieldDecoder::merge`](crate::__private::FieldDecoder::merge).
type Merge<'de, S> = fn(&mut S, WireType, &mut &'de [u8], DecodeContext) -> Result<(), DecodeError>;

// Generated code passes `<T as ProtoField>::merge` and `::finish` rather than naming `T`
// as a type argument here: the trait obligation then arises on the field's own type
// tokens, so an unsupported type is one error on the field, not one per use.

/// Reads one occurrence of a known field, naming it in any error.
pub fn merge_field<'de, S>(
    merge: Merge<'de, S>,
    slot: &mut S,
    wire_type: WireType,
    buf: &mut &'de [u8],
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

/// The value of a field once the message is read, or `None` with the error (naming the
/// field) kept in `first_error` unless an earlier field's is there already.
pub fn finish_field<S, T>(
    finish: fn(S) -> Result<T, DecodeError>,
    slot: S,
    message: &'static str,
    field: &'static str,
    first_error: &mut Option<DecodeError>,
) -> Option<T> {
    match finish(slot) {
        Ok(value) => Some(value),
        Err(mut error) => {
            error.push(message, field);
            first_error.get_or_insert(error);
            None
        }
    }
}

/// The error of a message whose fields did not all finish.
pub fn decode_failed(first_error: Option<DecodeError>) -> DecodeError {
    first_error.unwrap_or_else(|| crate::proto::invalid("a field did not finish"))
}
