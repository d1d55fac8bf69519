//! An implementation that is not ours agrees with our payloads: the `.proto` text from
//! `E::proto_schema()` is compiled by protox (a Rust protobuf compiler) into a descriptor
//! pool, and prost-reflect decodes our bytes dynamically. Every field is compared.

mod common;

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::food::{self, FoodOrderPlaced};
use common::{KitchenSink, Market, Method, PaymentAttempted};
use event_runtime::{Event, Tag};
use proptest::prelude::*;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, ReflectMessage, Value};

/// Compiles the schemas of our test events with protox, once per test run.
fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("event-schemas-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("payment_attempted.proto"),
            PaymentAttempted::proto_schema(),
        )
        .unwrap();
        std::fs::write(dir.join("kitchen_sink.proto"), KitchenSink::proto_schema()).unwrap();
        std::fs::write(
            dir.join("food_order_placed.proto"),
            FoodOrderPlaced::proto_schema(),
        )
        .unwrap();
        let mut compiler = protox::Compiler::new([&dir]).unwrap();
        compiler
            .open_files([
                "payment_attempted.proto",
                "kitchen_sink.proto",
                "food_order_placed.proto",
            ])
            .unwrap_or_else(|e| panic!("our .proto text does not compile: {e:?}"));
        compiler.descriptor_pool()
    })
}

fn decode_dynamic<E: Event>(event: &E) -> DynamicMessage {
    let descriptor: MessageDescriptor = pool().get_message_by_name(E::MESSAGE_NAME).unwrap();
    let mut bytes = Vec::new();
    event.encode(&mut bytes);
    DynamicMessage::decode(descriptor, bytes.as_slice()).unwrap()
}

fn get(message: &DynamicMessage, field: &str) -> Value {
    message
        .get_field_by_name(field)
        .unwrap_or_else(|| panic!("no field {field}"))
        .into_owned()
}

/// The protobuf enum value name the other implementation sees, e.g. `METHOD_APPLE_PAY`.
fn enum_name(message: &DynamicMessage, field: &str, value: &Value) -> String {
    let number = value.as_enum_number().unwrap();
    let descriptor = message.descriptor().get_field_by_name(field).unwrap();
    let kind = descriptor.kind();
    let enum_descriptor = kind.as_enum().unwrap();
    enum_descriptor.get_value(number).unwrap().name().to_owned()
}

fn expected_enum_name<T: Tag>(prefix: &str, value: &T) -> String {
    format!(
        "{prefix}_{}",
        value.value().to_uppercase().replace(['-', '.', '/'], "_")
    )
}

fn timestamp(value: &Value) -> (i64, i32) {
    let message = value.as_message().unwrap();
    (
        get(message, "seconds").as_i64().unwrap(),
        get(message, "nanos").as_i32().unwrap(),
    )
}

fn expected_timestamp(at: SystemTime) -> (i64, i32) {
    match at.duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_secs() as i64, d.subsec_nanos() as i32),
        Err(e) => {
            let d = e.duration();
            let (secs, nanos) = (d.as_secs() as i64, d.subsec_nanos() as i32);
            if nanos == 0 {
                (-secs, 0)
            } else {
                (-secs - 1, 1_000_000_000 - nanos)
            }
        }
    }
}

fn expected_duration(d: Duration) -> (i64, i32) {
    (d.as_secs() as i64, d.subsec_nanos() as i32)
}

#[test]
fn design_example_fields() {
    let event = common::design_example();
    let message = decode_dynamic(&event);
    assert_eq!(get(&message, "order_id"), Value::String("order-1".into()));
    assert_eq!(get(&message, "user_id"), Value::String("user-42".into()));
    assert_eq!(
        enum_name(&message, "market", &get(&message, "market")),
        "MARKET_UK"
    );
    assert_eq!(
        enum_name(&message, "platform", &get(&message, "platform")),
        "PLATFORM_IOS"
    );
    assert_eq!(get(&message, "first_order"), Value::Bool(true));
    assert_eq!(get(&message, "amount_pence"), Value::U64(1250));
}

