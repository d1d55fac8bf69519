//! The schema contract: export, compile with an independent compiler, and one failing and
//! one passing case for each breaking-change rule; Confluent framing byte for byte.

mod common;

use event_runtime::confluent::{frame_header, parse_frame};
use event_runtime::schema::{check_compatible, SchemaCheckError, SchemaSet, Violation};
use event_runtime::{Dispatcher, Event, RecordingSink, Tag};
use multi_dispatch_events::order_flow::events::*;

fn order_flow_schemas() -> SchemaSet {
    SchemaSet::new()
        .event::<OrderPlaced>()
        .event::<PaymentAttempted>()
        .event::<PaymentSucceeded>()
        .event::<PaymentFailed>()
        .event::<OrderSentToRestaurant>()
        .event::<OrderCollected>()
        .event::<OrderDelivered>()
        .event::<common::KitchenSink>()
        .event::<common::food::FoodOrderPlaced>()
}

#[test]
fn exported_files_compile_with_an_independent_compiler_and_record_their_topic() {
    let dir = std::env::temp_dir().join(format!("export-{}", std::process::id()));
    let paths = order_flow_schemas().export(&dir).unwrap();
    assert_eq!(paths.len(), 9);
    let names: Vec<String> = paths
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(names.contains(&"payment_attempted.proto".to_owned()));
    let mut compiler = protox::Compiler::new([&dir]).unwrap();
    compiler
        .open_files(&names)
        .unwrap_or_else(|e| panic!("exported files do not compile: {e:?}"));
    let pool = compiler.descriptor_pool();
    for message in [
        "events.OrderPlaced",
        "events.PaymentFailed",
        "events.KitchenSink",
        "events.FoodOrderPlaced.PaymentMethodCard",
    ] {
        assert!(pool.get_message_by_name(message).is_some(), "{message}");
    }
    let text = std::fs::read_to_string(dir.join("payment_failed.proto")).unwrap();
    assert!(text.starts_with("// Event `payment.failed`, published to Kafka topic `payments`."));
    // The export is its own snapshot: nothing breaks against itself.
    order_flow_schemas().check_against(&dir).unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

/// One version of an event per module; the message name is the struct name in both.
mod v1 {
    use event_runtime::{Event, Tag};

    #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Market {
        Uk,
        Fr,
        It,
    }

    #[derive(Event)]
    #[event(topic = "refunds")]
    pub struct Refund {
        #[event(key)]
        pub order_id: String,
        pub amount_pence: u64,
        pub reason: String,
        #[event(tag)]
        pub market: Market,
    }
}

fn violations_against_v1<E: Event>() -> Vec<Violation> {
    check_compatible(&v1::Refund::proto_schema(), &E::proto_schema()).unwrap()
}

macro_rules! refund_version {
    ($module:ident, $(#[$attr:meta])* { $($body:tt)* } $(, $enum:item)?) => {
        mod $module {
            #[allow(unused_imports)]
            use event_runtime::{Event, Tag};
            // A glob, so that a version's own `Market` shadows v1's.
            #[allow(unused_imports)]
            use super::v1::*;
            $($enum)?
            #[derive(Event)]
            $(#[$attr])*
            pub struct Refund { $($body)* }
        }
    };
}

// Passes: a new field at the end, everything else unchanged.
refund_version!(added_at_end, #[event(topic = "refunds")] {
    #[event(key)] pub order_id: String, pub amount_pence: u64, pub reason: String,
    #[event(tag)] pub market: Market, pub refunded_by: Option<String>,
});
// Fails: a field inserted in the middle renumbers those after it.
refund_version!(inserted, #[event(topic = "refunds")] {
    #[event(key)] pub order_id: String, pub currency: String, pub amount_pence: u64, pub reason: String,
    #[event(tag)] pub market: Market,
});
// Fails: a type changed under the same number.
refund_version!(retyped, #[event(topic = "refunds")] {
    #[event(key)] pub order_id: String, pub amount_pence: i64, pub reason: String,
    #[event(tag)] pub market: Market,
});
// Fails: a field renamed under the same number.
refund_version!(renamed, #[event(topic = "refunds")] {
    #[event(key)] pub order_id: String, pub refunded_pence: u64, pub reason: String,
    #[event(tag)] pub market: Market,
});
// Fails: a field removed without reserving it.
refund_version!(removed, #[event(topic = "refunds")] {
    #[event(key)] pub order_id: String, pub amount_pence: u64,
    #[event(id = 4, tag)] pub market: Market,
});
// Fails: the field deleted alone, so automatic numbering moves `market` from 4 to 3.
refund_version!(deleted, #[event(topic = "refunds")] {
    #[event(key)] pub order_id: String, pub amount_pence: u64,
    #[event(tag)] pub market: Market,
});
// Passes: the same removal with its number and name reserved; `market` keeps 4 on its own.
refund_version!(removed_and_reserved, #[event(topic = "refunds", reserved(3, "reason"))] {
    #[event(key)] pub order_id: String, pub amount_pence: u64,
    #[event(tag)] pub market: Market,
});
// Fails: moved to another topic.
refund_version!(moved, #[event(topic = "refunds.v2")] {
    #[event(key)] pub order_id: String, pub amount_pence: u64, pub reason: String,
    #[event(tag)] pub market: Market,
});
// Fails: an enum value removed.
refund_version!(enum_value_removed, #[event(topic = "refunds")] {
    #[event(key)] pub order_id: String, pub amount_pence: u64, pub reason: String,
    #[event(tag)] pub market: Market,
}, #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)] pub enum Market { Uk, Fr });
// Fails: enum values reordered, so renumbered.
refund_version!(enum_reordered, #[event(topic = "refunds")] {
    #[event(key)] pub order_id: String, pub amount_pence: u64, pub reason: String,
    #[event(tag)] pub market: Market,
}, #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)] pub enum Market { Fr, Uk, It });
// Passes: an enum value added at the end.
refund_version!(enum_value_added, #[event(topic = "refunds")] {
    #[event(key)] pub order_id: String, pub amount_pence: u64, pub reason: String,
    #[event(tag)] pub market: Market,
}, #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)] pub enum Market { Uk, Fr, It, De });

