use std::collections::HashMap;
use event_runtime::{Event, Message};

#[derive(Message, PartialEq, Eq, Hash)]
struct Sku { code: String }

#[derive(Message)]
struct Stock {
    levels: HashMap<Sku, u32>,
}

#[derive(Event)]
#[event(topic = "orders")]
struct StockCounted {
    stock: Stock,
}
fn main() {}
