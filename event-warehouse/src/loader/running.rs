//! A started loader: one batch at a time, or pipelined with a writer thread.

use std::collections::VecDeque;
use std::sync::mpsc::TryRecvError;
use std::time::{Duration, Instant};

use super::reader::{Collected, Reader};
use super::spare::SpareRows;
use super::LoadStats;
use crate::backend::{Backend, Batch, Written};
use crate::error::WarehouseError;
use crate::table::Table;

/// How many batches [`RunningLoader::run`] hands to its writer before it waits for the
/// oldest to be written. With the batch being read, that many and one are in memory, and
/// as many written batches' rows again are kept for the next batches to fill.
const IN_FLIGHT: usize = 2;

/// A batch handed to [`RunningLoader::run`]'s writer, with the offsets it commits after it.
struct Handed<'a> {
    batch: Batch<'a>,
    next_offsets: Vec<(String, i32, i64)>,
}

/// Where the writer's time went for one batch.
struct WriterTime {
    waiting: Duration,
    writing: Duration,
    committing: Duration,
}

/// A loader in its consumer group. Call [`RunningLoader::load_batch`] in a loop, or
/// [`RunningLoader::run`], which overlaps reading the next batch with writing this one.
pub struct RunningLoader<B: Backend> {
    reader: Reader,
    backend: B,
    stats: LoadStats,
    /// Written rows, filled again by the next batches.
    spare: SpareRows,
}

impl<B: Backend> RunningLoader<B> {
    pub(super) fn new(reader: Reader, backend: B) -> Self {
        let spare = SpareRows::new(reader.events.len(), IN_FLIGHT * reader.config.batch_size);
        RunningLoader {
            reader,
            backend,
            stats: LoadStats::default(),
            spare,
        }
    }

    /// Consumes up to one batch, writes it, then commits its offsets.
    /// Waits up to the linger time for a first record; returns an empty result if none came.
    pub fn load_batch(&mut self) -> Result<Written, WarehouseError> {
        let linger = self.reader.config.batch_linger;
        let started = Instant::now();
        let collected = self.reader.collect(linger, &mut self.spare);
        self.stats.time.reading += started.elapsed();
        let Some(mut collected) = collected? else {
            return Ok(Written::default());
        };
        let started = Instant::now();
        let batch = self.reader.batch(&mut collected);
        let written = self.backend.write(&batch);
        self.stats.time.writing += started.elapsed();
        self.spare.keep(&self.reader.events, batch);
        // Offsets move only past a batch that was written.
        let written = written?;
        let started = Instant::now();
        let committed = self.reader.commit(&collected.next_offsets);
        self.stats.time.committing += started.elapsed();
        self.stats.add(&collected, written, committed?);
        Ok(written)
    }

    /// Loads batches until `stop` says so (it sees the totals before each batch).
    ///
    /// Reading and writing overlap: batches are written on a thread of their own while the
    /// next are read and decoded, so the database and the decoding use a core each. Up to
    /// two batches are handed to the writer before the oldest must be written,
    /// so that neither side waits on the other when one batch takes longer than the next.
    /// The writer commits each batch's offsets after its write returned, in order: the
    /// guarantees of [`RunningLoader::load_batch`] hold, and the broker's answer to a
    /// commit is waited for by the writer, not by the reading that sets the pace.
    pub fn run(
        &mut self,
        mut stop: impl FnMut(&LoadStats) -> bool,
    ) -> Result<LoadStats, WarehouseError> {
        let RunningLoader {
            reader,
            backend,
            stats,
            spare,
        } = self;
        let reader: &Reader = reader;
        std::thread::scope(|scope| {
            // The writer holds one batch and the channel one more: IN_FLIGHT in all.
            let (to_writer, batches) = std::sync::mpsc::sync_channel::<Handed<'_>>(IN_FLIGHT - 1);
            let (to_reader, results) = std::sync::mpsc::channel();
            let writer = scope.spawn(move || {
                let mut idle_since = Instant::now();
                for Handed {
                    batch,
                    next_offsets,
                } in batches
                {
                    let started = Instant::now();
                    let result = backend.write(&batch);
                    let wrote = Instant::now();
                    // Offsets move only past a batch that was written. Committed here, the
                    // broker's round trip holds up the writer, which would wait for the
                    // next batch anyway, and not the thread reading it.
                    let result =
                        result.and_then(|written| Ok((written, reader.commit(&next_offsets)?)));
                    let time = WriterTime {
                        waiting: started - idle_since,
                        writing: wrote - started,
                        committing: wrote.elapsed(),
                    };
                    idle_since = Instant::now();
                    let result = result.map(|written| (written, time));
                    let failed = result.is_err();
                    // The rows go back to the reading thread, which fills them again.
                    if to_reader.send((result, batch)).is_err() || failed {
                        break;
                    }
                }
            });
            let writer_gone = || WarehouseError::Database {
                message: "the writer thread stopped".into(),
                source: None,
            };
            // Handed to the writer, oldest first; the writer answers in the same order.
            let mut in_flight: VecDeque<Collected> = VecDeque::with_capacity(IN_FLIGHT);
            let outcome = 'load: loop {
                let stopping = stop(stats);
                if stopping && in_flight.is_empty() {
                    break Ok(*stats);
                }
                // With batches in flight, a quiet topic is not waited on for long: their
                // offsets are committed as soon as their writes are done.
                let first_wait = match in_flight.is_empty() {
                    true => reader.config.batch_linger,
                    false => reader.config.batch_idle,
                };
                let next = if stopping {
                    None
                } else {
                    let started = Instant::now();
                    let next = reader.collect(first_wait, spare);
                    stats.time.reading += started.elapsed();
                    match next {
                        Ok(next) => next,
                        Err(error) => break Err(error),
                    }
                };
                // The oldest write must be done before another batch is handed over when
                // the pipeline is full, and when nothing came (its offsets are due).
                let mut must_wait =
                    !in_flight.is_empty() && (in_flight.len() == IN_FLIGHT || next.is_none());
                let mut done = Vec::new();
                while !in_flight.is_empty() {
                    let result = if must_wait {
                        let started = Instant::now();
                        let result = results.recv().map_err(|_| writer_gone());
                        stats.time.waiting_for_writer += started.elapsed();
                        result
                    } else {
                        match results.try_recv() {
                            Ok(result) => Ok(result),
                            Err(TryRecvError::Empty) => break,
                            Err(TryRecvError::Disconnected) => Err(writer_gone()),
                        }
                    };
                    must_wait = false;
                    match result.and_then(|(written, rows)| written.map(|w| (w, rows))) {
                        Ok((((written, committed), time), rows)) => {
                            stats.time.waiting_for_reader += time.waiting;
                            stats.time.writing += time.writing;
                            stats.time.committing += time.committing;
                            let collected = in_flight.pop_front().expect("in flight");
                            stats.add(&collected, written, committed);
                            done.push(rows);
                        }
                        Err(error) => break 'load Err(error),
                    }
                }
                if let Some(mut collected) = next {
                    let handed = Handed {
                        batch: reader.batch(&mut collected),
                        next_offsets: collected.next_offsets.clone(),
                    };
                    if to_writer.send(handed).is_err() {
                        break Err(writer_gone());
                    }
                    in_flight.push_back(collected);
                }
                // Kept once the next batch is with the writer, so the writer is not kept
                // waiting while the rows are sorted into the spares.
                for rows in done {
                    spare.keep(&reader.events, rows);
                }
            };
            // Ends the writer's loop; batches still in flight are not committed, so they
            // are read again after a restart.
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