#[test]
fn adding_a_field_at_the_end_passes() {
    assert_eq!(violations_against_v1::<added_at_end::Refund>(), []);
}

#[test]
fn renumbering_fails() {
    let found = violations_against_v1::<inserted::Refund>();
    assert!(
        found.contains(&Violation::Renumbered {
            field: "amount_pence".into(),
            old: 2,
            new: 3
        }),
        "{found:?}"
    );
    assert!(
        found[0].to_string().contains("#[event(id = 2)]"),
        "{}",
        found[0]
    );
}

#[test]
fn retyping_fails() {
    assert_eq!(
        violations_against_v1::<retyped::Refund>(),
        [Violation::Retyped {
            field: "amount_pence".into(),
            old: "uint64".into(),
            new: "int64".into()
        }]
    );
}

#[test]
fn renaming_fails() {
    assert_eq!(
        violations_against_v1::<renamed::Refund>(),
        [Violation::Renamed {
            number: 2,
            old: "amount_pence".into(),
            new: "refunded_pence".into()
        }]
    );
}

#[test]
fn removing_without_reserving_fails_and_reserving_passes() {
    let found = violations_against_v1::<removed::Refund>();
    assert_eq!(
        found,
        [Violation::RemovedWithoutReservation {
            field: "reason".into(),
            number: 3
        }]
    );
    assert!(found[0]
        .to_string()
        .contains("#[event(reserved(3, \"reason\"))]"));
    assert_eq!(violations_against_v1::<removed_and_reserved::Refund>(), []);
    assert!(removed_and_reserved::Refund::proto_schema()
        .contains("  reserved 3;\n  reserved \"reason\";\n"));
}

#[test]
fn deleting_a_field_that_shifts_the_later_ones_is_said_as_one_removal() {
    let found = violations_against_v1::<deleted::Refund>();
    assert_eq!(
        found,
        [Violation::RemovedAndShifted {
            field: "reason".into(),
            number: 3,
            shifted: vec![("market".into(), 4, 3)],
        }]
    );
    assert_eq!(
        found[0].to_string(),
        "field `reason` (3) was removed without being reserved, so automatic numbering moved \
         the fields after it (`market` 4 -> 3): add `#[event(reserved(3, \"reason\"))]` to the \
         struct, which also puts them back"
    );
}

#[test]
fn a_missing_snapshot_directory_or_file_fails_unless_the_event_is_new() {
    let missing = std::env::temp_dir().join(format!("no-such-snapshots-{}", std::process::id()));
    let error = order_flow_schemas().check_against(&missing).unwrap_err();
    assert!(
        matches!(&error, SchemaCheckError::MissingDirectory(path) if path == &missing),
        "{error}"
    );
    let dir = std::env::temp_dir().join(format!("partial-snapshots-{}", std::process::id()));
    SchemaSet::new().event::<v1::Refund>().export(&dir).unwrap();
    let error = SchemaSet::new()
        .event::<v1::Refund>()
        .event::<OrderPlaced>()
        .check_against(&dir)
        .unwrap_err();
    assert!(
        matches!(&error, SchemaCheckError::MissingSnapshot(path) if path.ends_with("order_placed.proto")),
        "{error}"
    );
    assert!(
        error.to_string().contains("SchemaSet::new_event"),
        "{error}"
    );
    SchemaSet::new()
        .event::<v1::Refund>()
        .new_event::<OrderPlaced>()
        .check_against(&dir)
        .unwrap();
    // Once its file is there, a new event is checked like any other.
    assert!(SchemaSet::new()
        .new_event::<deleted::Refund>()
        .check_against(&dir)
        .is_err());
    std::fs::remove_dir_all(&dir).ok();
}

