use event_runtime::{Event, Tag};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
enum Market { Uk, Fr, It }

/// An id type the derive cannot recognise by name: the `Tag` trait bound catches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct UserUuid([u8; 16]);

#[derive(Event)]
#[event(topic = "payments")]
struct PaymentAttempted {
    #[event(tag)]
    user: UserUuid,
}
fn main() {}
