use event_runtime::{Event, Tag};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
enum Market { Uk, Fr, It }

#[derive(Event)]
#[event(topic = "payments")]
struct PaymentAttempted {
    #[event(tag)]
    market: Market,
    #[event(tag = "market")]
    billing_market: Market,
}
fn main() {}
