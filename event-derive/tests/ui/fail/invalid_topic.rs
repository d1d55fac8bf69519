use event_runtime::{Event, Tag};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
enum Market { Uk, Fr, It }

#[derive(Event)]
#[event(topic = "payments/eu")]
struct PaymentAttempted {
    #[event(tag)]
    market: Market,
}
fn main() {}
