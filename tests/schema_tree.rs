//! Events checked against a `.proto` tree written elsewhere, as a company's central schema
//! repository is (`tests/schema_tree/`): several packages, imports, file options, comments,
//! a shared `common/money.proto`, the enum at the top level of its file and the well-known
//! `Timestamp`. Each rule has a passing and a failing case.

use event_runtime::schema::{SchemaCheckError, SchemaSet, Violation};
use event_runtime::Event;

const TREE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/schema_tree");

/// The violations of `E` against the tree; panics on any other outcome than a check.
fn violations<E: Event>() -> Vec<Violation> {
    match SchemaSet::new().event::<E>().check_against_tree(TREE) {
        Ok(()) => Vec::new(),
        Err(SchemaCheckError::Breaking(files)) => {
            assert_eq!(files.len(), 1, "{files:?}");
            assert!(
                files[0].0.ends_with("payments/v1/refund.proto"),
                "names the tree's file: {files:?}"
            );
            files.into_iter().flat_map(|(_, v)| v).collect()
        }
        Err(other) => panic!("{other}"),
    }
}

macro_rules! refund_version {
    ($module:ident, $(#[$attr:meta])* { $($body:tt)* } $(, $extra:item)*) => {
        mod $module {
            #[allow(unused_imports)]
            use event_runtime::{Event, Message, Tag};
            #[allow(unused_imports)]
            use std::time::SystemTime;
            // A glob, so that a version's own `Money` or `Reason` shadows the shared one.
            #[allow(unused_imports)]
            use super::shared::*;
            $($extra)*
            #[derive(Event)]
            $(#[$attr])*
            pub struct Refund { $($body)* }
        }
    };
}

mod shared {
    use event_runtime::{Message, Tag};

    /// The tree's `acme.common.Money`.
    #[derive(Message, Clone, Debug, PartialEq)]
    pub struct Money {
        pub currency: String,
        pub units: i64,
    }

    /// The tree's `events.Reason`.
    #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Reason {
        Damaged,
        Late,
    }
}

// Passes: the tree's definition, written from Rust.
refund_version!(same, #[event(topic = "refunds", reserved(6, "legacy_code"))] {
    #[event(key)] pub order_id: String, pub amount: Money, #[event(tag)] pub reason: Reason,
    pub issued_at: SystemTime, pub notes: Vec<String>,
});
// Passes: a field added at the end.
refund_version!(added, #[event(topic = "refunds", reserved(6, "legacy_code"))] {
    #[event(key)] pub order_id: String, pub amount: Money, #[event(tag)] pub reason: Reason,
    pub issued_at: SystemTime, pub notes: Vec<String>, #[event(id = 7)] pub refunded_by: String,
});
refund_version!(retyped, #[event(topic = "refunds", reserved(6, "legacy_code"))] {
    #[event(key)] pub order_id: String, pub amount: Money, #[event(tag)] pub reason: Reason,
    pub issued_at: SystemTime, pub notes: Vec<u64>,
});
refund_version!(renamed, #[event(topic = "refunds", reserved(6, "legacy_code"))] {
    #[event(key)] pub refund_of: String, pub amount: Money, #[event(tag)] pub reason: Reason,
    pub issued_at: SystemTime, pub notes: Vec<String>,
});
refund_version!(removed, #[event(topic = "refunds", reserved(6, "legacy_code"))] {
    #[event(key)] pub order_id: String, pub amount: Money, #[event(tag)] pub reason: Reason,
    #[event(id = 5)] pub notes: Vec<String>,
});
// Passes: the same removal, reserved.
refund_version!(removed_and_reserved, #[event(topic = "refunds", reserved(4, 6, "issued_at", "legacy_code"))] {
    #[event(key)] pub order_id: String, pub amount: Money, #[event(tag)] pub reason: Reason,
    #[event(id = 5)] pub notes: Vec<String>,
});
// The tree reserved 6 for a field it removed; this version forgot, and took the number.
refund_version!(reuses_reserved, #[event(topic = "refunds")] {
    #[event(key)] pub order_id: String, pub amount: Money, #[event(tag)] pub reason: Reason,
    pub issued_at: SystemTime, pub notes: Vec<String>, #[event(id = 6)] pub legacy: String,
});
// The shared message's field retyped, through the import.
refund_version!(money_retyped, #[event(topic = "refunds", reserved(6, "legacy_code"))] {
    #[event(key)] pub order_id: String, pub amount: Money, #[event(tag)] pub reason: Reason,
    pub issued_at: SystemTime, pub notes: Vec<String>,
},
#[derive(Message)]
pub struct Money { pub currency: String, pub units: f64 });
refund_version!(enum_value_removed, #[event(topic = "refunds", reserved(6, "legacy_code"))] {
    #[event(key)] pub order_id: String, pub amount: Money, #[event(tag)] pub reason: Reason,
    pub issued_at: SystemTime, pub notes: Vec<String>,
},
#[derive(Tag)]
pub enum Reason { Damaged });
// Passes: an enum value added at the end.
refund_version!(enum_value_added, #[event(topic = "refunds", reserved(6, "legacy_code"))] {
    #[event(key)] pub order_id: String, pub amount: Money, #[event(tag)] pub reason: Reason,
    pub issued_at: SystemTime, pub notes: Vec<String>,
},
#[derive(Tag)]
pub enum Reason { Damaged, Late, Lost });
refund_version!(enum_reordered, #[event(topic = "refunds", reserved(6, "legacy_code"))] {
    #[event(key)] pub order_id: String, pub amount: Money, #[event(tag)] pub reason: Reason,
    pub issued_at: SystemTime, pub notes: Vec<String>,
},
#[derive(Tag)]
pub enum Reason { Late, Damaged });

