use event_runtime::Event;

#[derive(Event)]
#[event(topic = "refunds", reserved(3, "reason"))]
struct Refund {
    order_id: String,
    amount_pence: u64,
    reason: Option<String>,
}

fn main() {}
