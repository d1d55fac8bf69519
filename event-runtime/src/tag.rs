//! The `Tag` trait: a field type whose values form a small set known at compile time.

/// A type whose values can be DogStatsD tag values.
///
/// Every distinct tag value creates a new metric series, which Datadog bills for,
/// so a tag must have a bounded set of values known when the program is compiled.
/// Implemented by `#[derive(Tag)]` on fieldless enums, by `bool` (`"true"`/`"false"`)
/// and by `Option<T: Tag>` (`None` is `"none"`). Never by strings or numbers.
///
/// ```
/// use event_runtime::Tag;
///
/// #[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
/// enum Market { Uk, Fr, #[tag(rename = "it-south")] ItalySouth }
///
/// assert_eq!(Market::CARDINALITY, 3);
/// assert_eq!(Market::Uk.value(), "uk");
/// assert_eq!(Market::ItalySouth.value(), "it-south");
/// assert_eq!(Some(Market::Fr).value(), "fr");
/// assert_eq!(None::<Market>.value(), "none");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a metric tag: its values are not a small set known at compile time",
    label = "this field is marked `#[event(tag)]`, so its type must implement `Tag`",
    note = "every distinct tag value is a new DogStatsD series; an unbounded value (an id, a free string, a number) would create millions of them",
    note = "use a `#[derive(Tag)]` enum, `bool` or `Option<T: Tag>`, or remove `#[event(tag)]` to send this field to Kafka only"
)]
pub trait Tag: Sized + Send + Sync + 'static {
    /// How many distinct values this type has.
    const CARDINALITY: usize;
    /// The length of the longest value, so `key:value` can be bounded at compile time.
    const MAX_VALUE_LEN: usize;

    /// The position of this value in `0..CARDINALITY`.
    fn index(&self) -> usize;
    /// The value at a position, the inverse of [`Tag::index`].
    fn from_index(index: usize) -> Option<Self>;
    /// The tag value as it appears in a DogStatsD datagram.
    fn value(&self) -> &'static str;
}

impl Tag for bool {
    const CARDINALITY: usize = 2;
    const MAX_VALUE_LEN: usize = 5;

    fn index(&self) -> usize {
        usize::from(*self)
    }

    fn from_index(index: usize) -> Option<Self> {
        match index {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }

    fn value(&self) -> &'static str {
        if *self {
            "true"
        } else {
            "false"
        }
    }
}

impl<T: Tag> Tag for Option<T> {
    const CARDINALITY: usize = T::CARDINALITY + 1;
    const MAX_VALUE_LEN: usize = if T::MAX_VALUE_LEN > 4 {
        T::MAX_VALUE_LEN
    } else {
        4
    };

    fn index(&self) -> usize {
        match self {
            None => 0,
            Some(value) => value.index() + 1,
        }
    }

    fn from_index(index: usize) -> Option<Self> {
        match index {
            0 => Some(None),
            n => T::from_index(n - 1).map(Some),
        }
    }

    fn value(&self) -> &'static str {
        match self {
            None => "none",
            Some(value) => value.value(),
        }
    }
}
