//! One record as the spool stores it: a checksummed frame holding everything needed to
//! send it again exactly as it was published (topic, key, payload, event id, timestamp, the
//! names its headers carry and its trace context).
//!
//! ```text
//! frame: magic "MDE1" | body length (u32 LE) | CRC-32 of length and body (u32 LE) | body
//! body:  timestamp (i64 LE) | event id (u128 BE) | topic | event name | schema name | key | payload
//!        [ | traceparent | tracestate ]
//!        names: u16 LE length + UTF-8; key: u32 LE length (u32::MAX: none) + bytes;
//!        payload: u32 LE length + bytes; trace context, only when the record has some:
//!        each a u16 LE length + UTF-8, length 0 for none
//! ```
//!
//! The checksum covers the length too, so a flipped length is caught rather than trusted.
//! The magic lets a reader find the next intact frame after a damaged one.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

use crate::{EventId, KafkaRecord};

/// The four bytes every frame starts with.
pub const MAGIC: [u8; 4] = *b"MDE1";
/// Magic, length and checksum.
pub const HEADER_LEN: usize = 12;
/// Larger bodies are refused: the spool is for records librdkafka would accept, and a
/// garbled length must not make a reader allocate gigabytes.
pub const MAX_BODY_LEN: usize = 64 << 20;

const NO_KEY: u32 = u32::MAX;

/// The length of `record`'s frame, header included.
pub fn frame_len(record: &KafkaRecord<'_>) -> usize {
    HEADER_LEN + body_len(record)
}

fn body_len(record: &KafkaRecord<'_>) -> usize {
    8 + 16
        + 2
        + record.topic.len()
        + 2
        + record.event_name.len()
        + 2
        + record.schema_name.len()
        + 4
        + record.key.map_or(0, <[u8]>::len)
        + 4
        + record.payload.len()
        + trace_len(record)
}

/// The trace section's length: none at all for a record without trace context.
fn trace_len(record: &KafkaRecord<'_>) -> usize {
    match (record.traceparent, record.tracestate) {
        (None, None) => 0,
        (parent, state) => 4 + parent.map_or(0, str::len) + state.map_or(0, str::len),
    }
}

/// Appends `record`'s frame to `out`. `None` when a part is too long to frame (a name over
/// 64 KiB or a body over [`MAX_BODY_LEN`]); nothing is appended then.
pub fn write(record: &KafkaRecord<'_>, out: &mut Vec<u8>) -> Option<()> {
    let body_len = body_len(record);
    let names = [record.topic, record.event_name, record.schema_name];
    let trace = [record.traceparent, record.tracestate];
    if body_len > MAX_BODY_LEN
        || names
            .iter()
            .chain(trace.iter().flatten())
            .any(|n| n.len() > usize::from(u16::MAX))
    {
        return None;
    }
    let start = out.len();
    out.reserve(HEADER_LEN + body_len);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&(body_len as u32).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&record.timestamp_millis.to_le_bytes());
    out.extend_from_slice(&record.event_id.as_u128().to_be_bytes());
    for name in names {
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(name.as_bytes());
    }
    match record.key {
        Some(key) => {
            out.extend_from_slice(&(key.len() as u32).to_le_bytes());
            out.extend_from_slice(key);
        }
        None => out.extend_from_slice(&NO_KEY.to_le_bytes()),
    }
    out.extend_from_slice(&(record.payload.len() as u32).to_le_bytes());
    out.extend_from_slice(record.payload);
    if trace_len(record) > 0 {
        for text in trace {
            let text = text.unwrap_or_default();
            out.extend_from_slice(&(text.len() as u16).to_le_bytes());
            out.extend_from_slice(text.as_bytes());
        }
    }
    let crc = checksum(&out[start + 4..start + 8], &out[start + HEADER_LEN..]);
    out[start + 8..start + 12].copy_from_slice(&crc.to_le_bytes());
    Some(())
}

