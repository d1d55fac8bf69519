use std::collections::BTreeMap;
use event_runtime::{Event, Message};

#[derive(Message, PartialEq, Eq, PartialOrd, Ord)]
struct Sku { code: String }

#[derive(Event)]
#[event(topic = "orders")]
struct OrderPlaced {
    stock: BTreeMap<Sku, u32>,
}
fn main() {}
