//! Where rows are written. A backend knows its SQL dialect and how to write a batch
//! durably and idempotently; [`prepare`] (shared) decides which tables and columns must
//! exist.

#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "postgres")]
pub use self::postgres::Postgres;
#[cfg(feature = "sqlite")]
pub use self::sqlite::Sqlite;

use event_runtime::schema::check_compatible;

use crate::error::WarehouseError;
use crate::row::Row;
use crate::table::{quoted, ColumnKind, Table};

/// The table that keeps each event's `.proto` text, to check the next definition against.
pub const DEFINITIONS_TABLE: &str = "event_definitions";
/// The table of records that could not be loaded, with the reason: nothing is dropped
/// without a trace.
pub const REJECTS_TABLE: &str = "event_load_errors";

/// The loader's own tables, given a dialect's types for an offset and for bytes.
pub(crate) fn bookkeeping_tables(offset_type: &str, bytes_type: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {DEFINITIONS_TABLE} (
             message TEXT PRIMARY KEY, table_name TEXT NOT NULL, proto TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS {REJECTS_TABLE} (
             topic TEXT NOT NULL, kafka_partition INTEGER NOT NULL, kafka_offset {offset_type} NOT NULL,
             reason TEXT NOT NULL, payload {bytes_type} NOT NULL,
             PRIMARY KEY (topic, kafka_partition, kafka_offset));"
    )
}

/// A record that could not become a row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reject {
    /// Its topic.
    pub topic: String,
    /// Its partition.
    pub partition: i32,
    /// Its offset.
    pub offset: i64,
    /// Why.
    pub reason: String,
    /// The payload, for a later replay.
    pub payload: Vec<u8>,
}

/// The rows of one batch, by table, and its rejects.
#[derive(Debug, Default)]
pub struct Batch<'a> {
    /// Rows per table.
    pub tables: Vec<(&'a Table, Vec<Row>)>,
    /// Records that could not be decoded.
    pub rejects: Vec<Reject>,
}

/// What a write did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// New rows.
    pub inserted: u64,
    /// Rows whose event id was already there (a replay after a crash).
    pub duplicates: u64,
    /// Rejects recorded.
    pub rejected: u64,
}

/// A value read back by [`Backend::query`].
#[derive(Clone, Debug, PartialEq)]
pub enum SqlValue {
    /// NULL.
    Null,
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// Text.
    Text(String),
}

impl SqlValue {
    /// The integer, if this is one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            SqlValue::Int(v) => Some(*v),
            _ => None,
        }
    }

    /// The text, if this is text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            SqlValue::Text(v) => Some(v),
            _ => None,
        }
    }
}

/// A SQL database the loader writes to.
pub trait Backend: Send {
    /// The SQL type of a column kind in this dialect.
    fn sql_type(&self, kind: ColumnKind) -> &'static str;
    /// Runs statements with no result.
    fn execute(&mut self, sql: &str) -> Result<(), WarehouseError>;
    /// The `.proto` text stored for a message, if any.
    fn stored_definition(&mut self, message: &str) -> Result<Option<String>, WarehouseError>;
    /// Stores the `.proto` text of a table's event.
    fn store_definition(&mut self, table: &Table) -> Result<(), WarehouseError>;
    /// The columns a table has now (none if it does not exist).
    fn existing_columns(&mut self, table: &str) -> Result<Vec<String>, WarehouseError>;
    /// Writes a batch: when this returns `Ok`, the rows are durable. A row whose event id
    /// is already present is skipped, so a replay, whole or of a batch written in part, is
    /// harmless. SQLite writes a batch in one transaction; PostgreSQL in one per write
    /// connection (`Postgres::write_connections`, feature `postgres`).
    fn write(&mut self, batch: &Batch<'_>) -> Result<Written, WarehouseError>;
    /// Runs a query with text parameters (`$1`, `$2`, ... in both dialects).
    fn query(&mut self, sql: &str, params: &[&str]) -> Result<Vec<Vec<SqlValue>>, WarehouseError>;
    /// Why this database cannot store a row, if it cannot (PostgreSQL text cannot hold NUL).
    /// The loader asks while the record's payload is at hand, so its reject keeps the
    /// payload for a later replay. By default every row can be stored.
    fn unstorable(&self) -> fn(&[crate::row::Cell]) -> Option<&'static str> {
        |_| None
    }
    /// Waits until no other loader is preparing tables in this database, and keeps them
    /// out until [`Backend::unlock_schema`]: concurrent `CREATE TABLE IF NOT EXISTS` and
    /// `ALTER TABLE` race in the catalog. A loader that waited then finds the tables made.
    fn lock_schema(&mut self) -> Result<(), WarehouseError>;
    /// Lets the next loader prepare its tables.
    fn unlock_schema(&mut self) -> Result<(), WarehouseError>;
}

/// Makes the table of an event ready: checks a stored definition against the current one
/// with the schema-contract rules, creates the table if it is missing, and adds a column
/// for each field the table does not have yet.
pub fn prepare(backend: &mut dyn Backend, table: &Table) -> Result<(), WarehouseError> {
    if let Some(stored) = backend.stored_definition(table.message)? {
        let violations = check_compatible(&stored, &table.proto).map_err(|e| {
            WarehouseError::Definition(format!(
                "the stored definition of `{}` does not parse: {e}",
                table.message
            ))
        })?;
        if !violations.is_empty() {
            return Err(WarehouseError::Incompatible {
                event: table.event,
                table: table.name.clone(),
                violations,
            });
        }
    }
    let existing = backend.existing_columns(&table.name)?;
    if existing.is_empty() {
        // Payload columns stay nullable even for fields that are always set: a field removed
        // later (and reserved) leaves its column behind, and new rows have no value for it.
        let columns: Vec<String> = table
            .columns
            .iter()
            .map(|c| {
                let constraint = match c.kind {
                    ColumnKind::EventId => "PRIMARY KEY",
                    _ if c.name == "kafka_partition" || c.name == "kafka_offset" => "NOT NULL",
                    _ => "",
                };
                [
                    quoted(&c.name).as_str(),
                    backend.sql_type(c.kind),
                    constraint,
                ]
                .into_iter()
                .filter(|part| !part.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
            })
            .collect();
        backend.execute(&format!(
            "CREATE TABLE IF NOT EXISTS {} ({})",
            quoted(&table.name),
            columns.join(", ")
        ))?;
    } else {
        // Rows written before the field existed have no value for it: the column is nullable.
        for column in table.columns.iter().filter(|c| !existing.contains(&c.name)) {
            backend.execute(&format!(
                "ALTER TABLE {} ADD COLUMN {} {}",
                quoted(&table.name),
                quoted(&column.name),
                backend.sql_type(column.kind)
            ))?;
        }
    }
    backend.store_definition(table)
}
