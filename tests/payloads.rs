//! Real-world payloads: nested messages, lists of them, maps, oneofs, newtypes and the
//! narrow integers round-trip through our encoding, and bad payloads are refused.

mod common;

use common::food::{self, Category, FoodOrderPlaced, Money, PaymentMethod};
use common::Market;
use event_runtime::schema::{Kind, Label};
use event_runtime::{Event, FieldValue, Message, Tag, Value};
use proptest::prelude::*;

fn encoded<E: Event>(event: &E) -> Vec<u8> {
    let mut bytes = Vec::new();
    event.encode(&mut bytes);
    assert_eq!(bytes.len(), event.encoded_len());
    bytes
}

#[test]
fn a_food_order_round_trips() {
    let order = food::sample();
    assert_eq!(FoodOrderPlaced::decode(&encoded(&order)).unwrap(), order);
}

#[test]
fn a_newtype_is_the_key_and_a_tag() {
    let order = food::sample();
    assert_eq!(order.key(), Some(&b"o-1"[..]));
    let mut tags = Vec::new();
    order.for_each_tag(|key, value| tags.push((key, value)));
    assert_eq!(tags, [("market", "fr")]);
    assert_eq!(FoodOrderPlaced::SERIES, Market::CARDINALITY);
}

#[test]
fn the_description_names_every_kind() {
    let fields = FoodOrderPlaced::fields();
    let field = |name: &str| *fields.iter().find(|f| f.name == name).unwrap();
    assert_eq!(field("order_id").kind, Kind::String);
    assert_eq!(field("items").label, Label::Repeated);
    assert_eq!(field("items").kind.proto_name(), "LineItem");
    assert_eq!(field("attributes").label, Label::Map(Kind::String));
    assert_eq!(field("stock_left").label, Label::Map(Kind::UInt32));
    assert_eq!(field("stock_left").kind, Kind::UInt32);
    assert_eq!(field("fallback_payment").label, Label::Optional);
    assert_eq!(field("device_hash").kind, Kind::Bytes);
    assert_eq!(PaymentMethod::DEF.oneof, Some("payment_method"));
    let members: Vec<_> = PaymentMethod::DEF.fields.iter().map(|f| f.name).collect();
    assert_eq!(members, ["card", "wallet", "voucher", "cash"]);
    assert_eq!(PaymentMethod::DEF.fields[3].kind, Kind::Empty);
}

#[test]
fn a_oneof_with_no_variant_set_is_an_error_and_an_optional_one_is_none() {
    let mut order = food::sample();
    order.fallback_payment = None;
    let bytes = encoded(&order);
    assert_eq!(
        FoodOrderPlaced::decode(&bytes).unwrap().fallback_payment,
        None
    );

    // The payment field (5) written again, empty: a message holding no variant, and the
    // last occurrence wins.
    let mut bytes = encoded(&food::sample());
    prost::encoding::encode_key(5, prost::encoding::WireType::LengthDelimited, &mut bytes);
    bytes.push(0);
    let error = FoodOrderPlaced::decode(&bytes).unwrap_err().to_string();
    assert!(error.contains("no variant of the oneof is set"), "{error}");

    // And absent altogether, from a payload of only the market (field 2).
    let mut bytes = Vec::new();
    prost::encoding::int32::encode(2, &2, &mut bytes);
    let error = FoodOrderPlaced::decode(&bytes).unwrap_err().to_string();
    assert!(
        error.contains("FoodOrderPlaced.payment: required field is missing"),
        "{error}"
    );
}

#[test]
fn an_out_of_range_narrow_integer_is_an_error_not_a_truncation() {
    let mut bytes = encoded(&food::sample());
    // http_status is field 12: a later occurrence wins, and 70000 does not fit a u16.
    prost::encoding::uint32::encode(12, &70_000, &mut bytes);
    let error = FoodOrderPlaced::decode(&bytes).unwrap_err().to_string();
    assert!(error.contains("out of range for u16"), "{error}");
}

