use std::collections::{BTreeMap, HashMap};

use event_runtime::{Event, Message, Tag};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
enum Market { Uk, Fr }

#[derive(Message, Clone, Debug, PartialEq)]
struct UserId(String);

#[derive(Message, Clone, Copy, Debug, PartialEq)]
struct Region(Market);

#[derive(Message, Clone, Debug, PartialEq)]
#[event(reserved(2, "old_note"))]
struct LineItem {
    sku: Box<str>,
    #[event(id = 3)]
    quantity: u8,
    tags: Vec<i16>,
}

#[derive(Message, Clone, Debug, PartialEq)]
enum Payment {
    Card { last4: String },
    #[event(id = 5)]
    Wallet(String),
    Cash,
}

#[derive(Message, Clone, Debug, PartialEq)]
struct Tree {
    children: Vec<Tree>,
    parent: Option<Box<Tree>>,
}

#[derive(Event, Clone, Debug, PartialEq)]
#[event(topic = "orders")]
struct OrderPlaced {
    #[event(key)]
    user_id: UserId,
    #[event(tag)]
    region: Region,
    items: Vec<LineItem>,
    payment: Payment,
    maybe_payment: Option<Payment>,
    by_sku: HashMap<String, LineItem>,
    counts: BTreeMap<i64, u16>,
    hash: [u8; 4],
    tree: Tree,
    small: i8,
}

fn main() {
    let order = OrderPlaced {
        user_id: UserId("u-1".into()),
        region: Region(Market::Fr),
        items: vec![LineItem { sku: "a".into(), quantity: 255, tags: vec![-1] }],
        payment: Payment::Wallet("apple".into()),
        maybe_payment: None,
        by_sku: HashMap::new(),
        counts: BTreeMap::from([(-1, 7)]),
        hash: [1, 2, 3, 4],
        tree: Tree { children: vec![], parent: None },
        small: -128,
    };
    assert_eq!(OrderPlaced::SERIES, 2);
    let mut bytes = Vec::new();
    order.encode(&mut bytes);
    assert_eq!(OrderPlaced::decode(&bytes).unwrap(), order);
    let schema = OrderPlaced::proto_schema();
    assert!(schema.contains("    uint32 quantity = 3;\n    repeated int32 tags = 4;\n    reserved 2;"));
    assert!(schema.contains("      string wallet = 5;"));
}
