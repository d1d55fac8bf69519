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
        assert_eq!(record.event_id_text.len(), 36);
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
}
