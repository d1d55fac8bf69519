//! The README's example event ("Define an event and publish it") compiles as written, and publishes with one call.
use event_runtime::{Dispatcher, Event, RecordingSink, Tag};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
enum Market { Uk, Fr, It }

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
enum Platform { Android, Ios, Web }

#[derive(Event, Clone, Debug, PartialEq)]
#[event(name = "payment.attempted", topic = "payments")]
struct PaymentAttempted {
    #[event(key)]
    order_id: String,
    user_id: String,
    #[event(tag)]
    market: Market,
    #[event(tag)]
    platform: Platform,
    #[event(tag)]
    first_order: bool,
    #[event(metric = "distribution")]
    amount_pence: u64,
}

fn main() {
    let recording = RecordingSink::new();
    let events = Dispatcher::builder().recording(&recording).build().unwrap();
    events.publish(&PaymentAttempted {
        order_id: "o".into(),
        user_id: "u".into(),
        market: Market::It,
        platform: Platform::Android,
        first_order: false,
        amount_pence: 1,
    });
    assert_eq!(PaymentAttempted::SERIES, 108);
    assert_eq!(recording.records().len(), 1);
}