fn checksum(length: &[u8], body: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(length);
    hasher.update(body);
    hasher.finalize()
}

/// A record read back from a frame. Its names are interned (see [`intern`]), so it can be
/// lent out as a [`KafkaRecord`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    pub topic: &'static str,
    pub event_name: &'static str,
    pub schema_name: &'static str,
    pub key: Option<Vec<u8>>,
    pub payload: Vec<u8>,
    pub event_id: EventId,
    pub timestamp_millis: i64,
    pub traceparent: Option<String>,
    pub tracestate: Option<String>,
}

impl StoredRecord {
    /// The record, as the dispatcher handed it to the sink.
    pub fn record(&self) -> KafkaRecord<'_> {
        KafkaRecord {
            topic: self.topic,
            key: self.key.as_deref(),
            payload: &self.payload,
            event_name: self.event_name,
            schema_name: self.schema_name,
            event_id: self.event_id,
            timestamp_millis: self.timestamp_millis,
            traceparent: self.traceparent.as_deref(),
            tracestate: self.tracestate.as_deref(),
        }
    }
}

/// What the bytes at the start of a buffer hold.
#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    /// An intact frame of this many bytes.
    Frame(StoredRecord, usize),
    /// Fewer bytes than the frame claims: a tail still being written, or torn by a crash.
    Incomplete,
    /// Not an intact frame: a wrong magic, a checksum mismatch, or a body that does not parse.
    Damaged,
}

/// Reads the frame at the start of `bytes`.
pub fn read(bytes: &[u8]) -> Read {
    if bytes.len() < HEADER_LEN {
        return if MAGIC.starts_with(&bytes[..bytes.len().min(4)]) {
            Read::Incomplete
        } else {
            Read::Damaged
        };
    }
    if bytes[..4] != MAGIC {
        return Read::Damaged;
    }
    let body_len = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes")) as usize;
    if body_len > MAX_BODY_LEN {
        return Read::Damaged;
    }
    let Some(body) = bytes.get(HEADER_LEN..HEADER_LEN + body_len) else {
        return Read::Incomplete;
    };
    let crc = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if checksum(&bytes[4..8], body) != crc {
        return Read::Damaged;
    }
    match parse_body(body) {
        Some(record) => Read::Frame(record, HEADER_LEN + body_len),
        None => Read::Damaged,
    }
}

/// Where the next intact frame after a damaged one starts, if any: the next magic that
/// begins a whole, valid frame.
pub fn resync(bytes: &[u8]) -> Option<usize> {
    (1..bytes.len())
        .filter(|&at| bytes[at..].starts_with(&MAGIC))
        .find(|&at| matches!(read(&bytes[at..]), Read::Frame(..)))
}

fn parse_body(mut body: &[u8]) -> Option<StoredRecord> {
    let timestamp_millis = i64::from_le_bytes(take(&mut body, 8)?.try_into().ok()?);
    let event_id = EventId::from_u128(u128::from_be_bytes(take(&mut body, 16)?.try_into().ok()?));
    let mut name = || -> Option<&'static str> {
        let len = u16::from_le_bytes(take(&mut body, 2)?.try_into().ok()?);
        Some(intern(
            std::str::from_utf8(take(&mut body, len.into())?).ok()?,
        ))
    };
    let (topic, event_name, schema_name) = (name()?, name()?, name()?);
    let key_len = u32::from_le_bytes(take(&mut body, 4)?.try_into().ok()?);
    let key = match key_len {
        NO_KEY => None,
        len => Some(take(&mut body, len as usize)?.to_vec()),
    };
    let payload_len = u32::from_le_bytes(take(&mut body, 4)?.try_into().ok()?);
    let payload = take(&mut body, payload_len as usize)?.to_vec();
    let (mut traceparent, mut tracestate) = (None, None);
    if !body.is_empty() {
        let mut text = || -> Option<Option<String>> {
            let len = u16::from_le_bytes(take(&mut body, 2)?.try_into().ok()?);
            let text = std::str::from_utf8(take(&mut body, len.into())?).ok()?;
            Some((!text.is_empty()).then(|| text.to_owned()))
        };
        (traceparent, tracestate) = (text()?, text()?);
    }
    body.is_empty().then_some(StoredRecord {
        topic,
        event_name,
        schema_name,
        key,
        payload,
        event_id,
        timestamp_millis,
        traceparent,
        tracestate,
    })
}

