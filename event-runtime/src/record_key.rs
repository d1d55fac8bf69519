//! The Kafka record key, from the `#[event(key)]` field. Implement [`RecordKey`] for your
//! own id types to use them as keys.

/// A field type that can be a Kafka record key.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a Kafka record key",
    label = "the `#[event(key)]` field must be bytes or text",
    note = "use text or bytes (`String`, `&str`, `Cow<str>`, `Vec<u8>`, `&[u8]`, an `Option` of these, or a `#[derive(Message)]` newtype around one); format numeric ids into a `String`"
)]
pub trait RecordKey {
    /// The key's bytes, or `None` for no key.
    fn key_bytes(&self) -> Option<&[u8]>;
}

impl RecordKey for String {
    fn key_bytes(&self) -> Option<&[u8]> {
        Some(self.as_bytes())
    }
}

impl RecordKey for Vec<u8> {
    fn key_bytes(&self) -> Option<&[u8]> {
        Some(self)
    }
}

impl<T: RecordKey> RecordKey for Option<T> {
    fn key_bytes(&self) -> Option<&[u8]> {
        self.as_ref().and_then(RecordKey::key_bytes)
    }
}
