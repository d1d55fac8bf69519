use event_runtime::Event;

#[derive(Event)]
#[event(topic = "payments")]
struct PaymentAttempted {
    order_id: String,
    trace_id: u128,
}
fn main() {}
