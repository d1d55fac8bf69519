use event_runtime::{Event, Tag};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
enum Market { Uk, Fr, It }

#[derive(Event)]
#[event(topic = "payments")]
struct PaymentAttempted {
    #[event(metric = "distribution")]
    amount: String,
}
fn main() {}
