use event_runtime::{Event, Tag};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
enum Market { Uk, Fr, It }

#[derive(Event)]
#[event(name = "payment.attempted")]
struct PaymentAttempted {
    #[event(tag)]
    market: Market,
}
fn main() {}