/// The snapshot committed under `schemas/`, as the README tells users to keep theirs: a
/// breaking change to an order-flow event fails here, in CI. After an intended compatible
/// change, export again with `cargo run --example export_schemas` and commit the files.
#[test]
fn the_order_flow_events_are_compatible_with_the_committed_snapshot() {
    multi_dispatch_events::order_flow::events::schemas()
        .check_against(concat!(env!("CARGO_MANIFEST_DIR"), "/schemas"))
        .unwrap();
}

#[test]
fn changing_the_topic_fails() {
    assert_eq!(
        violations_against_v1::<moved::Refund>(),
        [Violation::TopicChanged {
            old: "refunds".into(),
            new: "refunds.v2".into()
        }]
    );
}

#[test]
fn removing_an_enum_value_fails_and_adding_one_passes() {
    assert_eq!(
        violations_against_v1::<enum_value_removed::Refund>(),
        [Violation::EnumValueRemoved {
            r#enum: "Market".into(),
            value: "MARKET_IT".into()
        }]
    );
    assert_eq!(violations_against_v1::<enum_value_added::Refund>(), []);
}

#[test]
fn reordering_enum_values_fails() {
    let found = violations_against_v1::<enum_reordered::Refund>();
    assert!(found.contains(&Violation::EnumValueRenumbered {
        r#enum: "Market".into(),
        value: "MARKET_UK".into(),
        old: 1,
        new: 2
    }));
    assert_eq!(found.len(), 2);
}

#[test]
fn reusing_a_reserved_number_in_a_later_version_fails() {
    let reserved = removed_and_reserved::Refund::proto_schema();
    let reused = reserved
        .replace("  reserved 3;\n  reserved \"reason\";\n", "")
        .replace(
            "  uint64 amount_pence = 2;\n",
            "  uint64 amount_pence = 2;\n  string note = 3;\n",
        );
    assert_eq!(
        check_compatible(&reserved, &reused).unwrap(),
        [Violation::ReusedReserved {
            field: "note".into(),
            number: 3
        }]
    );
}

