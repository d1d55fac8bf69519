//! PostgreSQL, the real server. A batch's tables are shared out over a few connections
//! that write at the same time, each in one transaction, streamed with binary `COPY` (the
//! fastest way in: no value is parsed from text) straight into each table. If that breaks
//! the event-id key (a batch replayed after a crash), that table's rows go through a
//! temporary staging table and `INSERT ... SELECT ... ON CONFLICT (event_id) DO NOTHING`
//! instead, so replays are idempotent without making every batch pay for it, and a batch
//! replayed after only some of its connections committed adds just the rows that were lost.

use std::collections::HashSet;
use std::io::Write as _;

use postgres::error::SqlState;
use postgres::types::Type;
use postgres::{Client, NoTls, Transaction};

mod binary_copy;

use super::{Backend, Batch, Reject, SqlValue, Written, DEFINITIONS_TABLE, REJECTS_TABLE};
use crate::error::WarehouseError;
use crate::row::{Cell, Row};
use crate::table::{quoted, ColumnKind, Table};

/// A PostgreSQL database, written to over [`Postgres::DEFAULT_WRITE_CONNECTIONS`] connections
/// unless [`Postgres::write_connections`] says otherwise.
pub struct Postgres {
    /// Schema work and queries, and the first share of each batch.
    main: Connection,
    /// The other connections, each writing its share of a batch's tables at the same time.
    more: Vec<Connection>,
    params: String,
}

/// One session and what belongs to it.
struct Connection {
    client: Client,
    /// Staging tables created in this session (they are temporary: one per session).
    staged: HashSet<String>,
    copy_buffer: Vec<u8>,
}

/// The advisory lock key under which the bookkeeping tables are created ("mdev" in ASCII).
const BOOKKEEPING_LOCK: i64 = 0x6d64_6576;
/// The advisory lock key under which a loader prepares its event tables ("mdevtabl").
const SCHEMA_LOCK: i64 = 0x6d64_6576_7461_626c;

impl Postgres {
    /// How many connections write a batch at once by default. One backend process parses
    /// one `COPY` at a time; a second lets the server use a second core while the loader's
    /// own threads leave it one (`BENCHMARKS.md`, row 8).
    pub const DEFAULT_WRITE_CONNECTIONS: usize = 2;

    /// Connects with a libpq-style URL or key=value string, e.g.
    /// `postgresql://loader@127.0.0.1:5432/events`.
    pub fn connect(params: &str) -> Result<Self, WarehouseError> {
        let mut main = Connection::open(params)?;
        // Concurrent `CREATE TABLE IF NOT EXISTS` races in PostgreSQL's catalog (a duplicate
        // key in `pg_type`): instances connecting at once take turns under an advisory lock,
        // held until the creating transaction ends.
        main.client.batch_execute(&format!(
            "BEGIN; SELECT pg_advisory_xact_lock({BOOKKEEPING_LOCK}); {} COMMIT;",
            super::bookkeeping_tables("BIGINT", "BYTEA")
        ))?;
        Postgres {
            main,
            more: Vec::new(),
            params: params.to_owned(),
        }
        .write_connections(Self::DEFAULT_WRITE_CONNECTIONS)
    }

    /// Writes each batch over `connections` sessions at once (at least one), each
    /// committing its share of the batch's tables in a transaction of its own. More help
    /// while the server has idle cores and the batch has as many tables.
    pub fn write_connections(mut self, connections: usize) -> Result<Self, WarehouseError> {
        let more = connections.max(1) - 1;
        self.more.truncate(more);
        while self.more.len() < more {
            self.more.push(Connection::open(&self.params)?);
        }
        Ok(self)
    }

    /// The client, for queries of your own.
    pub fn client(&mut self) -> &mut Client {
        &mut self.main.client
    }
}

impl Connection {
    fn open(params: &str) -> Result<Self, WarehouseError> {
        let mut client = Client::connect(params, NoTls)?;
        // Timestamps read back as text are then UTC, as SQLite's stored text is, so the
        // same query text gives the same minutes and days on both.
        client.batch_execute("SET TIME ZONE 'UTC'")?;
        Ok(Connection {
            client,
            staged: HashSet::new(),
            copy_buffer: Vec::new(),
        })
    }

