//! The warehouse leg: land the Kafka side of [`event_runtime`] events in SQL tables
//! generated from the same `#[derive(Event)]` definitions.
//!
//! - One table per event type, named after the event (`payment.attempted` becomes
//!   `payment_attempted`), one column per payload field, then `event_id` (the primary
//!   key), `published_at`, `kafka_partition`, `kafka_offset`, and `trace_id` and `span_id`
//!   from a W3C `traceparent` header (NULL when a record has none).
//! - Tags are text (`apple-pay`), numbers are numbers, `SystemTime` a timestamp,
//!   `Duration` an interval (seconds in SQLite), `Option` fields NULL when unset,
//!   repeated fields a JSON array.
//! - A definition change the schema-contract rules allow (a new field) adds a column; one
//!   they refuse stops the loader before it writes anything.
//! - At least once from Kafka, one row per event: a batch's offsets are committed only once
//!   its rows are durable, and a replay is skipped by the event id key.
//!
//! Backends: `Sqlite` (embedded, the default feature) and `Postgres` (feature
//! `postgres`, batches written with `COPY`).

#![warn(missing_docs)]

mod backend;
mod error;
mod json;
mod loader;
mod row;
mod table;
mod text;
mod trace;

#[cfg(feature = "postgres")]
pub use backend::Postgres;
#[cfg(feature = "sqlite")]
pub use backend::Sqlite;
pub use backend::{
    prepare, Backend, Batch, Reject, SqlValue, Written, DEFINITIONS_TABLE, REJECTS_TABLE,
};
pub use error::WarehouseError;
pub use loader::{LoadStats, LoadTime, Loader, LoaderConfig, RunningLoader};
pub use row::{row_of, Cell, RecordMeta, Row};
pub use table::{Column, ColumnKind, Table, RECORD_COLUMNS};
pub use text::rfc3339;
