//! The Kafka record of one published event, as every record sink receives it.

use crate::{EventId, HyphenatedId};

/// Header names written on every Kafka record.
pub mod header {
    /// The event name, e.g. `payment.attempted`.
    pub const EVENT_NAME: &str = "event_name";
    /// The event id (UUIDv7, hyphenated).
    pub const EVENT_ID: &str = "event_id";
    /// The protobuf message's full name, e.g. `events.PaymentAttempted`.
    pub const SCHEMA_NAME: &str = "schema_name";
    /// Always [`CONTENT_TYPE_PROTOBUF`](super::CONTENT_TYPE_PROTOBUF).
    pub const CONTENT_TYPE: &str = "content_type";
    /// W3C `traceparent` of the span the event was published in (feature `opentelemetry`).
    pub const TRACEPARENT: &str = "traceparent";
    /// W3C `tracestate` of that span, when it has one.
    pub const TRACESTATE: &str = "tracestate";
}

/// The counter the dispatcher sends (under its prefix, with its constant tags) for records
/// a record sink dropped or failed, tagged `event:<event name>` and `sink:<sink name>`:
/// `shop.events.undelivered:3|c|#event:payment.attempted,sink:kafka,env:prod`.
///
/// An event's own counter is sent when it is published, before Kafka has answered; a
/// dashboard subtracts this one to count only what reached Kafka. Sent every aggregation
/// interval (10 s when aggregation is off), at `flush` and at `shutdown`. Records a spool
/// keeps for the next start are not undelivered.
pub const UNDELIVERED_METRIC: &str = "events.undelivered";

/// The `content_type` header value.
pub const CONTENT_TYPE_PROTOBUF: &str = "application/x-protobuf";

/// The most a record's own framing takes: varints of length, attributes, timestamp delta,
/// offset delta, key length, value length and header count, each at its widest
/// (librdkafka's `RD_KAFKAP_MESSAGE_V2_MAX_OVERHEAD`).
const RECORD_MAX_OVERHEAD: usize = 5 + 1 + 10 + 5 + 5 + 5 + 5;

/// An encoded event, borrowed from the dispatcher's buffers for the duration of one send.
#[derive(Clone, Copy, Debug)]
pub struct KafkaRecord<'a> {
    /// The event's topic.
    pub topic: &'static str,
    /// The `#[event(key)]` field's bytes.
    pub key: Option<&'a [u8]>,
    /// The protobuf payload.
    pub payload: &'a [u8],
    /// The event name.
    pub event_name: &'static str,
    /// The protobuf message's full name.
    pub schema_name: &'static str,
    /// Unique per publish, ordered by publish time. Its `event_id` header holds its
    /// hyphenated text ([`EventId::to_hyphenated`]), which the sink that writes the header
    /// computes: a relayed publish leaves that work to the relay thread.
    pub event_id: EventId,
    /// The publish time in Unix milliseconds, as Kafka stores a record's timestamp: the
    /// system clock's time, counted on from the publishing thread's last reading of it (at
    /// most 10 ms before) with the CPU's time-stamp counter, so a step of the system clock
    /// shows within 10 ms.
    pub timestamp_millis: i64,
    /// The W3C `traceparent` of the OpenTelemetry span the event was published in, if any
    /// (feature `opentelemetry`).
    pub traceparent: Option<&'a str>,
    /// The span's W3C `tracestate`, when it has one.
    pub tracestate: Option<&'a str>,
}

impl<'a> KafkaRecord<'a> {
    /// The size librdkafka gives this record when it checks it against
    /// `message.max.bytes` as it is produced: key, payload and headers, each header's
    /// lengths as varints, and the most a record's own framing can take.
    pub fn wire_size(&self) -> usize {
        // A length as librdkafka writes a header's: a zigzag varint.
        let varint = |n: usize| {
            let mut zigzag = (n as u64) << 1;
            let mut bytes = 1;
            while zigzag >= 0x80 {
                zigzag >>= 7;
                bytes += 1;
            }
            bytes
        };
        let mut headers = 0;
        self.for_each_header(|name, value| {
            headers += name.len() + value.len() + varint(name.len()) + varint(value.len());
        });
        RECORD_MAX_OVERHEAD + self.key.map_or(0, <[u8]>::len) + self.payload.len() + headers
    }

    /// Whether [`KafkaRecord::wire_size`] is at most `max`. A publish asks this of every
    /// record, so it first adds up a bound that needs no walk over the headers: every
    /// header name there is and every length varint at its widest. Only a record over that
    /// bound has its exact size computed.
    pub fn wire_size_at_most(&self, max: usize) -> bool {
        self.wire_size_bound() <= max || self.wire_size() <= max
    }

    /// At least [`KafkaRecord::wire_size`], for any of the headers
    /// [`KafkaRecord::for_each_header`] hands over.
    fn wire_size_bound(&self) -> usize {
        /// Every header name, each with two varints of 5 bytes (a `u32` length's widest).
        const HEADERS: usize = header::EVENT_NAME.len()
            + header::EVENT_ID.len()
            + header::SCHEMA_NAME.len()
            + header::CONTENT_TYPE.len()
            + header::TRACEPARENT.len()
            + header::TRACESTATE.len()
            + 6 * 2 * 5;
        let text = |value: Option<&str>| value.map_or(0, str::len);
        RECORD_MAX_OVERHEAD
            + HEADERS
            + self.key.map_or(0, <[u8]>::len)
            + self.payload.len()
            + self.event_name.len()
            + HyphenatedId::LEN
            + self.schema_name.len()
            + CONTENT_TYPE_PROTOBUF.len()
            + text(self.traceparent)
            + text(self.tracestate)
    }

    /// Hands `each` every header's name and value in the order they are written: the four
    /// every record has, then `traceparent` and `tracestate` when present.
    pub fn for_each_header(&self, mut each: impl FnMut(&'static str, &str)) {
        let id_text = self.event_id.to_hyphenated();
        each(header::EVENT_NAME, self.event_name);
        each(header::EVENT_ID, id_text.as_str());
        each(header::SCHEMA_NAME, self.schema_name);
        each(header::CONTENT_TYPE, CONTENT_TYPE_PROTOBUF);
        if let Some(traceparent) = self.traceparent {
            each(header::TRACEPARENT, traceparent);
        }
        if let Some(tracestate) = self.tracestate {
            each(header::TRACESTATE, tracestate);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bound holds for every set of headers a record can have, and for header values
    /// long enough to need wider varints; `wire_size_at_most` agrees with `wire_size` on
    /// both sides of it.
    #[test]
    fn the_bound_is_never_under_the_exact_size() {
        let long = "t".repeat(300);
        let key = [7u8; 40];
        let payload = vec![1u8; 5_000];
        for traceparent in [
            None,
            Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        ] {
            for tracestate in [None, Some("vendor=x"), Some(long.as_str())] {
                let record = KafkaRecord {
                    topic: "payments",
                    key: Some(&key),
                    payload: &payload,
                    event_name: "payment.attempted",
                    schema_name: "events.PaymentAttempted",
                    event_id: EventId::at_unix_millis(1_700_000_000_000),
                    timestamp_millis: 1_700_000_000_000,
                    traceparent,
                    tracestate,
                };
                let exact = record.wire_size();
                assert!(record.wire_size_bound() >= exact, "{exact}");
                assert!(record.wire_size_at_most(exact));
                assert!(!record.wire_size_at_most(exact - 1));
            }
        }
    }
}