fn check_kitchen_sink(event: &KitchenSink) {
    let m = decode_dynamic(event);
    assert_eq!(get(&m, "key"), Value::Bytes(event.key.clone().into()));
    assert_eq!(get(&m, "flag"), Value::Bool(event.flag));
    assert_eq!(get(&m, "small"), Value::I32(event.small));
    assert_eq!(get(&m, "big"), Value::I64(event.big));
    assert_eq!(get(&m, "count"), Value::U32(event.count));
    assert_eq!(get(&m, "total"), Value::U64(event.total));
    assert_eq!(get(&m, "ratio"), Value::F32(event.ratio));
    assert_eq!(get(&m, "precise"), Value::F64(event.precise));
    assert_eq!(get(&m, "text"), Value::String(event.text.clone()));
    assert_eq!(get(&m, "blob"), Value::Bytes(event.blob.clone().into()));
    assert_eq!(
        enum_name(&m, "method", &get(&m, "method")),
        expected_enum_name("METHOD", &event.method)
    );

    assert_eq!(m.has_field_by_name("market"), event.market.is_some());
    if let Some(market) = event.market {
        assert_eq!(
            enum_name(&m, "market", &get(&m, "market")),
            expected_enum_name("MARKET", &market)
        );
    }
    assert_eq!(m.has_field_by_name("retried"), event.retried.is_some());
    if let Some(retried) = event.retried {
        assert_eq!(get(&m, "retried"), Value::Bool(retried));
    }
    assert_eq!(m.has_field_by_name("opt_text"), event.opt_text.is_some());
    if let Some(text) = &event.opt_text {
        assert_eq!(get(&m, "opt_text"), Value::String(text.clone()));
    }
    assert_eq!(
        m.has_field_by_name("opt_number"),
        event.opt_number.is_some()
    );
    if let Some(n) = event.opt_number {
        assert_eq!(get(&m, "opt_number"), Value::I64(n));
    }
    assert_eq!(
        m.has_field_by_name("opt_method"),
        event.opt_method.is_some()
    );
    if let Some(method) = &event.opt_method {
        assert_eq!(
            enum_name(&m, "opt_method", &get(&m, "opt_method")),
            expected_enum_name("METHOD", method)
        );
    }

    let list = |name: &str| get(&m, name).as_list().unwrap().to_vec();
    assert_eq!(
        list("many_numbers"),
        event
            .many_numbers
            .iter()
            .map(|&n| Value::U64(n))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        list("many_signed"),
        event
            .many_signed
            .iter()
            .map(|&n| Value::I32(n))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        list("many_floats"),
        event
            .many_floats
            .iter()
            .map(|&n| Value::F64(n))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        list("many_texts"),
        event
            .many_texts
            .iter()
            .cloned()
            .map(Value::String)
            .collect::<Vec<_>>()
    );
    assert_eq!(
        list("many_blobs"),
        event
            .many_blobs
            .iter()
            .map(|b| Value::Bytes(b.clone().into()))
            .collect::<Vec<_>>()
    );
    let methods: Vec<String> = list("many_methods")
        .iter()
        .map(|v| enum_name(&m, "many_methods", v))
        .collect();
    let expected: Vec<String> = event
        .many_methods
        .iter()
        .map(|v| expected_enum_name("METHOD", v))
        .collect();
    assert_eq!(methods, expected);

    assert_eq!(timestamp(&get(&m, "at")), expected_timestamp(event.at));
    assert_eq!(timestamp(&get(&m, "took")), expected_duration(event.took));
    assert_eq!(m.has_field_by_name("maybe_at"), event.maybe_at.is_some());
    if let Some(at) = event.maybe_at {
        assert_eq!(timestamp(&get(&m, "maybe_at")), expected_timestamp(at));
    }
    let durations: Vec<(i64, i32)> = list("durations").iter().map(timestamp).collect();
    let expected: Vec<(i64, i32)> = event
        .durations
        .iter()
        .copied()
        .map(expected_duration)
        .collect();
    assert_eq!(durations, expected);
}

fn method() -> impl Strategy<Value = Method> {
    (0..Method::CARDINALITY).prop_map(|i| Method::from_index(i).unwrap())
}

