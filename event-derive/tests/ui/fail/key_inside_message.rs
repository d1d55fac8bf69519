use event_runtime::Message;

#[derive(Message)]
struct LineItem {
    #[event(key)]
    sku: String,
    #[event(tag)]
    size: bool,
    #[event(metric = "count")]
    quantity: u32,
}
fn main() {}