#[test]
fn the_same_definition_and_compatible_changes_pass() {
    assert_eq!(violations::<same::Refund>(), []);
    assert_eq!(violations::<added::Refund>(), []);
    assert_eq!(violations::<removed_and_reserved::Refund>(), []);
    assert_eq!(violations::<enum_value_added::Refund>(), []);
}

#[test]
fn each_breaking_change_fails_with_its_rule() {
    assert_eq!(
        violations::<retyped::Refund>(),
        [Violation::Retyped {
            field: "notes".into(),
            old: "repeated string".into(),
            new: "repeated uint64".into()
        }]
    );
    assert_eq!(
        violations::<renamed::Refund>(),
        [Violation::Renamed {
            number: 1,
            old: "order_id".into(),
            new: "refund_of".into()
        }]
    );
    assert_eq!(
        violations::<removed::Refund>(),
        [Violation::RemovedWithoutReservation {
            field: "issued_at".into(),
            number: 4
        }]
    );
    assert_eq!(
        violations::<reuses_reserved::Refund>(),
        [Violation::ReusedReserved {
            field: "legacy".into(),
            number: 6
        }]
    );
    assert_eq!(
        violations::<money_retyped::Refund>(),
        [Violation::Retyped {
            field: "Money.units".into(),
            old: "int64".into(),
            new: "double".into()
        }]
    );
    assert_eq!(
        violations::<enum_value_removed::Refund>(),
        [Violation::EnumValueRemoved {
            r#enum: "Reason".into(),
            value: "REASON_LATE".into()
        }]
    );
    assert!(matches!(
        &violations::<enum_reordered::Refund>()[..],
        [
            Violation::EnumValueRenumbered { .. },
            Violation::EnumValueRenumbered { .. }
        ]
    ));
}

#[test]
fn an_event_the_tree_does_not_declare_is_named() {
    #[derive(Event)]
    #[event(topic = "refunds")]
    struct RefundReversed {
        #[event(key)]
        order_id: String,
    }
    let error = SchemaSet::new()
        .event::<RefundReversed>()
        .check_against_tree(TREE)
        .unwrap_err();
    assert!(
        matches!(&error, SchemaCheckError::NotInTree { message, .. } if message == "events.RefundReversed"),
        "{error}"
    );
    assert!(
        error.to_string().contains("`events.RefundReversed`"),
        "{error}"
    );
    // Added as new, it passes until the tree has it.
    assert!(SchemaSet::new()
        .new_event::<RefundReversed>()
        .check_against_tree(TREE)
        .is_ok());
}

#[test]
fn a_tree_file_that_does_not_compile_is_named_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.proto"),
        "syntax = \"proto3\";\npackage events;\n\nmessage Refund {\n  string order_id = 1\n}\n",
    )
    .unwrap();
    let error = SchemaSet::new()
        .event::<same::Refund>()
        .check_against_tree(dir.path())
        .unwrap_err();
    let SchemaCheckError::Parse(path, parse) = &error else {
        panic!("{error}");
    };
    assert!(path.ends_with("broken.proto"), "{error}");
    assert_eq!(parse.line, 6, "the `}}` where `;` was expected: {error}");
}

mod packaged {
    use super::shared::Money;
    use event_runtime::Event;

    /// In the payments team's package, as the tree declares it.
    #[derive(Event, Clone, Debug, PartialEq)]
    #[event(topic = "chargebacks", package = "acme.payments.v1")]
    pub struct Chargeback {
        #[event(key)]
        pub order_id: String,
        pub amount: Money,
    }

    /// The same message in the default package: the tree has no `events.Chargeback`.
    #[derive(Event)]
    #[event(topic = "chargebacks")]
    pub struct Unpackaged {
        #[event(key)]
        pub order_id: String,
    }
}

#[test]
fn the_package_names_the_message_everywhere() {
    use event_runtime::{header, Dispatcher, RecordingSink};
    use packaged::Chargeback;

    assert_eq!(Chargeback::MESSAGE_NAME, "acme.payments.v1.Chargeback");
    assert!(Chargeback::proto_schema().contains("\npackage acme.payments.v1;\n"));
    SchemaSet::new()
        .event::<Chargeback>()
        .check_against_tree(TREE)
        .unwrap();
    assert!(SchemaSet::new()
        .event::<packaged::Unpackaged>()
        .check_against_tree(TREE)
        .is_err());

    let recording = RecordingSink::new();
    let events = Dispatcher::builder().recording(&recording).build().unwrap();
    let chargeback = Chargeback {
        order_id: "o-1".into(),
        amount: shared::Money {
            currency: "GBP".into(),
            units: 1250,
        },
    };
    events.publish(&chargeback);
    let records = recording.records();
    assert_eq!(
        records[0].header(header::SCHEMA_NAME),
        Some("acme.payments.v1.Chargeback")
    );
    assert_eq!(recording.events::<Chargeback>(), [chargeback]);

    let set = SchemaSet::new()
        .event::<Chargeback>()
        .file_descriptor_set()
        .unwrap();
    let pool = prost_reflect::DescriptorPool::decode(set.as_slice()).unwrap();
    assert!(pool
        .get_message_by_name("acme.payments.v1.Chargeback")
        .is_some());
}
