use event_runtime::{Event, Tag};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
enum Market { Uk, Fr, It }

#[derive(Event)]
#[event(topic = "payments")]
struct PaymentAttempted {
    order_id: String,
    #[event(id = 1)]
    user_id: String,
}
fn main() {}
