//! SQLite, embedded: the default backend, with no server to run.
//!
//! Types: timestamps are RFC 3339 text in UTC (they sort, and `datetime()` reads them),
//! durations are seconds as REAL, repeated fields JSON text, and a `u64` above
//! `i64::MAX` is stored as text because SQLite integers are signed 64-bit (its column
//! has no declared type, so SQLite does not round that text to a REAL).

use std::path::Path;

use rusqlite::types::Value as SqliteValue;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};

use super::{Backend, Batch, SqlValue, Written, DEFINITIONS_TABLE, REJECTS_TABLE};
use crate::error::WarehouseError;
use crate::row::Cell;
use crate::table::{quoted, ColumnKind, Table};
use crate::text;

/// How long a connection waits for another's lock on the file.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// A SQLite database file.
pub struct Sqlite {
    connection: Connection,
}

impl Sqlite {
    /// Opens (or creates) the database file, in WAL mode with full syncs so that a
    /// committed batch survives a crash of the process or the machine.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, WarehouseError> {
        Self::with_connection(Connection::open(path)?)
    }

    /// A private in-memory database (for tests and examples).
    pub fn in_memory() -> Result<Self, WarehouseError> {
        Self::with_connection(Connection::open_in_memory()?)
    }

    fn with_connection(connection: Connection) -> Result<Self, WarehouseError> {
        // Loaders opening one file at once take turns at SQLite's lock rather than failing
        // with "database is locked".
        connection.busy_timeout(BUSY_TIMEOUT)?;
        // Turning a new file to WAL needs it to itself, and SQLite answers "busy" at once
        // rather than waiting while another connection is opening it: try again.
        let started = std::time::Instant::now();
        loop {
            match connection.pragma_update(None, "journal_mode", "WAL") {
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::DatabaseBusy
                        && started.elapsed() < BUSY_TIMEOUT =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                result => break result?,
            }
        }
        connection.pragma_update(None, "synchronous", "FULL")?;
        connection.execute_batch(&super::bookkeeping_tables("INTEGER", "BLOB"))?;
        Ok(Sqlite { connection })
    }

    /// The connection, for queries of your own.
    pub fn connection(&self) -> &Connection {
        &self.connection
    }
}

fn value_of(cell: &Cell) -> SqliteValue {
    match cell {
        Cell::Null => SqliteValue::Null,
        Cell::Bool(v) => SqliteValue::Integer(i64::from(*v)),
        Cell::Int(v) => SqliteValue::Integer(*v),
        Cell::UInt(v) => match i64::try_from(*v) {
            Ok(v) => SqliteValue::Integer(v),
            Err(_) => SqliteValue::Text(v.to_string()),
        },
        Cell::Float(v) => SqliteValue::Real(*v),
        Cell::Text(v) | Cell::Json(v) => SqliteValue::Text(v.clone()),
        Cell::Tag(v) => SqliteValue::Text((*v).to_owned()),
        Cell::Uuid(bytes) => SqliteValue::Text(text::hyphenated(bytes)),
        Cell::Bytes(v) => SqliteValue::Blob(v.clone()),
        Cell::Timestamp(v) => SqliteValue::Text(text::rfc3339(*v)),
        Cell::Duration(v) => SqliteValue::Real(v.as_secs_f64()),
        Cell::NegativeDuration(v) => SqliteValue::Real(-v.as_secs_f64()),
        // Text keeps every digit; SQLite's own numbers are doubles.
        Cell::Decimal { mantissa, scale } => SqliteValue::Text(text::decimal(*mantissa, *scale)),
    }
}