prop_compose! {
    fn kitchen_sink()(
        (key, flag, small, big, count, total, ratio, precise) in (
            any::<Vec<u8>>(), any::<bool>(), any::<i32>(), any::<i64>(),
            any::<u32>(), any::<u64>(), -1e6f32..1e6, -1e12f64..1e12,
        ),
        (text, blob, method, market, retried, opt_text, opt_number, opt_method) in (
            ".*", any::<Vec<u8>>(), method(),
            proptest::option::of((0..3usize).prop_map(|i| Market::from_index(i).unwrap())),
            any::<Option<bool>>(), proptest::option::of(".*"), any::<Option<i64>>(),
            proptest::option::of(method()),
        ),
        (many_numbers, many_signed, many_floats, many_texts, many_blobs, many_methods) in (
            any::<Vec<u64>>(), any::<Vec<i32>>(), proptest::collection::vec(-1e9f64..1e9, 0..5),
            proptest::collection::vec(".*", 0..4), proptest::collection::vec(any::<Vec<u8>>(), 0..4),
            proptest::collection::vec(method(), 0..6),
        ),
        (at_secs, at_nanos, took_ms, maybe_at_secs, durations_ms) in (
            -5_000_000_000i64..5_000_000_000, 0u32..1_000_000_000, any::<u32>(),
            proptest::option::of(0u64..5_000_000_000), proptest::collection::vec(any::<u32>(), 0..4),
        ),
    ) -> KitchenSink {
        let at = if at_secs >= 0 {
            UNIX_EPOCH + Duration::new(at_secs as u64, at_nanos)
        } else {
            UNIX_EPOCH - Duration::new(at_secs.unsigned_abs(), at_nanos)
        };
        KitchenSink {
            key, flag, small, big, count, total, ratio, precise, text, blob, method, market,
            retried, opt_text, opt_number, opt_method, many_numbers, many_signed, many_floats,
            many_texts, many_blobs, many_methods, at,
            took: Duration::from_millis(took_ms.into()),
            maybe_at: maybe_at_secs.map(|s| UNIX_EPOCH + Duration::from_secs(s)),
            durations: durations_ms.into_iter().map(|ms| Duration::from_millis(ms.into())).collect(),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn kitchen_sink_fields_agree(event in kitchen_sink()) {
        check_kitchen_sink(&event);
    }
}

/// The field at a path of names through nested messages, e.g. `["payment", "card", "last4"]`.
fn at(message: &DynamicMessage, path: &[&str]) -> Value {
    let (last, parents) = path.split_last().unwrap();
    let mut current = message.clone();
    for name in parents {
        current = get(&current, name).as_message().unwrap().clone();
    }
    get(&current, last)
}

#[test]
fn nested_messages_lists_maps_and_oneofs_decode_with_prost_reflect() {
    let order = food::sample();
    let message = decode_dynamic(&order);
    assert_eq!(at(&message, &["order_id"]), Value::String("o-1".into()));
    let items = get(&message, "items");
    let items = items.as_list().unwrap();
    assert_eq!(items.len(), 2);
    let first = items[0].as_message().unwrap();
    assert_eq!(get(first, "sku"), Value::String("pizza-margherita".into()));
    assert_eq!(get(first, "quantity"), Value::U32(2));
    assert_eq!(at(first, &["unit_price", "minor_units"]), Value::I64(1099));
    assert_eq!(at(&message, &["delivery", "floor"]), Value::I32(-1));
    assert_eq!(
        at(&message, &["delivery", "location", "lat"]),
        Value::F64(48.86)
    );
    assert_eq!(
        at(&message, &["payment", "card", "last4"]),
        Value::String("4242".into())
    );
    let fallback = get(&message, "fallback_payment");
    let fallback = fallback.as_message().unwrap();
    assert!(fallback.has_field_by_name("cash"));
    assert!(!fallback.has_field_by_name("card"));
    let attributes = get(&message, "attributes");
    let attributes = attributes.as_map().unwrap();
    assert_eq!(
        attributes.get(&prost_reflect::MapKey::String("utm_source".into())),
        Some(&Value::String("newsletter".into()))
    );
    let stock = get(&message, "stock_left");
    let stock = stock.as_map().unwrap();
    assert_eq!(
        stock.get(&prost_reflect::MapKey::U32(8)),
        Some(&Value::U32(255))
    );
    assert_eq!(
        at(&message, &["category", "parent", "name"]),
        Value::String("all".into())
    );
    assert_eq!(
        get(&message, "device_hash"),
        Value::Bytes(vec![7u8; 16].into())
    );
    assert_eq!(get(&message, "http_status"), Value::U32(201));

    // What the other implementation writes, we read back as the same order.
    let rewritten = prost::Message::encode_to_vec(&message);
    assert_eq!(FoodOrderPlaced::decode(&rewritten).unwrap(), order);
}
