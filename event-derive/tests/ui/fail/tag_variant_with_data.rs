use event_runtime::Tag;

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
enum Market { Uk, Fr, It }

#[derive(Tag, Clone, Debug, PartialEq, Eq)]
enum Method {
    Card,
    Voucher(String),
}
fn main() {}