impl Backend for Sqlite {
    fn sql_type(&self, kind: ColumnKind) -> &'static str {
        match kind {
            ColumnKind::Bool | ColumnKind::Int => "INTEGER",
            // No declared type: an INTEGER (or NUMERIC) column would turn the text of a
            // value above i64::MAX into a rounded REAL. Without one, each value stays as
            // bound, and still compares as a number.
            ColumnKind::UInt => "",
            ColumnKind::Float | ColumnKind::Duration => "REAL",
            ColumnKind::Bytes => "BLOB",
            ColumnKind::Text
            | ColumnKind::Tag
            | ColumnKind::Uuid
            | ColumnKind::Decimal
            | ColumnKind::Timestamp
            | ColumnKind::Json
            | ColumnKind::EventId => "TEXT",
        }
    }

    fn execute(&mut self, sql: &str) -> Result<(), WarehouseError> {
        Ok(self.connection.execute_batch(sql)?)
    }

    fn stored_definition(&mut self, message: &str) -> Result<Option<String>, WarehouseError> {
        Ok(self
            .connection
            .query_row(
                &format!("SELECT proto FROM {DEFINITIONS_TABLE} WHERE message = ?1"),
                [message],
                |row| row.get(0),
            )
            .optional()?)
    }

    fn store_definition(&mut self, table: &Table) -> Result<(), WarehouseError> {
        self.connection.execute(
            &format!(
                "INSERT INTO {DEFINITIONS_TABLE} (message, table_name, proto) VALUES (?1, ?2, ?3)
                 ON CONFLICT (message) DO UPDATE SET table_name = excluded.table_name, proto = excluded.proto"
            ),
            params![table.message, table.name, table.proto],
        )?;
        Ok(())
    }

    fn existing_columns(&mut self, table: &str) -> Result<Vec<String>, WarehouseError> {
        let mut statement = self
            .connection
            .prepare("SELECT name FROM pragma_table_info(?1)")?;
        let names = statement.query_map([table], |row| row.get(0))?;
        Ok(names.collect::<Result<_, _>>()?)
    }

    fn write(&mut self, batch: &Batch<'_>) -> Result<Written, WarehouseError> {
        let mut written = Written::default();
        let transaction = self.connection.transaction()?;
        for (table, rows) in &batch.tables {
            let columns: Vec<String> = table.column_names().map(quoted).collect();
            let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
            let mut insert = transaction.prepare_cached(&format!(
                "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT (event_id) DO NOTHING",
                quoted(&table.name),
                columns.join(", "),
                placeholders.join(", ")
            ))?;
            for row in rows {
                let changed = insert.execute(params_from_iter(row.iter().map(value_of)))?;
                if changed == 0 {
                    written.duplicates += 1;
                } else {
                    written.inserted += 1;
                }
            }
        }
        {
            let mut insert = transaction.prepare_cached(&format!(
                "INSERT INTO {REJECTS_TABLE} (topic, kafka_partition, kafka_offset, reason, payload)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING"
            ))?;
            for reject in &batch.rejects {
                insert.execute(params![
                    reject.topic,
                    reject.partition,
                    reject.offset,
                    reject.reason,
                    reject.payload
                ])?;
                written.rejected += 1;
            }
        }
        transaction.commit()?;
        Ok(written)
    }

    fn query(&mut self, sql: &str, params: &[&str]) -> Result<Vec<Vec<SqlValue>>, WarehouseError> {
        let mut statement = self.connection.prepare(sql)?;
        let width = statement.column_count();
        let rows = statement.query_map(params_from_iter(params.iter()), |row| {
            (0..width)
                .map(|i| {
                    Ok(match row.get::<_, SqliteValue>(i)? {
                        SqliteValue::Null => SqlValue::Null,
                        SqliteValue::Integer(v) => SqlValue::Int(v),
                        SqliteValue::Real(v) => SqlValue::Float(v),
                        SqliteValue::Text(v) => SqlValue::Text(v),
                        SqliteValue::Blob(v) => SqlValue::Text(text::hex(&v)),
                    })
                })
                .collect::<Result<Vec<_>, rusqlite::Error>>()
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    // SQLite's own write lock, taken at once (`IMMEDIATE`) for the preparing transaction.
    fn lock_schema(&mut self) -> Result<(), WarehouseError> {
        self.connection.execute_batch("BEGIN IMMEDIATE")?;
        Ok(())
    }

    fn unlock_schema(&mut self) -> Result<(), WarehouseError> {
        self.connection.execute_batch("COMMIT")?;
        Ok(())
    }
}
