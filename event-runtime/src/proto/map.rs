//! `HashMap<K, V>` and `BTreeMap<K, V>` as protobuf `map<K, V>`: a repeated entry message
//! with the key as field 1 and the value as field 2, as every protobuf runtime reads it.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash};

use prost::encoding::{self, decode_key, skip_field, WireType};
use prost::DecodeError;

use super::field::implicit;
use super::{invalid, wire, DecodeContext, DecodeSingular, FieldDecoder, ProtoField, Singular};
use crate::description::{Kind, Label};
use crate::field_value::{FieldValue, Value};

/// A type protobuf allows as a map key: text, an integer or `bool`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the key of a map in an event payload",
    label = "protobuf map keys are text, integers or bool",
    note = "use a `String` key (for example the message's id), or a `Vec` of messages instead of a map"
)]
pub trait MapKey: Singular {}

impl MapKey for String {}
impl MapKey for Box<str> {}
impl MapKey for bool {}
impl MapKey for i8 {}
impl MapKey for i16 {}
impl MapKey for i32 {}
impl MapKey for i64 {}
impl MapKey for u8 {}
impl MapKey for u16 {}
impl MapKey for u32 {}
impl MapKey for u64 {}

/// The decoder of a map field.
pub struct MapDecoder;

fn entry_body_len<K: Singular, V: Singular>(key: &K, value: &V) -> usize {
    implicit::encoded_len(key, 1) + implicit::encoded_len(value, 2)
}

fn encode_entries<'a, K: Singular + 'a, V: Singular + 'a>(
    entries: impl Iterator<Item = (&'a K, &'a V)>,
    number: u32,
    buf: &mut Vec<u8>,
) {
    for (key, value) in entries {
        wire::put_key(number, WireType::LengthDelimited, buf);
        wire::put_varint(entry_body_len(key, value) as u64, buf);
        implicit::encode(key, 1, buf);
        implicit::encode(value, 2, buf);
    }
}

fn entries_len<'a, K: Singular + 'a, V: Singular + 'a>(
    entries: impl Iterator<Item = (&'a K, &'a V)>,
    number: u32,
) -> usize {
    entries
        .map(|(key, value)| {
            let body = entry_body_len(key, value);
            encoding::key_len(number) + encoding::encoded_len_varint(body as u64) + body
        })
        .sum()
}

/// Reads one map entry; a missing key is the key type's default, a missing value its
/// absent value (an error for a Tag enum or a `#[derive(Message)]` enum).
fn merge_entry<'de, K: DecodeSingular<'de>, V: DecodeSingular<'de>>(
    wire_type: WireType,
    buf: &mut &'de [u8],
    ctx: DecodeContext,
) -> Result<(K, V), DecodeError> {
    encoding::check_wire_type(WireType::LengthDelimited, wire_type)?;
    let len = encoding::decode_varint(buf)?;
    let len = usize::try_from(len)
        .ok()
        .filter(|len| *len <= buf.len())
        .ok_or_else(|| invalid("map entry is longer than the payload"))?;
    let (mut body, rest) = buf.split_at(len);
    *buf = rest;
    let ctx = ctx.enter()?;
    let (mut key, mut value) = (None, None);
    while !body.is_empty() {
        let (number, wire_type) = decode_key(&mut body)?;
        match number {
            1 => K::merge(&mut key, wire_type, &mut body, ctx)?,
            2 => V::merge(&mut value, wire_type, &mut body, ctx)?,
            _ => skip_field(wire_type, number, &mut body, Default::default())?,
        }
    }
    let key = key
        .or_else(K::absent)
        .ok_or_else(|| invalid("map entry has no key"))?;
    let value = value
        .or_else(V::absent)
        .ok_or_else(|| invalid("map entry has no value"))?;
    Ok((key, value))
}

fn entry_values<'a, K: Singular + 'a, V: Singular + 'a>(
    entries: impl Iterator<Item = (&'a K, &'a V)>,
) -> FieldValue<'a> {
    FieldValue::Map(
        entries
            .map(|(key, value)| (key.value(), value.value()))
            .collect::<Vec<(Value<'a>, Value<'a>)>>(),
    )
}

impl<K, V, S> ProtoField for HashMap<K, V, S>
where
    K: MapKey + Eq + Hash,
    V: Singular,
    S: BuildHasher + Default,
{
    const LABEL: Label = Label::Map(K::KIND);
    type Decoder = MapDecoder;
    const KIND: Kind = V::KIND;

    fn encode(&self, number: u32, buf: &mut Vec<u8>) {
        encode_entries(self.iter(), number, buf);
    }

    fn encoded_len(&self, number: u32) -> usize {
        entries_len(self.iter(), number)
    }

    fn field_value(&self) -> FieldValue<'_> {
        entry_values(self.iter())
    }
}

impl<'de, K, V, S> FieldDecoder<'de, HashMap<K, V, S>> for MapDecoder
where
    K: MapKey + DecodeSingular<'de> + Eq + Hash,
    V: DecodeSingular<'de>,
    S: BuildHasher + Default,
{
    type Slot = HashMap<K, V, S>;

    fn merge(
        slot: &mut HashMap<K, V, S>,
        wire_type: WireType,
        buf: &mut &'de [u8],
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        let (key, value) = merge_entry(wire_type, buf, ctx)?;
        slot.insert(key, value);
        Ok(())
    }

    fn finish(slot: HashMap<K, V, S>) -> Result<HashMap<K, V, S>, DecodeError> {
        Ok(slot)
    }
}

impl<K, V> ProtoField for BTreeMap<K, V>
where
    K: MapKey + Ord,
    V: Singular,
{
    const LABEL: Label = Label::Map(K::KIND);
    type Decoder = MapDecoder;
    const KIND: Kind = V::KIND;

    fn encode(&self, number: u32, buf: &mut Vec<u8>) {
        encode_entries(self.iter(), number, buf);
    }

    fn encoded_len(&self, number: u32) -> usize {
        entries_len(self.iter(), number)
    }

    fn field_value(&self) -> FieldValue<'_> {
        entry_values(self.iter())
    }
}

impl<'de, K, V> FieldDecoder<'de, BTreeMap<K, V>> for MapDecoder
where
    K: MapKey + DecodeSingular<'de> + Ord,
    V: DecodeSingular<'de>,
{
    type Slot = BTreeMap<K, V>;

    fn merge(
        slot: &mut BTreeMap<K, V>,
        wire_type: WireType,
        buf: &mut &'de [u8],
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        let (key, value) = merge_entry(wire_type, buf, ctx)?;
        slot.insert(key, value);
        Ok(())
    }

    fn finish(slot: BTreeMap<K, V>) -> Result<BTreeMap<K, V>, DecodeError> {
        Ok(slot)
    }
}
