use event_runtime::{Event, Tag};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
enum Market { Uk, Fr, It }

#[derive(Event)]
#[event(name = "payment attempted")]
struct PaymentAttempted {
    #[event(key)]
    order_id: String,
    #[event(tag)]
    user_id: String,
    #[event(key, colour = "red")]
    basket_id: String,
    #[event(metric = "distribution")]
    note: String,
}
fn main() {}
