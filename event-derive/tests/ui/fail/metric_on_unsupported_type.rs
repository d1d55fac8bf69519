use event_runtime::{Event, Tag};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
enum Market { Uk, Fr, It }

/// Not syntactically obvious: the `MetricValue` trait bound catches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Money(u64);

#[derive(Event)]
#[event(topic = "payments")]
struct PaymentAttempted {
    #[event(metric = "distribution")]
    amount: Money,
}
fn main() {}
