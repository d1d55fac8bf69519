//! Events and messages that borrow their text and bytes: they encode as their owned
//! twins do, and decode without copying, their fields pointing into the payload.

mod common;

use std::borrow::Cow;

use common::borrowed::{sample, OrderPlaced, Payment, Sku};
use event_runtime::{Dispatcher, Event, RecordingSink, Value};

const TEXT: &str = "o-1u-9skuRueP0123A4242";
const BYTES: &[u8] = &[1, 2, 3, 4, 5, 6];

/// Whether `part` lies inside `whole`: a borrowed field, not a copy.
fn points_into(part: &[u8], whole: &[u8]) -> bool {
    let range = whole.as_ptr_range();
    !part.is_empty() && range.contains(&part.as_ptr()) && part.len() <= whole.len()
}

#[test]
fn a_borrowing_event_round_trips_and_borrows_from_the_payload() {
    let mut order = sample(TEXT, BYTES);
    order.tags = vec![&TEXT[0..1], &TEXT[3..4]];
    let mut payload = Vec::new();
    order.encode(&mut payload);
    assert_eq!(payload.len(), order.encoded_len());

    let decoded = OrderPlaced::decode(&payload).unwrap();
    assert_eq!(decoded, order);
    // Every text and byte field of the decoded event is a view of `payload`.
    assert!(points_into(decoded.order_id.as_bytes(), &payload));
    assert!(matches!(decoded.user_id, Cow::Borrowed(_)));
    assert!(points_into(decoded.user_id.as_bytes(), &payload));
    assert!(points_into(decoded.sku.0.as_bytes(), &payload));
    assert!(points_into(decoded.delivery.street.as_bytes(), &payload));
    assert!(points_into(
        decoded.delivery.floor.unwrap().as_bytes(),
        &payload
    ));
    let Payment::Card { last4 } = decoded.payment else {
        panic!("the card was not read back: {:?}", decoded.payment);
    };
    assert!(points_into(last4.as_bytes(), &payload));
    assert!(points_into(decoded.token, &payload));
    assert!(matches!(decoded.raw, Cow::Borrowed(_)));
    assert!(points_into(decoded.tags[1].as_bytes(), &payload));
}

#[test]
fn a_borrowing_event_encodes_as_its_owned_twin() {
    let order = sample(TEXT, BYTES);
    let owned = common::borrowed_owned_twin(&order);
    let (mut borrowed_bytes, mut owned_bytes) = (Vec::new(), Vec::new());
    order.encode(&mut borrowed_bytes);
    owned.encode(&mut owned_bytes);
    assert_eq!(borrowed_bytes, owned_bytes);
}

#[test]
fn a_newtype_over_a_borrowed_str_is_the_key_and_its_fields_are_data() {
    let order = sample(TEXT, BYTES);
    assert_eq!(order.key(), Some(&b"o-1"[..]));
    assert_eq!(
        event_runtime::__private::RecordKey::key_bytes(&Sku("abc")),
        Some(&b"abc"[..])
    );
    let mut fields = Vec::new();
    order.for_each_field(|name, value| fields.push((name, value)));
    assert_eq!(
        fields[3],
        ("sku", event_runtime::FieldValue::Single(Value::Text("sku")))
    );
}

#[test]
fn a_recorded_borrowing_event_is_read_back_from_its_record() {
    let recording = RecordingSink::new();
    let events = Dispatcher::builder().recording(&recording).build().unwrap();
    let order = sample(TEXT, BYTES);
    events.publish(&order);
    events.shutdown(std::time::Duration::from_secs(1)).unwrap();
    let records = recording.records();
    assert_eq!(records.len(), 1);
    let read: OrderPlaced<'_> = records[0].decode().unwrap();
    assert_eq!(read, order);
    assert!(points_into(read.order_id.as_bytes(), &records[0].payload));
    assert_eq!(
        recording.statsd_lines(),
        [
            "order.placed_borrowed:1|c|#market:it",
            "order.placed_borrowed.basket_pence:1250|d|#market:it",
        ]
    );
}
