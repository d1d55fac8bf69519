//! Confluent Schema Registry wire format for Kafka values, for consumers that deserialize
//! with Confluent's protobuf deserializer: magic byte `0`, the schema id as 4 big-endian
//! bytes, the message indexes (which message of the `.proto` file: ours is always the
//! first, so the list `[0]`, written as the single byte `0`), then the protobuf payload.
//!
//! Turn it on per event with
//! [`DispatcherBuilder::schema_registry_id`](crate::DispatcherBuilder::schema_registry_id),
//! using the id the registry gave the event's `.proto`.

use std::fmt;

/// The bytes written before the payload of an event registered under `schema_id`.
pub fn frame_header(schema_id: u32) -> [u8; 6] {
    let id = schema_id.to_be_bytes();
    [0, id[0], id[1], id[2], id[3], 0]
}

/// Why bytes are not a Confluent-framed value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// Fewer bytes than the header needs.
    TooShort,
    /// The first byte is not the magic `0`.
    BadMagic(u8),
    /// The message-index list is malformed.
    BadIndexes,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::TooShort => f.write_str("too short for a Confluent wire-format header"),
            FrameError::BadMagic(b) => {
                write!(f, "magic byte is {b}, not 0: not Confluent wire format")
            }
            FrameError::BadIndexes => f.write_str("malformed message-index list"),
        }
    }
}

impl std::error::Error for FrameError {}

fn zigzag_varint(bytes: &mut &[u8]) -> Result<i64, FrameError> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = bytes.split_first().ok_or(FrameError::BadIndexes)?;
        *bytes = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok((value >> 1) as i64 ^ -((value & 1) as i64));
        }
    }
    Err(FrameError::BadIndexes)
}

/// Splits a framed value into its schema id, message indexes and protobuf payload.
pub fn parse_frame(bytes: &[u8]) -> Result<(u32, Vec<i64>, &[u8]), FrameError> {
    let (&magic, rest) = bytes.split_first().ok_or(FrameError::TooShort)?;
    if magic != 0 {
        return Err(FrameError::BadMagic(magic));
    }
    let (id, mut rest) = rest.split_first_chunk::<4>().ok_or(FrameError::TooShort)?;
    let count = zigzag_varint(&mut rest)?;
    // A count of 0 is the short form of the list [0].
    let indexes = if count == 0 {
        vec![0]
    } else {
        let count = usize::try_from(count).map_err(|_| FrameError::BadIndexes)?;
        (0..count)
            .map(|_| zigzag_varint(&mut rest))
            .collect::<Result<_, _>>()?
    };
    Ok((u32::from_be_bytes(*id), indexes, rest))
}
