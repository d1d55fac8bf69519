//! Formatting lines and encoding payloads into reused buffers makes no heap allocation,
//! counted by a global allocator. This file is its own test binary so the counter sees
//! only this test's thread.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;

use common::PaymentAttempted;
use event_runtime::{
    Dispatcher, Event, KafkaRecord, LineFormat, MetricSink, RecordSink, SinkStats,
};

struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn allocations_in(f: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

#[test]
fn formatting_lines_into_a_reused_buffer_does_not_allocate() {
    let format = LineFormat::default();
    let event = common::design_example();
    let mut out = String::new();
    // Warm-up: the buffer grows once.
    format.write_counter(&event, 1.0, &mut out);
    format.write_value_metrics(&event, &mut out);

    let allocations = allocations_in(|| {
        for _ in 0..1000 {
            out.clear();
            format.write_counter(&event, 1.0, &mut out);
            format.write_value_metrics(&event, &mut out);
        }
    });
    assert_eq!(allocations, 0);
    assert!(out.starts_with("payment.attempted:1|c|#market:uk"));
    // The control: into a new buffer each time, the counter sees every line's allocation.
    let allocations = allocations_in(|| {
        for _ in 0..1000 {
            let mut fresh = String::new();
            format.write_counter(&event, 1.0, &mut fresh);
            std::hint::black_box(fresh);
        }
    });
    assert!(allocations >= 1000, "{allocations}");
}

#[test]
fn encoding_into_a_reused_buffer_does_not_allocate() {
    let event = common::design_example();
    let mut payload = Vec::new();
    event.encode(&mut payload);
    let allocations = allocations_in(|| {
        for _ in 0..1000 {
            payload.clear();
            event.encode(&mut payload);
        }
    });
    assert_eq!(allocations, 0);
    assert_eq!(PaymentAttempted::decode(&payload).unwrap(), event);
    // The control: into a new buffer each time, the counter sees every payload's allocation.
    let allocations = allocations_in(|| {
        for _ in 0..1000 {
            let mut fresh = Vec::new();
            event.encode(&mut fresh);
            std::hint::black_box(fresh);
        }
    });
    assert!(allocations >= 1000, "{allocations}");
}

/// Sinks that only look at what they are given, so the dispatcher's own work is measured.
struct Inspect;

impl MetricSink for Inspect {
    fn name(&self) -> &'static str {
        "inspect-statsd"
    }
    fn send_lines(&self, lines: &str) {
        assert!(lines.contains("|#market:uk"));
    }
    fn flush(&self, _: Duration) {}
    fn stats(&self) -> SinkStats {
        SinkStats::default()
    }
}

impl RecordSink for Inspect {
    fn name(&self) -> &'static str {
        "inspect-kafka"
    }
    fn send(&self, record: &KafkaRecord<'_>) {
        assert_eq!(record.key, Some(&b"order-1"[..]));
        // Stamped by the publish: a UUIDv7 (version 7, RFC 4122 variant).
        let id = record.event_id.as_u128();
        assert_eq!((id >> 76 & 0xf, id >> 62 & 0b11), (7, 0b10));
    }
    fn flush(&self, _: Duration) {}
    fn stats(&self) -> SinkStats {
        SinkStats::default()
    }
}

#[test]
fn publish_does_not_allocate_in_steady_state() {
    let events = Dispatcher::builder()
        .prefix("shop")
        .constant_tag("env", "test")
        .metric_sink(Inspect)
        .record_sink(Inspect)
        .build()
        .unwrap();
    let event = common::design_example();
    events.publish(&event);
    let allocations = allocations_in(|| {
        for _ in 0..1000 {
            events.publish(&event);
        }
    });
    assert_eq!(allocations, 0);
    // The control: a dispatcher whose record sink keeps a copy of each payload, where the
    // counter must see one allocation per publish.
    let copies = Dispatcher::builder()
        .record_sink(Copying::default())
        .build()
        .unwrap();
    copies.publish(&event);
    let allocations = allocations_in(|| {
        for _ in 0..1000 {
            copies.publish(&event);
        }
    });
    assert!(allocations >= 1000, "{allocations}");
}

/// Keeps the last payload it was given: one allocation per record.
#[derive(Default)]
struct Copying(std::sync::Mutex<Vec<u8>>);

impl RecordSink for Copying {
    fn name(&self) -> &'static str {
        "copying-kafka"
    }
    fn send(&self, record: &KafkaRecord<'_>) {
        *self.0.lock().unwrap() = record.payload.to_vec();
    }
    fn flush(&self, _: Duration) {}
    fn stats(&self) -> SinkStats {
        SinkStats::default()
    }
}

