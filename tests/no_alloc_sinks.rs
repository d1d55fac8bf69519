//! With both production sinks enabled, a publish in steady state makes no heap allocation
//! on the publishing thread: counted by a global allocator. librdkafka's C allocations
//! (it copies each record into its queue) do not go through Rust's allocator and are not
//! counted; the sinks' background threads are not the caller's and are not counted either.
#![cfg(all(feature = "kafka", feature = "statsd"))]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::UdpSocket;
use std::time::Duration;

use event_runtime::{Dispatcher, KafkaConfig, StatsdConfig};

struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // `try_with`: a thread being torn down has no counter left, and is not ours.
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

#[test]
fn publish_to_kafka_and_statsd_does_not_allocate() {
    publishes_without_allocating(false);
}

/// Relayed, a publish copies its record into the relay's queue, whose memory the sink
/// allocated when it was built; should the queue fill, the publishing thread moves records
/// on into librdkafka through buffers allocated then too.
#[test]
fn a_relayed_publish_to_kafka_and_statsd_does_not_allocate() {
    publishes_without_allocating(true);
}

fn publishes_without_allocating(relay: bool) {
    let agent = UdpSocket::bind("127.0.0.1:0").unwrap();
    // No broker needed: the records wait in librdkafka's queue, which is the same enqueue.
    let events = Dispatcher::builder()
        .statsd(
            StatsdConfig::udp(agent.local_addr().unwrap().to_string()).constant_tag("env", "test"),
        )
        .kafka(
            KafkaConfig::new("127.0.0.1:1")
                .set("linger.ms", "60000")
                .relay(relay),
        )
        .build()
        .unwrap();
    const WARM_UP: u64 = 100;
    const MEASURED: u64 = 10_000;
    let event = common::design_example();
    for _ in 0..WARM_UP {
        events.publish(&event);
    }

    let before = ALLOCATIONS.with(Cell::get);
    for _ in 0..MEASURED {
        events.publish(&event);
    }
    let allocations = ALLOCATIONS.with(Cell::get) - before;
    assert_eq!(
        allocations, 0,
        "{allocations} allocations in 10,000 publishes"
    );

    // The counter does see this thread's allocations.
    let before = ALLOCATIONS.with(Cell::get);
    drop(std::hint::black_box(vec![0u8; 16]));
    assert_eq!(ALLOCATIONS.with(Cell::get) - before, 1);

    let stats = events.flush(Duration::ZERO);
    assert_eq!(stats.sink("kafka").unwrap().published, WARM_UP + MEASURED);
    // The distribution's samples filled slots of 128, one line of text each, that
    // publishes handed to the aggregation thread; the flush waited for the lines it was
    // sending, and sent the last slot's line and the counter.
    let per_slot = 128;
    let last_slot = u64::from((WARM_UP + MEASURED) % per_slot != 0);
    assert_eq!(
        stats.sink("statsd").unwrap().published,
        (WARM_UP + MEASURED) / per_slot + last_slot + 1
    );
    drop(events.shutdown(Duration::ZERO));
}
