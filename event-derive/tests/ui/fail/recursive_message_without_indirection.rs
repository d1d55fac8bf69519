use event_runtime::Message;

#[derive(Message)]
struct Category {
    name: String,
    parent: Option<Category>,
}
fn main() {}
