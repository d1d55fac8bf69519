//! Written rows kept for the reading thread to fill again.
//!
//! Freeing each written batch would cost the reading thread a free per text cell, on
//! blocks gone cold in the writer, and a malloc per text cell again for the next batch.
//! A row of the same table has the same cells in the same order, so a written row is
//! filled in place instead: a text cell's buffer takes the next record's text, and
//! allocates only if that one is longer.

use super::reader::EventTable;
use crate::backend::Batch;
use crate::row::Row;

/// Rows handed back by the writer, by table, ready to be filled again.
pub(super) struct SpareRows {
    by_table: Vec<Vec<Row>>,
    kept: usize,
    /// At most this many rows are kept, over all tables: what the batches in flight
    /// hold, as the writer hands them back together when it catches up.
    limit: usize,
}

impl SpareRows {
    pub(super) fn new(tables: usize, limit: usize) -> Self {
        SpareRows {
            by_table: vec![Vec::new(); tables],
            kept: 0,
            limit,
        }
    }

    /// A row to fill for `table`: a written one if there is one.
    pub(super) fn take(&mut self, table: usize) -> Row {
        match self.by_table[table].pop() {
            Some(row) => {
                self.kept -= 1;
                row
            }
            None => Row::new(),
        }
    }

    /// Keeps a row that was taken but not used (its record became a reject).
    pub(super) fn put_back(&mut self, table: usize, row: Row) {
        if self.kept < self.limit {
            self.by_table[table].push(row);
            self.kept += 1;
        }
    }

    /// Keeps a written batch's rows, up to the limit; the rest are freed here. `events`
    /// are the loader's tables, whose indexes [`SpareRows::take`] is given.
    pub(super) fn keep(&mut self, events: &[EventTable], batch: Batch<'_>) {
        for (table, rows) in batch.tables {
            let Some(index) = events.iter().position(|e| std::ptr::eq(&e.table, table)) else {
                continue;
            };
            let room = self.limit - self.kept;
            let spare = &mut self.by_table[index];
            let kept = rows.len().min(room);
            spare.extend(rows.into_iter().take(kept));
            self.kept += kept;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SpareRows;
    use crate::row::Cell;

    #[test]
    fn rows_are_kept_up_to_the_limit_over_all_tables() {
        let mut spare = SpareRows::new(2, 3);
        spare.put_back(0, vec![Cell::Int(1)]);
        spare.put_back(1, vec![Cell::Int(2)]);
        spare.put_back(1, vec![Cell::Int(3)]);
        spare.put_back(0, vec![Cell::Int(4)]);
        assert_eq!(spare.take(1), vec![Cell::Int(3)]);
        assert_eq!(spare.take(1), vec![Cell::Int(2)]);
        assert_eq!(spare.take(1), Vec::new(), "table 1 has none left");
        assert_eq!(
            spare.take(0),
            vec![Cell::Int(1)],
            "the fourth row was not kept"
        );
        assert_eq!(spare.take(0), Vec::new());
    }
}
