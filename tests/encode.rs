//! Protobuf payloads: `decode(encode(e)) == e` for every supported field type, and
//! decoding is forward compatible and fails cleanly on bad input.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{KitchenSink, Market, Method, PaymentAttempted};
use event_runtime::{Event, Tag};
use proptest::prelude::*;

fn method() -> impl Strategy<Value = Method> {
    (0..Method::CARDINALITY).prop_map(|i| Method::from_index(i).unwrap())
}

fn market() -> impl Strategy<Value = Market> {
    (0..Market::CARDINALITY).prop_map(|i| Market::from_index(i).unwrap())
}

fn any_f64() -> impl Strategy<Value = f64> {
    // Every class but NaN, which is not equal to itself.
    use proptest::num::f64;
    f64::POSITIVE | f64::NEGATIVE | f64::NORMAL | f64::SUBNORMAL | f64::ZERO | f64::INFINITE
}

fn any_f32() -> impl Strategy<Value = f32> {
    use proptest::num::f32;
    f32::POSITIVE | f32::NEGATIVE | f32::NORMAL | f32::SUBNORMAL | f32::ZERO | f32::INFINITE
}

fn time() -> impl Strategy<Value = SystemTime> {
    // Before and after the epoch, to the nanosecond.
    (-10_000_000_000i64..10_000_000_000i64, 0u32..1_000_000_000).prop_map(|(secs, nanos)| {
        if secs >= 0 {
            UNIX_EPOCH + Duration::new(secs as u64, nanos)
        } else {
            UNIX_EPOCH - Duration::new(secs.unsigned_abs(), nanos)
        }
    })
}

fn duration() -> impl Strategy<Value = Duration> {
    (0u64..100_000_000_000, 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n))
}

prop_compose! {
    fn kitchen_sink()(
        (key, flag, small, big, count, total, ratio, precise) in (
            any::<Vec<u8>>(), any::<bool>(), any::<i32>(), any::<i64>(),
            any::<u32>(), any::<u64>(), any_f32(), any_f64(),
        ),
        (text, blob, method, market, retried, opt_text, opt_number, opt_method) in (
            any::<String>(), any::<Vec<u8>>(), method(), proptest::option::of(market()),
            any::<Option<bool>>(), any::<Option<String>>(), any::<Option<i64>>(),
            proptest::option::of(method()),
        ),
        (many_numbers, many_signed, many_floats, many_texts, many_blobs, many_methods) in (
            any::<Vec<u64>>(), any::<Vec<i32>>(), proptest::collection::vec(any_f64(), 0..8),
            any::<Vec<String>>(), proptest::collection::vec(any::<Vec<u8>>(), 0..4),
            proptest::collection::vec(method(), 0..8),
        ),
        (at, took, maybe_at, durations) in (
            time(), duration(), proptest::option::of(time()),
            proptest::collection::vec(duration(), 0..4),
        ),
    ) -> KitchenSink {
        KitchenSink {
            key, flag, small, big, count, total, ratio, precise, text, blob, method, market,
            retried, opt_text, opt_number, opt_method, many_numbers, many_signed, many_floats,
            many_texts, many_blobs, many_methods, at, took, maybe_at, durations,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_field_type_round_trips(event in kitchen_sink()) {
        let mut bytes = Vec::new();
        event.encode(&mut bytes);
        prop_assert_eq!(bytes.len(), event.encoded_len());
        prop_assert_eq!(KitchenSink::decode(&bytes).unwrap(), event);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in any::<Vec<u8>>()) {
        // Ok or Err, never a panic.
        let _ = KitchenSink::decode(&bytes);
        let _ = PaymentAttempted::decode(&bytes);
    }
}

fn encode<E: Event>(event: &E) -> Vec<u8> {
    let mut bytes = Vec::new();
    event.encode(&mut bytes);
    bytes
}

#[test]
fn default_values_are_omitted_and_set_options_are_not() {
    let mut event = common::design_example();
    event.order_id.clear();
    event.user_id.clear();
    event.first_order = false;
    event.amount_pence = 0;
    // Only the two enums remain: field 3 = 1 (UK), field 4 = 2 (IOS).
    assert_eq!(encode(&event), [3 << 3, 1, 4 << 3, 2]);
    assert_eq!(PaymentAttempted::decode(&encode(&event)).unwrap(), event);
}

#[test]
fn unknown_fields_are_skipped() {
    let event = common::design_example();
    let mut bytes = encode(&event);
    // Field 99, varint 7: written by a newer producer.
    bytes.extend_from_slice(&[0x98, 0x06, 7]);
    assert_eq!(PaymentAttempted::decode(&bytes).unwrap(), event);
}

#[test]
fn a_missing_tag_enum_is_an_error_naming_the_field() {
    // Only field 4 (platform): market is absent, and protobuf's 0 means UNSPECIFIED.
    let error = PaymentAttempted::decode(&[4 << 3, 2]).unwrap_err();
    assert!(
        error.to_string().contains("PaymentAttempted.market"),
        "{error}"
    );
}

#[test]
fn with_two_fields_missing_the_error_names_the_first() {
    // Only field 1 (order_id): market and platform are both absent.
    let error = PaymentAttempted::decode(&[1 << 3 | 2, 1, b'o']).unwrap_err();
    let text = error.to_string();
    assert!(text.contains("PaymentAttempted.market"), "{text}");
    assert!(!text.contains("platform"), "{text}");
}

#[test]
fn an_unknown_enum_number_is_an_error() {
    let error = PaymentAttempted::decode(&[3 << 3, 9, 4 << 3, 2]).unwrap_err();
    assert!(error.to_string().contains("market"), "{error}");
}

#[test]
fn a_truncated_payload_is_an_error() {
    let bytes = encode(&common::design_example());
    for len in 1..bytes.len() {
        if let Ok(decoded) = PaymentAttempted::decode(&bytes[..len]) {
            // Cutting exactly between fields is valid protobuf; it must not invent values.
            assert_ne!(decoded, common::design_example(), "cut at {len}");
        }
    }
}

/// No fields: the decoder's check of every field is then an empty one.
#[derive(Event, Debug, PartialEq)]
#[event(topic = "heartbeats")]
struct Heartbeat {}

#[test]
fn an_event_without_fields_round_trips() {
    assert!(encode(&Heartbeat {}).is_empty());
    assert_eq!(Heartbeat::decode(&[]).unwrap(), Heartbeat {});
    // An unknown field is skipped, as for any event.
    assert_eq!(Heartbeat::decode(&[1 << 3, 7]).unwrap(), Heartbeat {});
}
