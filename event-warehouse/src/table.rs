//! The table of an event type, derived from its definition: one column per payload field,
//! plus the columns that locate the record it came from.

use event_runtime::schema::{FieldDef, Kind, Label};
use event_runtime::Event;

use crate::error::WarehouseError;

/// What a column holds. Each backend maps these to its own SQL types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    /// `bool`.
    Bool,
    /// `i32`, `i64`, `u32`.
    Int,
    /// `u64`: wider than a signed 64-bit column.
    UInt,
    /// `f32`, `f64`.
    Float,
    /// `String`.
    Text,
    /// A `#[derive(Tag)]` enum, stored as its tag value (`apple-pay`).
    Tag,
    /// `Vec<u8>`.
    Bytes,
    /// `SystemTime`.
    Timestamp,
    /// `Duration`, `chrono::TimeDelta`.
    Duration,
    /// `uuid::Uuid`: `uuid` in PostgreSQL, hyphenated text in SQLite.
    Uuid,
    /// `rust_decimal::Decimal`: `numeric` in PostgreSQL, exact text in SQLite.
    Decimal,
    /// A repeated field (a JSON array), a map (an object) or a nested message (an object
    /// keyed by field names; a `#[derive(Message)]` enum's has one key, its variant).
    Json,
    /// The event id header (a UUID): the primary key, which makes replays idempotent.
    EventId,
}

/// One column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// The column name: the field name, or one of the record columns.
    pub name: String,
    /// What it holds.
    pub kind: ColumnKind,
    /// Whether the event itself can leave it NULL (an unset `Option`, a missing publish
    /// time). The tables declare every payload column nullable all the same: a column
    /// added later has no value in older rows, and a removed field's column none in newer.
    pub nullable: bool,
}

/// The record columns every table ends with, after the payload fields.
pub const RECORD_COLUMNS: [&str; 6] = [
    "event_id",
    "published_at",
    "kafka_partition",
    "kafka_offset",
    "trace_id",
    "span_id",
];

/// The table of one event type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// The table name: the event name with dots as underscores (`payment_attempted`).
    pub name: String,
    /// The event name (`payment.attempted`).
    pub event: &'static str,
    /// The protobuf message name, as carried in the `schema_name` header.
    pub message: &'static str,
    /// The Kafka topic.
    pub topic: &'static str,
    /// The `.proto` text of the definition, stored so that the next start can check a
    /// changed definition against it.
    pub proto: String,
    /// Payload columns in declaration order, then [`RECORD_COLUMNS`].
    pub columns: Vec<Column>,
}

impl Table {
    /// The table of `E`. Fails if a field is named like a record column.
    pub fn of<E: Event>() -> Result<Self, WarehouseError> {
        let mut columns = Vec::new();
        for field in E::fields() {
            if RECORD_COLUMNS.contains(&field.name) {
                return Err(WarehouseError::Definition(format!(
                    "event `{}`: field `{}` has the name of a column the loader adds ({}); rename the field",
                    E::NAME,
                    field.name,
                    RECORD_COLUMNS.join(", ")
                )));
            }
            columns.push(Column {
                name: field.name.to_owned(),
                kind: kind_of(field),
                nullable: field.label == Label::Optional,
            });
        }
        let record = [
            ("event_id", ColumnKind::EventId),
            ("published_at", ColumnKind::Timestamp),
            ("kafka_partition", ColumnKind::Int),
            ("kafka_offset", ColumnKind::Int),
            ("trace_id", ColumnKind::Text),
            ("span_id", ColumnKind::Text),
        ];
        columns.extend(record.into_iter().map(|(name, kind)| Column {
            name: name.to_owned(),
            kind,
            nullable: !matches!(name, "event_id" | "kafka_partition" | "kafka_offset"),
        }));
        Ok(Table {
            name: E::NAME.replace('.', "_"),
            event: E::NAME,
            message: E::MESSAGE_NAME,
            topic: E::TOPIC,
            proto: E::proto_schema(),
            columns,
        })
    }

    /// The column names, in order.
    pub fn column_names(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|c| c.name.as_str())
    }
}

fn kind_of(field: &FieldDef) -> ColumnKind {
    match field.label {
        Label::Repeated | Label::Map(_) => return ColumnKind::Json,
        Label::Implicit | Label::Optional => {}
    }
    match field.kind {
        Kind::Bool => ColumnKind::Bool,
        Kind::Int32 | Kind::Int64 | Kind::UInt32 => ColumnKind::Int,
        Kind::UInt64 => ColumnKind::UInt,
        Kind::Float | Kind::Double => ColumnKind::Float,
        Kind::String => ColumnKind::Text,
        Kind::Bytes => ColumnKind::Bytes,
        Kind::Enum(_) => ColumnKind::Tag,
        Kind::Timestamp => ColumnKind::Timestamp,
        Kind::Duration => ColumnKind::Duration,
        Kind::Uuid => ColumnKind::Uuid,
        Kind::Decimal => ColumnKind::Decimal,
        Kind::Empty | Kind::Message(_) => ColumnKind::Json,
    }
}

/// Quotes an identifier for SQL (both backends accept double quotes).
pub(crate) fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