    /// Writes these tables' rows and these rejects in one transaction of this session.
    ///
    /// Two loaders write the same rows at once after a rebalance: the loader that lost a
    /// partition still writes its batch in flight while the new owner writes the same
    /// records, read again from the last committed offset. A transaction inserting a key
    /// that another has inserted but not committed waits for it, so two that took the same
    /// keys in different orders would each wait on the other. Every connection therefore
    /// takes its keys in one order: tables by name (the caller's), rows by event id,
    /// rejects by place. Then the one that waits holds no key the other still needs.
    fn write<'t, 'a: 't>(
        &mut self,
        tables: impl Iterator<Item = &'t (&'a Table, Vec<Row>)>,
        rejects: &[Reject],
    ) -> Result<Written, WarehouseError> {
        let mut written = Written::default();
        let mut rejects = rejects.to_vec();
        let mut staged_now = Vec::new();
        let mut transaction = self.client.transaction()?;
        for (table, rows) in tables {
            let stage = quoted(&format!("stage_{}", table.name));
            let columns = table
                .column_names()
                .map(quoted)
                .collect::<Vec<_>>()
                .join(", ");
            let kinds: Vec<ColumnKind> = table.columns.iter().map(|c| c.kind).collect();
            let rows = &in_event_id_order(table, rows);
            let buffer = &mut self.copy_buffer;
            // Fast path: COPY straight into the table. Only a replay (after a crash) or a
            // duplicate record breaks the primary key; then this table's rows of the batch
            // go through staging instead, where rows already present are skipped.
            // Rows that cannot be stored are rejected by the attempt that completes.
            let mut unstored = Vec::new();
            let direct = {
                let mut savepoint = transaction.savepoint("direct_copy")?;
                let copied = copy_rows(
                    &mut savepoint,
                    &quoted(&table.name),
                    &columns,
                    &kinds,
                    rows,
                    buffer,
                    |row, reason| unstored.push(reject_of(table, row, reason)),
                );
                match copied {
                    Ok(copied) => {
                        savepoint.commit()?;
                        Some(copied)
                    }
                    Err(error) if error.code() == Some(&SqlState::UNIQUE_VIOLATION) => None,
                    Err(error) => return Err(error.into()),
                }
            };
            if let Some(copied) = direct {
                written.inserted += copied;
                rejects.append(&mut unstored);
                continue;
            }
            if !self.staged.contains(&table.name) {
                transaction.batch_execute(&format!(
                    "CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {}) ON COMMIT DELETE ROWS",
                    quoted(&table.name)
                ))?;
                staged_now.push(table.name.clone());
            }
            let staged = copy_rows(
                &mut transaction,
                &stage,
                &columns,
                &kinds,
                rows,
                &mut self.copy_buffer,
                |row, reason| rejects.push(reject_of(table, row, reason)),
            )?;
            let inserted = transaction.execute(
                &format!(
                    "INSERT INTO {} ({columns}) SELECT {columns} FROM {stage} ORDER BY event_id ON CONFLICT (event_id) DO NOTHING",
                    quoted(&table.name)
                ),
                &[],
            )?;
            written.inserted += inserted;
            written.duplicates += staged - inserted;
        }
        rejects.sort_by(|a, b| {
            (&a.topic, a.partition, a.offset).cmp(&(&b.topic, b.partition, b.offset))
        });
        for reject in &rejects {
            transaction.execute(
                &format!(
                    "INSERT INTO {REJECTS_TABLE} (topic, kafka_partition, kafka_offset, reason, payload)
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING"
                ),
                &[&reject.topic, &reject.partition, &reject.offset, &reject.reason, &reject.payload],
            )?;
            written.rejected += 1;
        }
        transaction.commit()?;
        self.staged.extend(staged_now);
        Ok(written)
    }

    /// Drops the staging tables of this session, to be made again with a changed table's
    /// columns.
    fn forget_staging(&mut self) -> Result<(), WarehouseError> {
        for table in self.staged.drain() {
            self.client.batch_execute(&format!(
                "DROP TABLE IF EXISTS pg_temp.{}",
                quoted(&format!("stage_{table}"))
            ))?;
        }
        Ok(())
    }
}

