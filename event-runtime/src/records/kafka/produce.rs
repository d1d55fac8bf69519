//! One call into librdkafka that enqueues a record without a Rust heap allocation.
//!
//! rdkafka's safe `send` turns the topic into a new `CString` on every call, and its
//! headers into an `OwnedHeaders` object. On the hot path of every publish that is an
//! allocation we can avoid: librdkafka takes headers one by one (`RD_KAFKA_VTYPE_HEADER`)
//! with NUL-terminated static names, and copies everything it is given
//! (`RD_KAFKA_MSG_F_COPY`), so nothing borrowed here outlives the call. Allocations
//! inside librdkafka are its own.
//!
//! The topic is passed as a handle made once per topic (`RD_KAFKA_VTYPE_RKT`), not by
//! name: by name, librdkafka takes its client-wide write lock, which its broker threads
//! also take, and scans its topics with `strcmp`, on every record.
#![allow(unsafe_code)]

use std::ffi::{c_void, CStr, CString};
use std::ptr::{self, NonNull};

use rdkafka::producer::{Producer, ThreadedProducer};
use rdkafka_sys::rd_kafka_vtype_t::*;
use rdkafka_sys::{
    rd_kafka_producev, rd_kafka_resp_err_t, rd_kafka_topic_destroy, rd_kafka_topic_new,
    rd_kafka_topic_t, RD_KAFKA_MSG_F_COPY,
};

use super::CountingContext;
use crate::once_map::OnceMap;
use crate::records::record::header;
use crate::{KafkaRecord, CONTENT_TYPE_PROTOBUF};

/// Header names as C strings, in the order of [`KafkaRecord::for_each_header`].
const HEADER_NAMES: [&CStr; 4] = [c"event_name", c"event_id", c"schema_name", c"content_type"];
const TRACEPARENT: &CStr = c"traceparent";
const TRACESTATE: &CStr = c"tracestate";

// The C names must be the documented ones.
const _: () = {
    assert!(HEADER_NAMES[0].to_bytes().len() == header::EVENT_NAME.len());
    assert!(HEADER_NAMES[1].to_bytes().len() == header::EVENT_ID.len());
    assert!(HEADER_NAMES[2].to_bytes().len() == header::SCHEMA_NAME.len());
    assert!(HEADER_NAMES[3].to_bytes().len() == header::CONTENT_TYPE.len());
    assert!(TRACEPARENT.to_bytes().len() == header::TRACEPARENT.len());
    assert!(TRACESTATE.to_bytes().len() == header::TRACESTATE.len());
};

/// librdkafka's handle on one topic, held for the sink's lifetime.
pub(super) struct TopicHandle(NonNull<rd_kafka_topic_t>);

// SAFETY: librdkafka's topic handles are reference-counted and its produce calls are
// thread-safe; this one is only passed to `rd_kafka_producev` and destroyed once.
unsafe impl Send for TopicHandle {}
unsafe impl Sync for TopicHandle {}

impl Drop for TopicHandle {
    fn drop(&mut self) {
        // SAFETY: the handle came from `rd_kafka_topic_new` and is destroyed only here.
        // `KafkaSink` declares its topics before its producer, so this runs before the
        // client is destroyed; records already queued hold references of their own.
        unsafe { rd_kafka_topic_destroy(self.0.as_ptr()) }
    }
}

/// Topic handles, made on each topic's first record.
///
/// Found by the address of the `&'static str` (an event type's `TOPIC`), without a lock:
/// hashing the name on every publish would cost more. Two copies of one name at
/// different addresses only take two references to the same librdkafka topic.
#[derive(Default)]
pub(super) struct Topics(OnceMap<(usize, usize), Option<TopicHandle>>);

impl Topics {
    fn get(
        &self,
        producer: &ThreadedProducer<CountingContext>,
        topic: &'static str,
    ) -> Option<&TopicHandle> {
        let key = (topic.as_ptr() as usize, topic.len());
        self.0
            .get_or_insert_with(key, || {
                // Topic names are checked at compile time, so a NUL byte cannot occur.
                let name = CString::new(topic).ok()?;
                // SAFETY: the client handle is live for the call, `name` is NUL-terminated
                // and copied by librdkafka, and a null configuration means the client's
                // default topic configuration.
                let handle = unsafe {
                    rd_kafka_topic_new(
                        producer.client().native_ptr(),
                        name.as_ptr(),
                        ptr::null_mut(),
                    )
                };
                NonNull::new(handle).map(TopicHandle)
            })
            .as_ref()
    }
}

