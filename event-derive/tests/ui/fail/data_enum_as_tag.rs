use event_runtime::Tag;

#[derive(Tag)]
enum PaymentMethod {
    Card { last4: String },
    Cash,
}
fn main() {}