/// Counts what reaches it, so the test can check the publishes got through.
#[derive(Clone, Default)]
struct Tally(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl RecordSink for Tally {
    fn name(&self) -> &'static str {
        "tally-kafka"
    }
    fn send(&self, record: &KafkaRecord<'_>) {
        assert_eq!(record.key, Some(&b"o-1"[..]));
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    fn flush(&self, _: Duration) {}
    fn stats(&self) -> SinkStats {
        SinkStats::default()
    }
}

impl MetricSink for Tally {
    fn name(&self) -> &'static str {
        "tally-statsd"
    }
    fn send_lines(&self, lines: &str) {
        assert!(lines.contains("|#market:it"), "{lines}");
    }
    fn flush(&self, _: Duration) {}
    fn stats(&self) -> SinkStats {
        SinkStats::default()
    }
}

#[test]
fn building_and_publishing_a_borrowing_event_does_not_allocate() {
    const TEXT: &str = "o-1u-9skuRueP0123A4242";
    const BYTES: &[u8] = &[1, 2, 3, 4, 5, 6];
    let tally = Tally::default();
    let events = Dispatcher::builder()
        .metric_sink(tally.clone())
        .record_sink(tally.clone())
        .build()
        .unwrap();
    // Warm-up: the dispatcher's buffers and tables grow once.
    events.publish(&common::borrowed::sample(TEXT, BYTES));
    let allocations = allocations_in(|| {
        for _ in 0..1000 {
            // Text, bytes and a nested message of borrowed strings, and a oneof holding one.
            let order = common::borrowed::sample(TEXT, BYTES);
            events.publish(&order);
        }
    });
    assert_eq!(allocations, 0);
    assert_eq!(tally.0.load(std::sync::atomic::Ordering::Relaxed), 1001);
    // The control: the owned twin of the same event allocates its text as it is built.
    let allocations = allocations_in(|| {
        for _ in 0..1000 {
            let order = common::borrowed::sample(TEXT, BYTES);
            std::hint::black_box(common::borrowed_owned_twin(&order));
        }
    });
    assert!(allocations >= 1000, "{allocations}");
}

/// Checks each record carries the trace context of the span it was published in.
#[cfg(feature = "opentelemetry")]
struct TraceInspect;

#[cfg(feature = "opentelemetry")]
impl RecordSink for TraceInspect {
    fn name(&self) -> &'static str {
        "trace-inspect-kafka"
    }
    fn send(&self, record: &KafkaRecord<'_>) {
        assert_eq!(
            record.traceparent,
            Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        );
        assert_eq!(record.tracestate, Some("congo=t61rcWkgMzE"));
    }
    fn flush(&self, _: Duration) {}
    fn stats(&self) -> SinkStats {
        SinkStats::default()
    }
}

/// Keeps the last `traceparent` it was given: one allocation per record.
#[cfg(feature = "opentelemetry")]
#[derive(Default)]
struct TraceCopying(std::sync::Mutex<String>);

#[cfg(feature = "opentelemetry")]
impl RecordSink for TraceCopying {
    fn name(&self) -> &'static str {
        "trace-copying-kafka"
    }
    fn send(&self, record: &KafkaRecord<'_>) {
        *self.0.lock().unwrap() = record.traceparent.unwrap().to_owned();
    }
    fn flush(&self, _: Duration) {}
    fn stats(&self) -> SinkStats {
        SinkStats::default()
    }
}

#[test]
#[cfg(feature = "opentelemetry")]
fn publishing_through_the_global_dispatcher_inside_a_span_does_not_allocate() {
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
    };
    let events = Dispatcher::builder()
        .prefix("shop")
        .metric_sink(Inspect)
        .record_sink(TraceInspect)
        .build()
        .unwrap();
    let _guard = event_runtime::set_global(events).unwrap();
    let span = SpanContext::new(
        TraceId::from_bytes(0x4bf92f3577b34da6a3ce929d0e0e4736_u128.to_be_bytes()),
        SpanId::from_bytes(0x00f067aa0ba902b7_u64.to_be_bytes()),
        TraceFlags::SAMPLED,
        true,
        TraceState::from_key_value([("congo", "t61rcWkgMzE")]).unwrap(),
    );
    let _attached = opentelemetry::Context::new()
        .with_remote_span_context(span)
        .attach();
    let event = common::design_example();
    // Warm-up: the thread's buffers grow and the span's tracestate is formatted once.
    event_runtime::publish(&event);
    let allocations = allocations_in(|| {
        for _ in 0..1000 {
            event_runtime::publish(&event);
        }
    });
    assert_eq!(allocations, 0);
    assert_eq!(event_runtime::unrouted(), 0);
    // The control: through the same path, a sink that keeps a copy of each traceparent.
    let copies = Dispatcher::builder()
        .record_sink(TraceCopying::default())
        .build()
        .unwrap();
    event_runtime::with_local(&copies, || {
        event_runtime::publish(&event);
        let allocations = allocations_in(|| {
            for _ in 0..1000 {
                event_runtime::publish(&event);
            }
        });
        assert!(allocations >= 1000, "{allocations}");
    });
}
