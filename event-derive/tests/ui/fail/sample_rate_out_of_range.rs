use event_runtime::{Event, Tag};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
enum Market { Uk, Fr, It }

#[derive(Event)]
#[event(topic = "payments", sample_rate = 1.5)]
struct PaymentAttempted {
    #[event(tag)]
    market: Market,
}
fn main() {}