#[test]
fn a_fixed_size_array_of_another_length_is_an_error() {
    let mut bytes = encoded(&food::sample());
    prost::encoding::bytes::encode(11, &vec![1u8; 15], &mut bytes);
    let error = FoodOrderPlaced::decode(&bytes).unwrap_err().to_string();
    assert!(error.contains("fixed-size array"), "{error}");
}

#[test]
fn a_hostile_recursive_payload_stops_at_the_depth_limit() {
    let mut category = Category {
        name: "leaf".into(),
        parent: None,
        children: vec![],
    };
    for depth in 0..150 {
        category = Category {
            name: format!("level-{depth}"),
            parent: Some(Box::new(category)),
            children: vec![],
        };
    }
    let mut order = food::sample();
    order.category = category;
    let error = FoodOrderPlaced::decode(&encoded(&order))
        .unwrap_err()
        .to_string();
    assert!(error.contains("nested too deeply"), "{error}");
}

#[test]
fn fields_are_data_for_the_warehouse() {
    let order = food::sample();
    let mut row = Vec::new();
    order.for_each_field(|name, value| row.push((name, value)));
    let payment = &row.iter().find(|(name, _)| *name == "payment").unwrap().1;
    assert_eq!(
        payment,
        &FieldValue::Single(Value::Message(vec![(
            "card",
            FieldValue::Single(Value::Message(vec![
                ("last4", FieldValue::Single(Value::Text("4242"))),
                ("network", FieldValue::Single(Value::Text("visa"))),
            ]))
        )]))
    );
    let stock = &row
        .iter()
        .find(|(name, _)| *name == "stock_left")
        .unwrap()
        .1;
    assert_eq!(
        stock,
        &FieldValue::Map(vec![
            (Value::Int(7), Value::Int(0)),
            (Value::Int(8), Value::Int(255)),
        ])
    );
}

fn money() -> impl Strategy<Value = Money> {
    (".{0,4}", any::<i64>()).prop_map(|(currency, minor_units)| Money {
        currency,
        minor_units,
    })
}

fn payment() -> impl Strategy<Value = PaymentMethod> {
    prop_oneof![
        ("[0-9]{4}", ".{0,6}").prop_map(|(last4, network)| PaymentMethod::Card { last4, network }),
        ".{0,8}".prop_map(PaymentMethod::Wallet),
        money().prop_map(PaymentMethod::Voucher),
        Just(PaymentMethod::Cash),
    ]
}

/// Categories three levels deep: a parent with children that have children.
fn category() -> impl Strategy<Value = Category> {
    let leaf = ".{0,6}".prop_map(|name| Category {
        name,
        parent: None,
        children: vec![],
    });
    leaf.prop_recursive(3, 12, 3, |inner| {
        (
            ".{0,6}",
            proptest::option::of(inner.clone()),
            proptest::collection::vec(inner, 0..3),
        )
            .prop_map(|(name, parent, children)| Category {
                name,
                parent: parent.map(Box::new),
                children,
            })
    })
}

proptest! {
    #[test]
    fn generated_orders_round_trip(
        items in proptest::collection::vec((".{0,8}", any::<u16>(), money(), proptest::collection::vec(".{0,4}", 0..3)), 0..4),
        floor in any::<Option<i8>>(),
        payment in payment(),
        fallback in proptest::option::of(payment()),
        attributes in proptest::collection::hash_map(".{0,4}", ".{0,4}", 0..4),
        totals in proptest::collection::btree_map(".{0,3}", money(), 0..3),
        stock in proptest::collection::btree_map(any::<u32>(), any::<u8>(), 0..4),
        category in category(),
        device_hash in any::<[u8; 16]>(),
        http_status in any::<u16>(),
    ) {
        let mut order = food::sample();
        order.items = items.into_iter().map(|(sku, quantity, unit_price, options)| food::LineItem {
            sku: sku.into(), quantity, unit_price, options,
        }).collect();
        order.delivery.floor = floor;
        order.payment = payment;
        order.fallback_payment = fallback;
        order.attributes = attributes;
        order.totals_by_currency = totals;
        order.stock_left = stock;
        order.category = category;
        order.device_hash = device_hash;
        order.http_status = http_status;
        prop_assert_eq!(FoodOrderPlaced::decode(&encoded(&order)).unwrap(), order);
    }
}