#[test]
fn the_snapshot_check_names_the_file_and_every_violation() {
    let dir = std::env::temp_dir().join(format!("snapshot-{}", std::process::id()));
    SchemaSet::new().event::<v1::Refund>().export(&dir).unwrap();
    let error = SchemaSet::new()
        .event::<inserted::Refund>()
        .check_against(&dir)
        .unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("refund.proto: field `amount_pence` was renumbered from 2 to 3"),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn confluent_wire_format_byte_for_byte() {
    assert_eq!(frame_header(0x0102_0304), [0, 1, 2, 3, 4, 0]);
    let recording = RecordingSink::new();
    let events = Dispatcher::builder()
        .schema_registry_id::<common::PaymentAttempted>(42)
        .recording(&recording)
        .build()
        .unwrap();
    let event = common::design_example();
    events.publish(&event);
    events.publish(&OrderSentToRestaurant {
        order_id: "o".into(),
        restaurant_id: "r".into(),
        market: Market::Uk,
    });

    let records = recording.records();
    let mut plain = Vec::new();
    event.encode(&mut plain);
    assert_eq!(
        &records[0].payload[..6],
        [0x00, 0x00, 0x00, 0x00, 0x2a, 0x00]
    );
    assert_eq!(&records[0].payload[6..], plain.as_slice());
    let (id, indexes, payload) = parse_frame(&records[0].payload).unwrap();
    assert_eq!((id, indexes, payload), (42, vec![0], plain.as_slice()));
    assert_eq!(
        records[0].decode::<common::PaymentAttempted>().unwrap(),
        event
    );
    // Events without an id are not framed: a protobuf payload never starts with 0.
    assert_ne!(records[1].payload[0], 0);
    // A longer index list, as other producers may write it: count 2, indexes 1 and 3 (zigzag).
    assert_eq!(
        parse_frame(&[0, 0, 0, 0, 7, 4, 2, 6, 0x08]).unwrap(),
        (7, vec![1, 3], &[0x08][..])
    );
    assert!(parse_frame(&[1, 0, 0]).is_err());
    assert_eq!(Market::CARDINALITY, 3);
}

/// Versions of an event with a nested message, a oneof and a map: the rules apply inside
/// each nested message and to the map's key and value types.
macro_rules! delivery_version {
    ($module:ident, { $($address:tt)* }, { $($payment:tt)* }, $extras:ty) => {
        mod $module {
            use std::collections::HashMap;

            use event_runtime::{Event, Message};

            #[derive(Message)]
            pub struct Address { $($address)* }

            #[derive(Message)]
            pub enum Payment { $($payment)* }

            #[derive(Event)]
            #[event(topic = "deliveries")]
            pub struct Delivery {
                #[event(key)]
                pub order_id: String,
                pub address: Address,
                pub payment: Payment,
                pub extras: $extras,
            }
        }
    };
}

delivery_version!(delivery_v1, { pub street: String }, { Card(String), Cash }, HashMap<String, u32>);
// Passes: a member added to the oneof, and a field added to the nested message.
delivery_version!(
    delivery_added,
    { pub street: String, pub floor: Option<i8> },
    { Card(String), Cash, Wallet(String) },
    HashMap<String, u32>
);
// Fails: a nested message's field retyped.
delivery_version!(delivery_street_retyped, { pub street: u64 }, { Card(String), Cash }, HashMap<String, u32>);
// Fails: a map's value type changed.
delivery_version!(delivery_map_value, { pub street: String }, { Card(String), Cash }, HashMap<String, u64>);
// Fails: a map's key type changed.
delivery_version!(delivery_map_key, { pub street: String }, { Card(String), Cash }, HashMap<u32, u32>);
// Fails: a oneof member removed without being reserved.
delivery_version!(delivery_member_removed, { pub street: String }, { Card(String) }, HashMap<String, u32>);

fn violations_against_delivery_v1<E: Event>() -> Vec<Violation> {
    check_compatible(&delivery_v1::Delivery::proto_schema(), &E::proto_schema()).unwrap()
}

#[test]
fn adding_a_oneof_member_or_a_nested_field_passes() {
    assert_eq!(
        violations_against_delivery_v1::<delivery_added::Delivery>(),
        []
    );
    assert_eq!(
        violations_against_delivery_v1::<delivery_v1::Delivery>(),
        []
    );
}

#[test]
fn a_nested_field_retyped_fails_and_names_its_message() {
    let violations = violations_against_delivery_v1::<delivery_street_retyped::Delivery>();
    assert_eq!(
        violations,
        [Violation::Retyped {
            field: "Address.street".into(),
            old: "string".into(),
            new: "uint64".into()
        }]
    );
    assert!(violations[0].to_string().contains("`Address.street`"));
}

#[test]
fn changing_a_map_key_or_value_type_fails() {
    assert_eq!(
        violations_against_delivery_v1::<delivery_map_value::Delivery>(),
        [Violation::Retyped {
            field: "extras".into(),
            old: "map<string, uint32>".into(),
            new: "map<string, uint64>".into()
        }]
    );
    assert_eq!(
        violations_against_delivery_v1::<delivery_map_key::Delivery>(),
        [Violation::Retyped {
            field: "extras".into(),
            old: "map<string, uint32>".into(),
            new: "map<uint32, uint32>".into()
        }]
    );
}

#[test]
fn removing_a_oneof_member_without_reserving_it_fails() {
    assert_eq!(
        violations_against_delivery_v1::<delivery_member_removed::Delivery>(),
        [Violation::RemovedWithoutReservation {
            field: "Payment.cash".into(),
            number: 2
        }]
    );
}

/// In a `.proto` file, a field can move into a `oneof` (or out of one) keeping its name
/// and number; readers of the old file would then misread which member is set.
#[test]
fn moving_a_field_into_or_out_of_a_oneof_fails() {
    let outside = "// Event `e`, published to Kafka topic `t`.\nsyntax = \"proto3\";\n\npackage events;\n\nmessage E {\n  string note = 1;\n  string card = 2;\n}\n";
    let inside = "// Event `e`, published to Kafka topic `t`.\nsyntax = \"proto3\";\n\npackage events;\n\nmessage E {\n  oneof choice {\n    string note = 1;\n    string card = 2;\n  }\n}\n";
    let into = check_compatible(outside, inside).unwrap();
    assert_eq!(
        into[0],
        Violation::OneofChanged {
            field: "note".into(),
            old: None,
            new: Some("choice".into())
        }
    );
    assert_eq!(into.len(), 2);
    assert!(into[0]
        .to_string()
        .contains("moved from outside any oneof to in oneof `choice`"));
    let out_of = check_compatible(inside, outside).unwrap();
    assert_eq!(out_of.len(), 2);
    // The same file against itself passes.
    assert_eq!(check_compatible(inside, inside).unwrap(), []);
}
