//! Client-side aggregation of counters.
//!
//! Every tag combination of an event is known at compile time, so counting one publish is
//! one atomic add into a dense table per event type, at the index
//! `Event::tag_combination()`. The dispatcher turns each non-zero cell into one DogStatsD
//! line (`name:N|c|#tags`) every flush interval and at shutdown, so the agent receives the
//! exact totals in a handful of datagrams instead of one line per event.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use crate::statsd_line::LineFormat;
use crate::Event;

/// The counts of one event type, one cell per tag combination.
struct CounterTable {
    counts: Box<[AtomicU64]>,
    write_line: fn(&LineFormat, usize, u64, &mut String),
}

/// Every event type's table, created on the type's first publish.
#[derive(Default)]
pub(crate) struct CounterTables {
    tables: RwLock<HashMap<TypeId, Arc<CounterTable>>>,
}

impl CounterTables {
    /// Counts one publish of `event`.
    pub fn increment<E: Event>(&self, event: &E) {
        let cell = event.tag_combination();
        let tables = self.tables.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(table) = tables.get(&TypeId::of::<E>()) {
            table.counts[cell].fetch_add(1, Ordering::Relaxed);
            return;
        }
        drop(tables);
        let mut tables = self.tables.write().unwrap_or_else(PoisonError::into_inner);
        let table = tables.entry(TypeId::of::<E>()).or_insert_with(|| {
            Arc::new(CounterTable {
                counts: (0..E::TAG_COMBINATIONS)
                    .map(|_| AtomicU64::new(0))
                    .collect(),
                write_line: |format, cell, count, out| {
                    format.write_aggregated_counter::<E>(cell, count, out)
                },
            })
        });
        table.counts[cell].fetch_add(1, Ordering::Relaxed);
    }

    /// Takes every non-zero count (leaving zero) and hands each as a line to `emit`.
    /// Returns how many events the lines add up to.
    pub fn drain(&self, format: &LineFormat, line: &mut String, mut emit: impl FnMut(&str)) -> u64 {
        let tables: Vec<Arc<CounterTable>> = self
            .tables
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        let mut total = 0;
        for table in tables {
            for (cell, count) in table.counts.iter().enumerate() {
                // A relaxed load first: most cells are zero, and a swap would dirty them.
                if count.load(Ordering::Relaxed) == 0 {
                    continue;
                }
                let n = count.swap(0, Ordering::AcqRel);
                if n == 0 {
                    continue;
                }
                total += n;
                line.clear();
                (table.write_line)(format, cell, n, line);
                emit(line);
            }
        }
        total
    }
}
