use event_runtime::Message;

#[derive(Message)]
#[event(package = "acme.common")]
struct Money {
    units: i64,
}

fn main() {}