fn take<'a>(body: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if body.len() < n {
        return None;
    }
    let (head, rest) = body.split_at(n);
    *body = rest;
    Some(head)
}

/// The one `&'static` copy of a topic, event or schema name read from disk.
///
/// Records carry their names as `&'static str` (an event type's constants), and the Kafka
/// sink finds its topic handles by that address. Names come from checksummed frames
/// written by event types, so they are few, and each is leaked once.
pub fn intern(name: &str) -> &'static str {
    static NAMES: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    let mut names = NAMES.lock().unwrap_or_else(PoisonError::into_inner);
    let names = names.get_or_insert_with(HashSet::new);
    match names.get(name) {
        Some(interned) => interned,
        None => {
            let leaked: &'static str = Box::leak(name.into());
            names.insert(leaked);
            leaked
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: Option<&'static [u8]>, payload: &'static [u8]) -> StoredRecord {
        StoredRecord {
            topic: "orders",
            event_name: "order.placed",
            schema_name: "events.OrderPlaced",
            key: key.map(<[u8]>::to_vec),
            payload: payload.to_vec(),
            event_id: EventId::from_u128(0x0190_1234_5678_7abc_8def_0123_4567_89ab),
            timestamp_millis: 1_764_000_000_123,
            traceparent: None,
            tracestate: None,
        }
    }

    fn traced(state: Option<&str>) -> StoredRecord {
        StoredRecord {
            traceparent: Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into()),
            tracestate: state.map(str::to_owned),
            ..record(Some(b"user-1"), b"\x08\x01")
        }
    }

    fn framed(stored: &StoredRecord) -> Vec<u8> {
        let mut out = Vec::new();
        write(&stored.record(), &mut out).expect("frameable");
        out
    }

    #[test]
    fn a_frame_reads_back_as_the_record_it_was_written_from() {
        for stored in [
            record(Some(b"user-1"), b"\x08\x01"),
            record(None, b""),
            record(Some(b""), b"x"),
            traced(None),
            traced(Some("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7")),
        ] {
            let bytes = framed(&stored);
            assert_eq!(bytes.len(), frame_len(&stored.record()));
            assert_eq!(read(&bytes), Read::Frame(stored.clone(), bytes.len()));
        }
    }

    #[test]
    fn every_flipped_bit_is_caught_and_every_cut_is_incomplete() {
        let bytes = framed(&StoredRecord {
            payload: b"\x08\x96\x01payload".to_vec(),
            ..traced(Some("congo=t61rcWkgMzE"))
        });
        for at in 0..bytes.len() {
            for bit in 0..8 {
                let mut damaged = bytes.clone();
                damaged[at] ^= 1 << bit;
                assert!(
                    !matches!(read(&damaged), Read::Frame(..)),
                    "bit {bit} of byte {at} flipped and still read as a frame"
                );
            }
            assert_eq!(read(&bytes[..at]), Read::Incomplete, "cut at {at}");
        }
    }

    #[test]
    fn resync_finds_the_next_intact_frame() {
        let first = framed(&record(Some(b"a"), b"first"));
        let second = framed(&record(Some(b"b"), b"second"));
        let mut bytes = first.clone();
        bytes.extend_from_slice(&second);
        bytes[HEADER_LEN + 3] ^= 0xff;
        assert_eq!(read(&bytes), Read::Damaged);
        assert_eq!(resync(&bytes), Some(first.len()));
        assert_eq!(resync(&bytes[..bytes.len() - 1]), None);
    }
}