/// A table's rows in the order every connection inserts them: by event id.
fn in_event_id_order<'r>(table: &Table, rows: &'r [Row]) -> Vec<&'r Row> {
    let mut sorted: Vec<&Row> = rows.iter().collect();
    if let Some(at) = table.columns.iter().position(|c| c.name == "event_id") {
        sorted.sort_by_key(|row| match row.get(at) {
            Some(Cell::Uuid(id)) => *id,
            _ => [0; 16],
        });
    }
    sorted
}

/// Which connection writes which tables: the largest first, each to the connection with the
/// least so far, counting a table's cells. Indexes into the batch's tables, per connection.
fn share_out(tables: &[(&Table, Vec<Row>)], connections: usize) -> Vec<Vec<usize>> {
    let cells = |i: usize| tables[i].1.len() * tables[i].0.columns.len();
    let mut largest_first: Vec<usize> = (0..tables.len()).filter(|&i| cells(i) > 0).collect();
    largest_first.sort_by_key(|&i| std::cmp::Reverse(cells(i)));
    let mut shares = vec![(0usize, Vec::new()); connections];
    for i in largest_first {
        let least = shares
            .iter_mut()
            .min_by_key(|(load, _)| *load)
            .expect("at least one connection");
        least.0 += cells(i);
        least.1.push(i);
    }
    shares.into_iter().map(|(_, share)| share).collect()
}

/// How much encoded data is handed to the server at a time: it parses one chunk while the
/// next is encoded, and neither side waits for a whole table's rows.
const COPY_CHUNK: usize = 64 * 1024;

/// Streams a binary `COPY ... FROM STDIN` of the rows that can be stored, encoding them a
/// chunk at a time into `buffer`; the rows copied. Each row that cannot be stored is
/// handed to `unstored` instead.
fn copy_rows(
    transaction: &mut Transaction<'_>,
    table: &str,
    columns: &str,
    kinds: &[ColumnKind],
    rows: &[&Row],
    buffer: &mut Vec<u8>,
    mut unstored: impl FnMut(&Row, &'static str),
) -> Result<u64, postgres::Error> {
    let mut copy = transaction.copy_in(&format!(
        "COPY {table} ({columns}) FROM STDIN (FORMAT binary)"
    ))?;
    buffer.clear();
    binary_copy::header(buffer);
    for row in rows {
        // Rows from the loader were checked while their payload was at hand (see
        // `Backend::unstorable`); a row given here directly has none to keep.
        if let Some(reason) = unstorable(row) {
            unstored(row, reason);
            continue;
        }
        binary_copy::row(buffer, kinds, row);
        if buffer.len() >= COPY_CHUNK {
            // A failed write means the server ended the COPY: `finish` returns its reason.
            if copy.write_all(buffer).is_err() {
                return copy.finish();
            }
            buffer.clear();
        }
    }
    binary_copy::trailer(buffer);
    if copy.write_all(buffer).is_err() {
        return copy.finish();
    }
    copy.finish()
}

/// The reject of a row given to the backend directly that it cannot store: its record is
/// known by its columns, and it has no payload to keep.
fn reject_of(table: &Table, row: &Row, reason: &'static str) -> Reject {
    let at = |name: &str| {
        table
            .column_names()
            .position(|c| c == name)
            .and_then(|i| match row[i] {
                Cell::Int(v) => Some(v),
                _ => None,
            })
            .unwrap_or(-1)
    };
    Reject {
        topic: table.topic.to_owned(),
        partition: at("kafka_partition") as i32,
        offset: at("kafka_offset"),
        reason: reason.into(),
        payload: Vec::new(),
    }
}

/// PostgreSQL text cannot hold NUL; such a row is rejected rather than failing the batch.
fn unstorable(row: &[Cell]) -> Option<&'static str> {
    row.iter()
        // A plain byte loop: most texts are a few bytes long, where setting up a memchr
        // costs more than the search (it was a tenth of the loader's time in a profile).
        .any(|cell| matches!(cell, Cell::Text(v) | Cell::Json(v) if v.bytes().any(|b| b == 0)))
        .then_some("a text field holds a NUL character, which PostgreSQL text cannot store")
}

