//! A started loader: one batch at a time, or pipelined with a writer thread.

use super::reader::{Collected, Reader};
use super::LoadStats;
use crate::backend::{Backend, Batch, Written};
use crate::error::WarehouseError;
use crate::table::Table;

/// A loader in its consumer group. Call [`RunningLoader::load_batch`] in a loop, or
/// [`RunningLoader::run`], which overlaps reading the next batch with writing this one.
pub struct RunningLoader<B: Backend> {
    reader: Reader,
    backend: B,
    stats: LoadStats,
}

impl<B: Backend> RunningLoader<B> {
    pub(super) fn new(reader: Reader, backend: B) -> Self {
        RunningLoader {
            reader,
            backend,
            stats: LoadStats::default(),
        }
    }

    /// Consumes up to one batch, writes it in one transaction, then commits its offsets.
    /// Waits up to the linger time for a first record; returns an empty result if none came.
    pub fn load_batch(&mut self) -> Result<Written, WarehouseError> {
        let linger = self.reader.config.batch_linger;
        let Some(mut collected) = self.reader.collect(linger)? else {
            return Ok(Written::default());
        };
        let written = self.backend.write(&self.reader.batch(&mut collected))?;
        let committed = self.reader.commit(&collected)?;
        self.stats.add(&collected, written, committed);
        Ok(written)
    }

    /// Loads batches until `stop` says so (it sees the totals before each batch).
    ///
    /// Reading and writing overlap: while one batch is written (on a thread of its own),
    /// the next is read and decoded, so the database and the decoding use a core each.
    /// At most one batch is in flight, and a batch's offsets are committed only after its
    /// write returned: the guarantees of [`RunningLoader::load_batch`] hold.
    pub fn run(
        &mut self,
        mut stop: impl FnMut(&LoadStats) -> bool,
    ) -> Result<LoadStats, WarehouseError> {
        let RunningLoader {
            reader,
            backend,
            stats,
        } = self;
        let reader: &Reader = reader;
        std::thread::scope(|scope| {
            let (to_writer, batches) = std::sync::mpsc::sync_channel::<Batch<'_>>(0);
            let (to_reader, results) = std::sync::mpsc::sync_channel(0);
            let writer = scope.spawn(move || {
                for batch in batches {
                    let result = backend.write(&batch);
                    let failed = result.is_err();
                    if to_reader.send(result).is_err() || failed {
                        break;
                    }
                }
            });
            let writer_gone = || WarehouseError::Database {
                message: "the writer thread stopped".into(),
                source: None,
            };
            let mut in_flight: Option<Collected> = None;
            let outcome = loop {
                let stopping = stop(stats);
                if stopping && in_flight.is_none() {
                    break Ok(*stats);
                }
                // With a batch in flight, a quiet topic is not waited on for long: the
                // batch's offsets are committed as soon as its write is done.
                let first_wait = match in_flight {
                    Some(_) => reader.config.batch_idle,
                    None => reader.config.batch_linger,
                };
                let next = if stopping {
                    None
                } else {
                    match reader.collect(first_wait) {
                        Ok(next) => next,
                        Err(error) => break Err(error),
                    }
                };
                // The previous batch's write must be done before the next one starts
                // (one in flight) and before its offsets are committed.
                let done = match in_flight.take() {
                    Some(done) => match results.recv() {
                        Ok(Ok(written)) => Some((done, written)),
                        Ok(Err(error)) => break Err(error),
                        Err(_) => break Err(writer_gone()),
                    },
                    None => None,
                };
                // Hand the next batch over first, so the database works during the commit.
                if let Some(mut collected) = next {
                    if to_writer.send(reader.batch(&mut collected)).is_err() {
                        break Err(writer_gone());
                    }
                    in_flight = Some(collected);
                }
                if let Some((done, written)) = done {
                    match reader.commit(&done) {
                        Ok(committed) => stats.add(&done, written, committed),
                        Err(error) => break Err(error),
                    }
                }
            };
            // Ends the writer's loop; a batch still in flight is not committed, so it is
            // read again after a restart.
            drop(to_writer);
            drop(results);
            writer.join().expect("the writer thread does not panic");
            outcome
        })
    }

    /// Totals since the loader started.
    pub fn stats(&self) -> LoadStats {
        self.stats
    }

    /// The backend, to query what was loaded.
    pub fn backend(&mut self) -> &mut B {
        &mut self.backend
    }

    /// The tables this loader writes.
    pub fn tables(&self) -> impl Iterator<Item = &Table> {
        self.reader.events.iter().map(|e| &e.table)
    }
}
