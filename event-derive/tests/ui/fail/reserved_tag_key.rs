use event_runtime::{Event, Tag};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
enum Market { Uk, Fr, It }

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
enum Env { Prod, Staging }

#[derive(Event)]
#[event(topic = "payments")]
struct PaymentAttempted {
    #[event(tag)]
    env: Env,
}
fn main() {}
