use event_runtime::Event;

#[derive(Event)]
#[event(topic = "orders")]
struct OrderPlaced<T> {
    #[event(key)]
    order_id: String,
    extra: T,
}
fn main() {}
