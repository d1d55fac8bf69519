//! The Kafka record key, from the `#[event(key)]` field: text or bytes, or a
//! `#[derive(Message)]` newtype around them, which is a key as its inner type is. A key is
//! also a payload field, so an id type of your own becomes a key by that derive:
//!
//! ```
//! use event_runtime::{Event, Message};
//!
//! #[derive(Message, Clone, Debug, PartialEq)]
//! struct OrderId(String);
//!
//! #[derive(Event, Clone, Debug, PartialEq)]
//! #[event(topic = "orders")]
//! struct OrderPlaced {
//!     #[event(key)]
//!     order_id: OrderId,
//!     basket_pence: u64,
//! }
//!
//! let placed = OrderPlaced { order_id: OrderId("o-1".into()), basket_pence: 1250 };
//! assert_eq!(placed.key(), Some(&b"o-1"[..]));
//! ```

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
