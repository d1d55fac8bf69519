use event_runtime::{Event, Tag};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
enum Market { Uk, Fr, It }

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
enum Platform { Android, Ios, Web }

#[derive(Event)]
#[event(topic = "payments", max_series = 50)]
struct PaymentAttempted {
    #[event(tag)]
    market: Market,
    #[event(tag)]
    platform: Platform,
    #[event(tag)]
    first_order: bool,
    #[event(metric = "distribution")]
    amount_pence: u64,
}
fn main() {}
