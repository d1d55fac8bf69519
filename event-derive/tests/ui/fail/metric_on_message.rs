use event_runtime::{Event, Message};

#[derive(Message)]
struct Money { currency: String, minor_units: i64 }

#[derive(Event)]
#[event(topic = "orders")]
struct OrderPlaced {
    #[event(metric = "distribution")]
    total: Money,
}
fn main() {}