/// What librdkafka answered to one enqueue.
pub(super) enum Enqueued {
    Ok,
    QueueFull,
    Failed(rdkafka::error::RDKafkaErrorCode),
}

/// Enqueues one record; librdkafka copies the topic, key, value and headers. `opaque`
/// comes back with the record's delivery report (its spool ticket, or 0).
pub(super) fn enqueue(
    producer: &ThreadedProducer<CountingContext>,
    topics: &Topics,
    record: &KafkaRecord<'_>,
    opaque: usize,
) -> Enqueued {
    let (key_ptr, key_len) = record.key.map_or((ptr::null_mut(), 0), |k| {
        (k.as_ptr() as *mut c_void, k.len())
    });
    let id_text = record.event_id.to_hyphenated();
    let result = topics.get(producer, record.topic).map(|topic| {
        // One call per set of headers: a vararg list cannot leave an argument out.
        macro_rules! producev {
            ($(($name:expr, $value:expr)),*) => {
                // SAFETY: `native_ptr` is the live producer handle, owned by `producer`,
                // which outlives the call. Every pointer passed points into memory borrowed
                // for the duration of the call (`RD_KAFKA_MSG_F_COPY` makes librdkafka copy
                // the value and key; header names are NUL-terminated C string literals;
                // header values are copied by `rd_kafka_header_add`). The topic handle is
                // live while `topics` is, and librdkafka takes a reference of its own for
                // the record. The argument list follows `rd_kafka_producev`'s vararg
                // protocol: each `RD_KAFKA_VTYPE_*` tag is followed by exactly the
                // arguments it documents, and the list ends with `RD_KAFKA_VTYPE_END`. The
                // opaque is a plain integer, which is how rdkafka reads
                // `CountingContext`'s `usize` delivery opaque back.
                unsafe {
                    rd_kafka_producev(
                        producer.client().native_ptr(),
                        RD_KAFKA_VTYPE_RKT,
                        topic.0.as_ptr(),
                        RD_KAFKA_VTYPE_MSGFLAGS,
                        RD_KAFKA_MSG_F_COPY,
                        RD_KAFKA_VTYPE_VALUE,
                        record.payload.as_ptr() as *mut c_void,
                        record.payload.len(),
                        RD_KAFKA_VTYPE_KEY,
                        key_ptr,
                        key_len,
                        RD_KAFKA_VTYPE_TIMESTAMP,
                        record.timestamp_millis,
                        $(
                            RD_KAFKA_VTYPE_HEADER,
                            CStr::as_ptr($name),
                            str::as_ptr($value) as *const c_void,
                            str::len($value) as isize,
                        )*
                        RD_KAFKA_VTYPE_OPAQUE,
                        opaque as *mut c_void,
                        RD_KAFKA_VTYPE_END,
                    )
                }
            };
        }
        macro_rules! with_record_headers {
            ($($trace:tt)*) => {
                producev!(
                    (HEADER_NAMES[0], record.event_name),
                    (HEADER_NAMES[1], id_text.as_str()),
                    (HEADER_NAMES[2], record.schema_name),
                    (HEADER_NAMES[3], CONTENT_TYPE_PROTOBUF)
                    $($trace)*
                )
            };
        }
        match (record.traceparent, record.tracestate) {
            (None, None) => with_record_headers!(),
            (Some(parent), None) => with_record_headers!(, (TRACEPARENT, parent)),
            (None, Some(state)) => with_record_headers!(, (TRACESTATE, state)),
            (Some(parent), Some(state)) => {
                with_record_headers!(, (TRACEPARENT, parent), (TRACESTATE, state))
            }
        }
    });
    match result {
        Some(rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR) => Enqueued::Ok,
        Some(rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR__QUEUE_FULL) => Enqueued::QueueFull,
        Some(code) => Enqueued::Failed(code.into()),
        None => Enqueued::Failed(rdkafka::error::RDKafkaErrorCode::InvalidArgument),
    }
}

/// Makes librdkafka raise a fatal error, as a broker that lost the idempotent producer's
/// sequence state would. For tests of how a fatal error is surfaced.
pub(super) fn raise_fatal_error(producer: &ThreadedProducer<CountingContext>, reason: &str) {
    let reason = CString::new(reason.replace('\0', " ")).unwrap_or_default();
    // SAFETY: the producer handle is live for the call; `reason` is NUL-terminated and
    // librdkafka copies it.
    unsafe {
        rdkafka_sys::rd_kafka_test_fatal_error(
            producer.client().native_ptr(),
            rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
            reason.as_ptr(),
        );
    }
}
