use event_runtime::{Event, Message};

#[derive(Message)]
struct Address { street: String }

#[derive(Event)]
#[event(topic = "orders")]
struct OrderPlaced {
    #[event(tag)]
    address: Address,
}
fn main() {}