impl Backend for Postgres {
    fn sql_type(&self, kind: ColumnKind) -> &'static str {
        match kind {
            ColumnKind::Bool => "BOOLEAN",
            ColumnKind::Int => "BIGINT",
            ColumnKind::UInt => "NUMERIC(20, 0)",
            ColumnKind::Float => "DOUBLE PRECISION",
            ColumnKind::Text | ColumnKind::Tag => "TEXT",
            ColumnKind::Bytes => "BYTEA",
            ColumnKind::Timestamp => "TIMESTAMPTZ",
            ColumnKind::Duration => "INTERVAL",
            ColumnKind::Json => "JSONB",
            ColumnKind::EventId | ColumnKind::Uuid => "UUID",
            ColumnKind::Decimal => "NUMERIC",
        }
    }

    fn execute(&mut self, sql: &str) -> Result<(), WarehouseError> {
        self.main.client.batch_execute(sql)?;
        // A staging table copies its table's columns when created: after a change to a
        // table (a new column), it is dropped to be created again with them.
        self.main.forget_staging()?;
        for connection in &mut self.more {
            connection.forget_staging()?;
        }
        Ok(())
    }

    fn stored_definition(&mut self, message: &str) -> Result<Option<String>, WarehouseError> {
        let row = self.main.client.query_opt(
            &format!("SELECT proto FROM {DEFINITIONS_TABLE} WHERE message = $1"),
            &[&message],
        )?;
        Ok(row.map(|row| row.get(0)))
    }

    fn store_definition(&mut self, table: &Table) -> Result<(), WarehouseError> {
        self.main.client.execute(
            &format!(
                "INSERT INTO {DEFINITIONS_TABLE} (message, table_name, proto) VALUES ($1, $2, $3)
                 ON CONFLICT (message) DO UPDATE SET table_name = excluded.table_name, proto = excluded.proto"
            ),
            &[&table.message, &table.name, &table.proto],
        )?;
        Ok(())
    }

    fn existing_columns(&mut self, table: &str) -> Result<Vec<String>, WarehouseError> {
        let rows = self.main.client.query(
            "SELECT column_name::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
            &[&table],
        )?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    /// Each connection commits its share in its own transaction, and this returns `Ok`
    /// once all have. After a crash between two of those commits the batch's offsets are
    /// not committed, so it is read again, and the event-id key skips the rows that were.
    fn write(&mut self, batch: &Batch<'_>) -> Result<Written, WarehouseError> {
        let shares = share_out(&batch.tables, 1 + self.more.len());
        // By name: every connection takes its tables' keys in one order.
        let tables_of = |share: &[usize]| {
            let mut tables: Vec<_> = share.iter().map(|&i| &batch.tables[i]).collect();
            tables.sort_by_key(|(table, _)| &table.name);
            tables
        };
        let (first, rest) = shares.split_first().expect("at least one share");
        if rest.iter().all(Vec::is_empty) {
            return self
                .main
                .write(tables_of(first).into_iter(), &batch.rejects);
        }
        std::thread::scope(|scope| {
            let others: Vec<_> = self
                .more
                .iter_mut()
                .zip(rest)
                .filter(|(_, share)| !share.is_empty())
                .map(|(connection, share)| {
                    let tables = tables_of(share);
                    scope.spawn(move || connection.write(tables.into_iter(), &[]))
                })
                .collect();
            // The rejects go with the first share, written on this thread meanwhile.
            let mut results = vec![self
                .main
                .write(tables_of(first).into_iter(), &batch.rejects)];
            for other in others {
                results.push(
                    other
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                );
            }
            results
                .into_iter()
                .try_fold(Written::default(), |total, written| {
                    let written = written?;
                    Ok(Written {
                        inserted: total.inserted + written.inserted,
                        duplicates: total.duplicates + written.duplicates,
                        rejected: total.rejected + written.rejected,
                    })
                })
        })
    }

    fn unstorable(&self) -> fn(&[Cell]) -> Option<&'static str> {
        unstorable
    }

    // A session-level lock: the statements that prepare the tables stay in their own
    // transactions, and a loader that dies while holding it releases it with its connection.
    fn lock_schema(&mut self) -> Result<(), WarehouseError> {
        self.main
            .client
            .batch_execute(&format!("SELECT pg_advisory_lock({SCHEMA_LOCK})"))?;
        Ok(())
    }

    fn unlock_schema(&mut self) -> Result<(), WarehouseError> {
        self.main
            .client
            .batch_execute(&format!("SELECT pg_advisory_unlock({SCHEMA_LOCK})"))?;
        Ok(())
    }

    fn query(&mut self, sql: &str, params: &[&str]) -> Result<Vec<Vec<SqlValue>>, WarehouseError> {
        let params: Vec<&(dyn postgres::types::ToSql + Sync)> = params
            .iter()
            .map(|p| p as &(dyn postgres::types::ToSql + Sync))
            .collect();
        let rows = self.main.client.query(sql, &params)?;
        rows.iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| {
                        let ty = row.columns()[i].type_();
                        Ok(if *ty == Type::INT8 {
                            row.get::<_, Option<i64>>(i).map_or(SqlValue::Null, SqlValue::Int)
                        } else if *ty == Type::INT4 {
                            row.get::<_, Option<i32>>(i)
                                .map_or(SqlValue::Null, |v| SqlValue::Int(i64::from(v)))
                        } else if *ty == Type::FLOAT8 {
                            row.get::<_, Option<f64>>(i).map_or(SqlValue::Null, SqlValue::Float)
                        } else if *ty == Type::TEXT || *ty == Type::VARCHAR {
                            row.get::<_, Option<String>>(i).map_or(SqlValue::Null, SqlValue::Text)
                        } else {
                            return Err(WarehouseError::Database {
                                message: format!(
                                    "query column {} is {ty}; cast it to bigint, double precision or text",
                                    row.columns()[i].name()
                                ),
                                source: None,
                            });
                        })
                    })
                    .collect()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::share_out;
    use crate::row::{Cell, Row};
    use crate::table::{Column, ColumnKind, Table};

    fn table(columns: usize) -> Table {
        Table {
            name: format!("t{columns}"),
            event: "t",
            message: "T",
            topic: "t",
            proto: String::new(),
            columns: (0..columns)
                .map(|i| Column {
                    name: format!("c{i}"),
                    kind: ColumnKind::Int,
                    nullable: false,
                })
                .collect(),
        }
    }

    #[test]
    fn every_table_with_rows_is_written_by_one_connection_and_the_shares_are_balanced() {
        let (wide, narrow) = (table(10), table(2));
        let rows = |n: usize, columns: usize| -> Vec<Row> { vec![vec![Cell::Int(0); columns]; n] };
        // Cells: 1000, 600, 400, 200, 0.
        let tables = vec![
            (&narrow, rows(100, 2)),
            (&wide, rows(100, 10)),
            (&wide, rows(0, 10)),
            (&wide, rows(60, 10)),
            (&wide, rows(40, 10)),
        ];
        let shares = share_out(&tables, 2);
        assert_eq!(shares, vec![vec![1, 0], vec![3, 4]]);
        let one = share_out(&tables, 1);
        assert_eq!(one, vec![vec![1, 3, 4, 0]]);
        // More connections than tables: the rest have nothing to write.
        let many = share_out(&tables, 6);
        assert_eq!(many.iter().filter(|s| !s.is_empty()).count(), 4);
    }
}
