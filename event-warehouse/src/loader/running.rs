//! A started loader: one batch at a time, or pipelined with writer and committer threads.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::TryRecvError;
use std::time::{Duration, Instant};

use super::reader::{Collected, Reader};
use super::spare::SpareRows;
use super::LoadStats;
use crate::backend::{Backend, Batch, Written};
use crate::error::WarehouseError;
use crate::table::Table;

/// How many batches [`RunningLoader::run`] hands on before it waits for the oldest to be
/// written and committed. With the batch being read, that many and one are in memory, and
/// as many written batches' rows again are kept for the next batches to fill.
const IN_FLIGHT: usize = 2;

/// A batch handed to [`RunningLoader::run`]'s writer, with the offsets it commits after it.
struct Handed<'a> {
    batch: Batch<'a>,
    next_offsets: Vec<(String, i32, i64)>,
}

/// A batch the writer wrote (or failed to), on its way to the committer.
struct WrittenBatch<'a> {
    result: Result<Written, WarehouseError>,
    /// How long the writer waited for the batch.
    waiting: Duration,
    writing: Duration,
    next_offsets: Vec<(String, i32, i64)>,
    batch: Batch<'a>,
}

/// Where the writer's and the committer's time went for one batch.
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
        let collected = self.reader.collect(linger, None, &mut self.spare);
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
    /// Three stages overlap, each on its own thread: this one reads and decodes the next
    /// batch, a writer writes the one before, and a committer commits the offsets of the
    /// one before that, once its write has returned. So the database and the decoding use
    /// a core each, and the broker's answer to a commit holds up neither. Up to two
    /// batches are handed on before the oldest must be back, so that neither side waits on
    /// the other when one batch takes longer than the next. Offsets are committed in
    /// order and only past written batches: the guarantees of
    /// [`RunningLoader::load_batch`] hold.
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
        // Batches the committer has sent back: while a written batch is awaited, the wait
        // for new records ends as soon as one is.
        let returned = AtomicUsize::new(0);
        let returned = &returned;
        std::thread::scope(|scope| {
            // The channel holds one batch and the writer or the committer another:
            // IN_FLIGHT in all, which is as many as the reading side hands on.
            let (to_writer, batches) = std::sync::mpsc::sync_channel::<Handed<'_>>(IN_FLIGHT - 1);
            let (to_committer, writes) = std::sync::mpsc::channel::<WrittenBatch<'_>>();
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
                    let failed = result.is_err();
                    let written = WrittenBatch {
                        result,
                        waiting: started - idle_since,
                        writing: wrote - started,
                        next_offsets,
                        batch,
                    };
                    idle_since = wrote;
                    if to_committer.send(written).is_err() || failed {
                        break;
                    }
                }
            });
            let committer = scope.spawn(move || {
                for written in writes {
                    let started = Instant::now();
                    // Offsets move only past a batch that was written.
                    let result = written
                        .result
                        .and_then(|w| Ok((w, reader.commit(&written.next_offsets)?)));
                    let time = WriterTime {
                        waiting: written.waiting,
                        writing: written.writing,
                        committing: started.elapsed(),
                    };
                    let failed = result.is_err();
                    // The rows go back to the reading thread, which fills them again.
                    let sent = to_reader.send((result.map(|w| (w, time)), written.batch));
                    returned.fetch_add(1, Ordering::Release);
                    if sent.is_err() || failed {
                        break;
                    }
                }
            });
            let stage_gone = || WarehouseError::Database {
                message: "the writer or committer thread stopped".into(),
                source: None,
            };
            // Handed on, oldest first; the committer answers in the same order.
            let mut in_flight: VecDeque<Collected> = VecDeque::with_capacity(IN_FLIGHT);
            let mut received = 0;
            let outcome = 'load: loop {
                let stopping = stop(stats);
                if stopping && in_flight.is_empty() {
                    break Ok(*stats);
                }
                // With batches in flight, a quiet topic is not waited on for long, and not
                // past the return of one: their offsets are committed as soon as their
                // writes are done, and their counts are due.
                let (first_wait, stop_waiting): (_, Option<&dyn Fn() -> bool>) =
                    match in_flight.is_empty() {
                        true => (reader.config.batch_linger, None),
                        false => (
                            reader.config.batch_idle,
                            Some(&|| returned.load(Ordering::Acquire) > received),
                        ),
                    };
                let next = if stopping {
                    None
                } else {
                    let started = Instant::now();
                    let next = reader.collect(first_wait, stop_waiting, spare);
                    stats.time.reading += started.elapsed();
                    match next {
                        Ok(next) => next,
                        Err(error) => break Err(error),
                    }
                };
                // The oldest batch must be back before another is handed over when the
                // pipeline is full, and when nothing came (its offsets are due).
                let mut must_wait =
                    !in_flight.is_empty() && (in_flight.len() == IN_FLIGHT || next.is_none());
                let mut done = Vec::new();
                while !in_flight.is_empty() {
                    let result = if must_wait {
                        let started = Instant::now();
                        let result = results.recv().map_err(|_| stage_gone());
                        stats.time.waiting_for_writer += started.elapsed();
                        result
                    } else {
                        match results.try_recv() {
                            Ok(result) => Ok(result),
                            Err(TryRecvError::Empty) => break,
                            Err(TryRecvError::Disconnected) => Err(stage_gone()),
                        }
                    };
                    must_wait = false;
                    received += 1;
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
                        break Err(stage_gone());
                    }
                    in_flight.push_back(collected);
                }
                // Kept once the next batch is with the writer, so the writer is not kept
                // waiting while the rows are sorted into the spares.
                for rows in done {
                    spare.keep(&reader.events, rows);
                }
            };
            // Ends the writer's and then the committer's loop; batches still in flight
            // are not committed, so they are read again after a restart.
            drop(to_writer);
            drop(results);
            writer.join().expect("the writer thread does not panic");
            committer
                .join()
                .expect("the committer thread does not panic");
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
