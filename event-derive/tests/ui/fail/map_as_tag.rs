use std::collections::HashMap;
use event_runtime::Event;

#[derive(Event)]
#[event(topic = "orders")]
struct OrderPlaced {
    #[event(tag)]
    attributes: HashMap<String, String>,
}
fn main() {}
