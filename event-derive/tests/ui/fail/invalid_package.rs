use event_runtime::Event;

#[derive(Event)]
#[event(topic = "payments", package = "acme.payments.1")]
struct PaymentAttempted {
    #[event(key)]
    order_id: String,
}

#[derive(Event)]
#[event(topic = "payments", package = "acme-payments")]
struct PaymentFailed {
    #[event(key)]
    order_id: String,
}

fn main() {}
