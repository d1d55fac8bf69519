//! `#[derive(Message)]` types as nested messages: a length-delimited field holding the
//! message's own fields. The derive implements [`Message`] and then
//! [`Singular`](super::Singular) by delegating to the functions here.

use prost::encoding::{self, WireType};
use prost::DecodeError;

use super::{invalid, wire, DecodeContext};
use crate::description::MessageDef;
use crate::field_value::{FieldValue, Value};

/// A protobuf message: an event's payload or a `#[derive(Message)]` type nested in one.
///
/// Implemented by `#[derive(Event)]` and `#[derive(Message)]`; see the crate docs for
/// what each shape of type becomes.
pub trait Message: Sized {
    /// The message's fields, numbers and kinds.
    const DEF: &'static MessageDef;
    /// Appends the encoding of every field (without a length prefix).
    fn encode_fields(&self, buf: &mut Vec<u8>);
    /// The length [`Message::encode_fields`] appends.
    fn fields_len(&self) -> usize;
    /// Calls `visit(name, value)` for each field in declaration order; for a
    /// `#[derive(Message)]` enum, once, for the variant it holds.
    fn visit_fields<'a>(&'a self, visit: &mut dyn FnMut(&'static str, FieldValue<'a>));
}

/// Reading a [`Message`] from a payload whose bytes live for `'de`. A message with
/// borrowed fields (`&'a str`) implements it for every `'de` that outlives `'a`, and its
/// fields then point into the payload: nothing is copied.
pub trait DecodeMessage<'de>: Message {
    /// Reads a message from the encoding of its fields.
    fn decode_fields(bytes: &'de [u8], ctx: DecodeContext) -> Result<Self, DecodeError>;
}

/// A message that owns its fields, so it can be read from a payload of any lifetime: what
/// a reader that decodes into a value it keeps needs (the recording sink, the warehouse
/// loader), as serde's `DeserializeOwned`.
pub trait DecodeOwned: for<'de> DecodeMessage<'de> {}

impl<T: for<'de> DecodeMessage<'de>> DecodeOwned for T {}

/// The description of `M`, as a function a [`MessageRef`](crate::schema::MessageRef)
/// can hold.
pub fn def<M: Message>() -> &'static MessageDef {
    M::DEF
}

/// Writes `message` as field `number`.
pub fn encode<M: Message>(message: &M, number: u32, buf: &mut Vec<u8>) {
    wire::put_key(number, WireType::LengthDelimited, buf);
    wire::put_varint(message.fields_len() as u64, buf);
    message.encode_fields(buf);
}

/// The length [`encode`] writes.
pub fn encoded_len<M: Message>(message: &M, number: u32) -> usize {
    let len = message.fields_len();
    encoding::key_len(number) + encoding::encoded_len_varint(len as u64) + len
}

/// Writes each message as its own occurrence of field `number`.
pub fn encode_repeated<M: Message>(messages: &[M], number: u32, buf: &mut Vec<u8>) {
    for message in messages {
        encode(message, number, buf);
    }
}

/// The length [`encode_repeated`] writes.
pub fn encoded_len_repeated<M: Message>(messages: &[M], number: u32) -> usize {
    messages.iter().map(|m| encoded_len(m, number)).sum()
}

/// Splits the body of a length-delimited field off the front of `buf`.
pub fn take_body<'b>(wire_type: WireType, buf: &mut &'b [u8]) -> Result<&'b [u8], DecodeError> {
    wire::get_len_delimited(wire_type, buf)
}

/// Reads one occurrence of a message field. A message written more than once keeps the
/// last occurrence.
pub fn merge<'de, M: DecodeMessage<'de>>(
    slot: &mut Option<M>,
    wire_type: WireType,
    buf: &mut &'de [u8],
    ctx: DecodeContext,
) -> Result<(), DecodeError> {
    let body = take_body(wire_type, buf)?;
    *slot = Some(M::decode_fields(body, ctx.enter()?)?);
    Ok(())
}

/// Reads one occurrence of a repeated message field.
pub fn merge_repeated<'de, M: DecodeMessage<'de>>(
    messages: &mut Vec<M>,
    wire_type: WireType,
    buf: &mut &'de [u8],
    ctx: DecodeContext,
) -> Result<(), DecodeError> {
    let body = take_body(wire_type, buf)?;
    messages.push(M::decode_fields(body, ctx.enter()?)?);
    Ok(())
}

/// The value of a message field absent from the wire: the message read from no bytes,
/// as proto3 reads an unset message, or `None` where that is not a value (a
/// `#[derive(Message)]` enum must hold a variant; a Tag enum field has no default).
pub fn absent<'de, M: DecodeMessage<'de>>() -> Option<M> {
    M::decode_fields(&[], DecodeContext::default()).ok()
}

/// The message's fields as data.
pub fn value<M: Message>(message: &M) -> Value<'_> {
    let mut fields = Vec::with_capacity(M::DEF.fields.len());
    message.visit_fields(&mut |name, value| fields.push((name, value)));
    Value::Message(fields)
}

/// Writes the empty message that stands for a unit variant (`google.protobuf.Empty`).
pub fn encode_empty(number: u32, buf: &mut Vec<u8>) {
    wire::put_key(number, WireType::LengthDelimited, buf);
    buf.push(0);
}

/// The length [`encode_empty`] writes.
pub fn empty_len(number: u32) -> usize {
    encoding::key_len(number) + 1
}

/// Reads a unit variant's empty message, skipping any fields a newer writer put in it.
pub fn merge_empty(wire_type: WireType, buf: &mut &[u8]) -> Result<(), DecodeError> {
    take_body(wire_type, buf).map(|_| ())
}

/// The error of a `#[derive(Message)]` enum whose payload sets no variant.
pub fn no_variant() -> DecodeError {
    invalid("no variant of the oneof is set")
}

/// Writes a struct variant as field `number`: its fields' length, then `body` writing them.
pub fn encode_nested(number: u32, len: usize, buf: &mut Vec<u8>, body: impl FnOnce(&mut Vec<u8>)) {
    wire::put_key(number, WireType::LengthDelimited, buf);
    wire::put_varint(len as u64, buf);
    body(buf);
}

/// The length [`encode_nested`] writes for fields of length `len`.
pub fn nested_len(number: u32, len: usize) -> usize {
    encoding::key_len(number) + encoding::encoded_len_varint(len as u64) + len
}
