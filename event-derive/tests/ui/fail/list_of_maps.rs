use std::collections::HashMap;
use event_runtime::Event;

#[derive(Event)]
#[event(topic = "orders")]
struct OrderPlaced {
    attribute_sets: Vec<HashMap<String, String>>,
}
fn main() {}
