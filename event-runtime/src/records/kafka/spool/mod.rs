//! The Kafka sink's disk spool: append-only, checksummed segment files that hold records
//! librdkafka's memory queue has no room for (or, write-ahead, every record), fed to
//! librdkafka in order by one thread and deleted once delivered.
//!
//! Files in the spool directory:
//! - `NNNNNNNNNNNNNNNNNNNN.seg`: frames ([`frame`]), appended by publishers. The writer
//!   keeps one segment open and starts the next at [`SpoolSettings::segment_bytes`].
//! - `NNNNNNNNNNNNNNNNNNNN.ack`: the byte offset up to which every record of that segment
//!   is delivered (or failed for good). A restart sends the segment again from there.
//! - `lock`: locked (`flock`) while a sink has the spool open, so a second sink, in this
//!   process or another, is refused rather than sending the same records twice.
//!
//! Two locks, always taken in this order: the writer's (publishers, and the feeder when it
//! has caught up) and the ledger's (the feeder, and librdkafka's delivery reports).

mod config;
pub(crate) mod frame;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Seek, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

pub use config::{SpoolMode, SpoolSettings, SyncPolicy};
use frame::StoredRecord;

use crate::KafkaRecord;

/// Writes above this size go to the file at once rather than wait for the feeder or a sync.
const WRITE_THROUGH_BYTES: usize = 256 << 10;
/// A write-ahead segment the feeder has caught up with is closed, so that it can be deleted,
/// once it holds this much.
const ROTATE_CAUGHT_UP_BYTES: u64 = 1 << 20;
/// How much of a segment the feeder reads at once.
const READ_CHUNK: usize = 1 << 20;

/// Why a record could not be spooled. It is dropped and counted by the caller.
#[derive(Debug)]
pub enum Refused {
    /// The spool is at its size bound.
    Full,
    /// A name or the payload is too large to frame.
    TooLarge,
    /// The disk refused to make a segment file (see [`Spool::last_error`]).
    Io,
}

/// Where a record read by the feeder sits, to acknowledge it once delivered.
#[derive(Clone, Copy, Debug)]
pub struct Position {
    seq: u64,
    start: u64,
    end: u64,
    /// Left by an earlier run.
    pub replayed: bool,
}

/// The disk spool of one Kafka sink.
pub struct Spool {
    settings: SpoolSettings,
    spilling: AtomicBool,
    writer: Mutex<Writer>,
    ledger: Mutex<Ledger>,
    /// Wakes the feeder when it waits for appends.
    appended: Condvar,
    feeder_waiting: AtomicBool,
    bytes: AtomicU64,
    spooled: AtomicU64,
    replayed: AtomicU64,
    corrupt: AtomicU64,
    /// Spooled or replayed records delivered, or failed for good.
    settled: AtomicU64,
    /// Spooled records lost to a write error.
    lost: AtomicU64,
    last_sync: Mutex<Instant>,
    last_error: Mutex<Option<String>>,
    /// Holds the directory's lock for as long as the spool is open.
    _lock: File,
}

struct Writer {
    active: Option<Active>,
    next_seq: u64,
    /// Records appended so far: the feeder waits only if none came since it caught up.
    appends: u64,
}

struct Active {
    seq: u64,
    file: File,
    buffered: Vec<u8>,
    buffered_records: u64,
    /// Bytes in the file plus in `buffered`.
    len: u64,
    /// A write failed and may have left part of a frame: nothing more is appended to this
    /// file, so the feeder reads the partial frame as a closed segment's torn tail.
    broken: bool,
}

#[derive(Default)]
struct Ledger {
    segments: BTreeMap<u64, Segment>,
    /// Records handed to librdkafka and not yet reported: ticket -> (segment, start offset).
    tickets: HashMap<u64, (u64, u64)>,
    next_ticket: u64,
}

struct Segment {
    /// Bytes written to the file (not counting the writer's buffer).
    size: u64,
    /// The writer is done with it.
    closed: bool,
    /// The feeder has read (and handed on, or skipped as corrupt) everything before this.
    fed_to: u64,
    /// Start offsets of records handed to librdkafka and not yet reported.
    outstanding: BTreeSet<u64>,
    /// The offset last written to the `.ack` file.
    acked_on_disk: u64,
    replayed: bool,
}

impl Segment {
    /// Everything before this offset is settled.
    fn acked(&self) -> u64 {
        self.outstanding.first().copied().unwrap_or(self.fed_to)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:020}.seg"))
}

fn ack_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:020}.ack"))
}

impl Spool {
    /// Opens the spool in `settings.dir`, creating it if needed, and takes over the
    /// segments an earlier run left there: they are sent first.
    pub fn open(settings: SpoolSettings) -> io::Result<Spool> {
        fs::create_dir_all(&settings.dir)?;
        let lock = File::create(settings.dir.join("lock"))?;
        match rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(rustix::io::Errno::WOULDBLOCK) => {
                return Err(io::Error::other(
                    "another sink has this spool open: give each sink a directory of its own",
                ))
            }
            Err(error) => return Err(error.into()),
        }
        let mut segments = BTreeMap::new();
        let mut bytes = 0;
        for entry in fs::read_dir(&settings.dir)? {
            let path = entry?.path();
            let seq = match (path.extension(), path.file_stem()) {
                (Some(ext), Some(stem)) if ext == "seg" => {
                    stem.to_str().and_then(|s| s.parse().ok())
                }
                _ => None,
            };
            let Some(seq) = seq else { continue };
            let size = fs::metadata(&path)?.len();
            let acked = read_ack(&ack_path(&settings.dir, seq)).min(size);
            bytes += size;
            segments.insert(
                seq,
                Segment {
                    size,
                    closed: true,
                    fed_to: acked,
                    outstanding: BTreeSet::new(),
                    acked_on_disk: acked,
                    replayed: true,
                },
            );
        }
        let next_seq = segments.keys().next_back().map_or(0, |seq| seq + 1);
        Ok(Spool {
            settings,
            // Left records are sent before new ones.
            spilling: AtomicBool::new(!segments.is_empty()),
            writer: Mutex::new(Writer {
                active: None,
                next_seq,
                appends: 0,
            }),
            ledger: Mutex::new(Ledger {
                segments,
                ..Ledger::default()
            }),
            appended: Condvar::new(),
            feeder_waiting: AtomicBool::new(false),
            bytes: AtomicU64::new(bytes),
            spooled: AtomicU64::new(0),
            replayed: AtomicU64::new(0),
            corrupt: AtomicU64::new(0),
            settled: AtomicU64::new(0),
            lost: AtomicU64::new(0),
            last_sync: Mutex::new(Instant::now()),
            last_error: Mutex::new(None),
            _lock: lock,
        })
    }

    /// New records must go to the spool: write-ahead, or records are waiting in it.
    pub fn takes_new_records(&self) -> bool {
        matches!(self.settings.mode, SpoolMode::WriteAhead(_))
            || self.spilling.load(Ordering::Acquire)
    }

    /// Appends `record`. Never waits for the disk, except under [`SyncPolicy::EveryRecord`].
    ///
    /// A write error after the record is accepted loses what the writer buffered; those
    /// records are counted in [`Spool::lost`], not reported here.
    pub fn append(&self, record: &KafkaRecord<'_>) -> Result<(), Refused> {
        let len = frame::frame_len(record) as u64;
        if self.bytes.load(Ordering::Relaxed) + len > self.settings.max_bytes {
            return Err(Refused::Full);
        }
        let mut writer = lock(&self.writer);
        if writer.active.is_none() {
            let seq = writer.next_seq;
            let file = self
                .create_segment(seq)
                .map_err(|error| self.io_error(error))?;
            writer.next_seq += 1;
            writer.active = Some(Active {
                seq,
                file,
                buffered: Vec::with_capacity(WRITE_THROUGH_BYTES + 4096),
                buffered_records: 0,
                len: 0,
                broken: false,
            });
        }
        writer.appends += 1;
        let active = writer.active.as_mut().expect("made above");
        frame::write(record, &mut active.buffered).ok_or(Refused::TooLarge)?;
        active.buffered_records += 1;
        active.len += len;
        self.bytes.fetch_add(len, Ordering::Relaxed);
        self.spooled.fetch_add(1, Ordering::Relaxed);
        self.spilling.store(true, Ordering::Release);
        let every_record = self.settings.mode == SpoolMode::WriteAhead(SyncPolicy::EveryRecord);
        if every_record || active.buffered.len() >= WRITE_THROUGH_BYTES {
            self.write_out(active);
            if every_record {
                if let Err(error) = active.file.sync_data() {
                    self.io_error(error);
                }
            }
        }
        if active.len >= self.settings.segment_bytes() || active.broken {
            self.rotate(&mut writer);
        }
        drop(writer);
        if self.feeder_waiting.load(Ordering::Acquire) {
            self.appended.notify_one();
        }
        Ok(())
    }

    /// Records a disk error for [`Spool::last_error`].
    fn io_error(&self, error: io::Error) -> Refused {
        *lock(&self.last_error) = Some(error.to_string());
        Refused::Io
    }

    /// The last error the disk gave, if any.
    pub fn last_error(&self) -> Option<String> {
        lock(&self.last_error).clone()
    }

    fn create_segment(&self, seq: u64) -> io::Result<File> {
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(segment_path(&self.settings.dir, seq))?;
        if matches!(self.settings.mode, SpoolMode::WriteAhead(_)) {
            // The new name must survive a machine crash too, not only the data.
            File::open(&self.settings.dir)?.sync_all()?;
        }
        lock(&self.ledger).segments.insert(
            seq,
            Segment {
                size: 0,
                closed: false,
                fed_to: 0,
                outstanding: BTreeSet::new(),
                acked_on_disk: 0,
                replayed: false,
            },
        );
        Ok(file)
    }

    /// Writes the buffered frames to the file (the OS's cache; not synced). On an error,
    /// what was buffered is counted lost; the file may hold part of it, which the feeder
    /// finds damaged (the checksum keeps it from being sent).
    fn write_out(&self, active: &mut Active) {
        if active.buffered.is_empty() {
            return;
        }
        let written = active.buffered.len() as u64;
        let result = active.file.write_all(&active.buffered);
        active.buffered.clear();
        let records = std::mem::take(&mut active.buffered_records);
        let size = match result {
            Ok(()) => None,
            Err(error) => {
                self.io_error(error);
                active.broken = true;
                self.lost.fetch_add(records, Ordering::Relaxed);
                let size = active.file.metadata().map_or(0, |m| m.len());
                let before = active.len - written;
                active.len = size;
                self.bytes.fetch_sub(written, Ordering::Relaxed);
                self.bytes
                    .fetch_add(size.saturating_sub(before), Ordering::Relaxed);
                Some(size)
            }
        };
        if let Some(segment) = lock(&self.ledger).segments.get_mut(&active.seq) {
            segment.size = size.unwrap_or(segment.size + written);
        }
    }

    /// Closes the active segment: it can be deleted once every record in it is settled.
    fn rotate(&self, writer: &mut Writer) {
        if let Some(mut active) = writer.active.take() {
            self.write_out(&mut active);
            if let Some(segment) = lock(&self.ledger).segments.get_mut(&active.seq) {
                segment.closed = true;
            }
        }
    }

    /// Writes what the writer buffers to the file and, under write-ahead, syncs it.
    pub fn sync(&self) -> io::Result<()> {
        let file = {
            let mut writer = lock(&self.writer);
            let Some(active) = writer.active.as_mut() else {
                return Ok(());
            };
            self.write_out(active);
            if active.broken {
                self.rotate(&mut writer);
                return Ok(());
            }
            active.file.try_clone()?
        };
        *lock(&self.last_sync) = Instant::now();
        if matches!(self.settings.mode, SpoolMode::WriteAhead(_)) {
            // Outside the writer's lock: publishers go on appending while the disk works.
            file.sync_data()?;
        }
        Ok(())
    }

    /// Called by the feeder when it has read everything written so far: writes out what
    /// the writer buffers, and if nothing is new, closes the segment (in overflow mode, or
    /// once it is large) so it can be deleted, and in overflow mode stops spilling.
    /// Returns whether there is something new to read.
    pub fn caught_up(&self, reader: &mut Reader) -> bool {
        let mut writer = lock(&self.writer);
        reader.appends_seen = writer.appends;
        let Some(active) = writer.active.as_mut() else {
            drop(writer);
            return self.unread_segments(reader);
        };
        if !active.buffered.is_empty() || active.broken {
            self.write_out(active);
            if active.broken {
                self.rotate(&mut writer);
            }
            return true;
        }
        if reader.seq != Some(active.seq) || reader.offset() < active.len {
            return true;
        }
        let overflow = self.settings.mode == SpoolMode::Overflow;
        if overflow || active.len >= ROTATE_CAUGHT_UP_BYTES {
            self.rotate(&mut writer);
        }
        if overflow {
            // Under the writer's lock, so no append can slip between the last read and this.
            self.spilling.store(false, Ordering::Release);
        }
        false
    }

    fn unread_segments(&self, reader: &Reader) -> bool {
        let ledger = lock(&self.ledger);
        let current_has_more = reader
            .seq
            .and_then(|seq| ledger.segments.get(&seq))
            .is_some_and(|segment| segment.size > reader.offset());
        current_has_more || ledger.segments.range(reader.next_seq..).next().is_some()
    }

    /// Nothing is on disk: no segment is open, waiting or being settled.
    pub fn is_empty(&self) -> bool {
        lock(&self.ledger).segments.is_empty()
    }

    /// Wakes the feeder if it waits for an append (to stop it).
    pub fn wake_feeder(&self) {
        let _writer = lock(&self.writer);
        self.appended.notify_all();
    }

    /// Waits up to `timeout` for an append, unless one came since `reader` caught up.
    pub fn wait_for_append(&self, reader: &Reader, timeout: Duration) {
        let writer = lock(&self.writer);
        if writer.appends != reader.appends_seen {
            return;
        }
        self.feeder_waiting.store(true, Ordering::Release);
        let _ = self.appended.wait_timeout(writer, timeout);
        self.feeder_waiting.store(false, Ordering::Release);
    }

    /// The next record to feed, in the order written, or `None` when the feeder has read
    /// everything written out so far. Damaged records are counted and skipped.
    pub fn next(&self, reader: &mut Reader) -> Option<(StoredRecord, Position)> {
        loop {
            if reader.seq.is_none() {
                let ledger = lock(&self.ledger);
                let (&seq, segment) = ledger.segments.range(reader.next_seq..).next()?;
                let start = segment.fed_to;
                drop(ledger);
                if !reader.open(&self.settings.dir, seq, start) {
                    // Deleted under us, or unreadable: nothing in it can be sent.
                    self.finish_segment(seq);
                    reader.close();
                    continue;
                }
            }
            let seq = reader.seq.expect("opened above");
            match frame::read(reader.unread()) {
                frame::Read::Frame(record, len) => {
                    let start = reader.offset();
                    reader.consume(len);
                    let replayed = self.is_replayed(seq);
                    if replayed {
                        self.replayed.fetch_add(1, Ordering::Relaxed);
                    }
                    let position = Position {
                        seq,
                        start,
                        end: reader.offset(),
                        replayed,
                    };
                    return Some((record, position));
                }
                frame::Read::Incomplete => {
                    // Closed is read before the file: bytes written before the close are
                    // then all there to read.
                    let closed = self.is_closed(seq);
                    match reader.fill() {
                        Ok(0) | Err(_) if closed => {
                            if !reader.unread().is_empty() {
                                // A tail torn by a crash, or cut by a failed write.
                                self.corrupt.fetch_add(1, Ordering::Relaxed);
                            }
                            self.finish_segment(seq);
                            reader.close();
                        }
                        Ok(0) | Err(_) => return None,
                        Ok(_) => {}
                    }
                }
                frame::Read::Damaged => {
                    self.corrupt.fetch_add(1, Ordering::Relaxed);
                    // The rest of the segment, to find the next intact frame in it.
                    while matches!(reader.fill(), Ok(n) if n > 0) {}
                    match frame::resync(reader.unread()) {
                        Some(at) => reader.consume(at),
                        None => {
                            let rest = reader.unread().len();
                            reader.consume(rest);
                        }
                    }
                    self.set_fed(seq, reader.offset());
                }
            }
        }
    }

    fn is_closed(&self, seq: u64) -> bool {
        lock(&self.ledger)
            .segments
            .get(&seq)
            .is_none_or(|s| s.closed)
    }

    fn is_replayed(&self, seq: u64) -> bool {
        lock(&self.ledger)
            .segments
            .get(&seq)
            .is_some_and(|s| s.replayed)
    }

    fn set_fed(&self, seq: u64, offset: u64) {
        if let Some(segment) = lock(&self.ledger).segments.get_mut(&seq) {
            segment.fed_to = segment.fed_to.max(offset);
        }
    }

    /// Marks a segment read to its end.
    fn finish_segment(&self, seq: u64) {
        if let Some(segment) = lock(&self.ledger).segments.get_mut(&seq) {
            segment.fed_to = segment.size;
        }
    }

    /// Registers a record about to be handed to librdkafka; its delivery report settles
    /// the returned ticket (never 0).
    pub fn hand_over(&self, position: Position) -> u64 {
        let mut ledger = lock(&self.ledger);
        ledger.next_ticket += 1;
        let ticket = ledger.next_ticket;
        ledger
            .tickets
            .insert(ticket, (position.seq, position.start));
        if let Some(segment) = ledger.segments.get_mut(&position.seq) {
            segment.outstanding.insert(position.start);
            segment.fed_to = segment.fed_to.max(position.end);
        }
        ticket
    }

    /// Settles a record: delivered, or failed for good. It will not be sent again.
    pub fn settle(&self, ticket: u64) {
        let mut ledger = lock(&self.ledger);
        if let Some((seq, start)) = ledger.tickets.remove(&ticket) {
            if let Some(segment) = ledger.segments.get_mut(&seq) {
                segment.outstanding.remove(&start);
            }
            self.settled.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Forgets a record's ticket without settling it: it stays in the spool, for the next
    /// start to send (a record purged by shutdown).
    pub fn keep(&self, ticket: u64) {
        lock(&self.ledger).tickets.remove(&ticket);
    }

    /// Deletes segments whose every record is settled, writes the `.ack` offsets that
    /// moved, and syncs when the write-ahead interval has passed.
    pub fn maintain(&self) {
        let mut delete = Vec::new();
        let mut acks = Vec::new();
        {
            let mut ledger = lock(&self.ledger);
            ledger.segments.retain(|&seq, segment| {
                let acked = segment.acked();
                if segment.closed && acked >= segment.size {
                    delete.push((seq, segment.size));
                    return false;
                }
                if acked != segment.acked_on_disk {
                    segment.acked_on_disk = acked;
                    acks.push((seq, acked));
                }
                true
            });
        }
        let dir = &self.settings.dir;
        for (seq, size) in delete {
            let _ = fs::remove_file(ack_path(dir, seq));
            if fs::remove_file(segment_path(dir, seq)).is_ok() {
                self.bytes.fetch_sub(
                    size.min(self.bytes.load(Ordering::Relaxed)),
                    Ordering::Relaxed,
                );
            }
        }
        for (seq, acked) in acks {
            // Not synced: it only saves resending; a lost ack means a duplicate, not a loss.
            let _ = fs::write(ack_path(dir, seq), acked.to_le_bytes());
        }
        if let SpoolMode::WriteAhead(SyncPolicy::Interval(interval)) = self.settings.mode {
            if lock(&self.last_sync).elapsed() >= interval {
                let _ = self.sync();
            }
        }
    }

    /// Nothing is left to send: every record written out is read and settled.
    pub fn drained(&self) -> bool {
        let writer = lock(&self.writer);
        if writer
            .active
            .as_ref()
            .is_some_and(|a| !a.buffered.is_empty())
        {
            return false;
        }
        drop(writer);
        let ledger = lock(&self.ledger);
        ledger.tickets.is_empty()
            && ledger
                .segments
                .values()
                .all(|s| s.fed_to >= s.size && s.outstanding.is_empty())
    }

    /// Records spooled or replayed in this run and neither settled nor lost.
    pub fn unsettled(&self) -> u64 {
        (self.spooled.load(Ordering::Relaxed) + self.replayed.load(Ordering::Relaxed))
            .saturating_sub(
                self.settled.load(Ordering::Relaxed) + self.lost.load(Ordering::Relaxed),
            )
    }

    /// The counts now; `kept` is filled in by the sink at shutdown.
    pub fn stats(&self) -> crate::SpoolStats {
        crate::SpoolStats {
            spooled: self.spooled.load(Ordering::Relaxed),
            replayed: self.replayed.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            corrupt: self.corrupt.load(Ordering::Relaxed),
            kept: 0,
        }
    }

    /// Spooled records lost to a write error so far.
    pub fn lost(&self) -> u64 {
        self.lost.load(Ordering::Relaxed)
    }
}

fn read_ack(path: &Path) -> u64 {
    fs::read(path)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

/// The feeder's place in the spool: one open segment and the bytes read from it.
#[derive(Default)]
pub struct Reader {
    seq: Option<u64>,
    /// Segments before this one are done.
    next_seq: u64,
    file: Option<File>,
    buf: Vec<u8>,
    /// Consumed bytes at the start of `buf`.
    pos: usize,
    /// The file offset of `buf[0]`.
    buf_offset: u64,
    /// The writer's append count when the reader last caught up.
    appends_seen: u64,
}

impl Reader {
    fn open(&mut self, dir: &Path, seq: u64, offset: u64) -> bool {
        let Ok(mut file) = File::open(segment_path(dir, seq)) else {
            return false;
        };
        if file.seek(SeekFrom::Start(offset)).is_err() {
            return false;
        }
        self.seq = Some(seq);
        self.next_seq = seq + 1;
        self.file = Some(file);
        self.buf.clear();
        self.pos = 0;
        self.buf_offset = offset;
        true
    }

    fn close(&mut self) {
        self.seq = None;
        self.file = None;
        self.buf.clear();
        self.pos = 0;
    }

    fn unread(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    fn consume(&mut self, n: usize) {
        self.pos += n;
    }

    /// The file offset of the first unread byte.
    fn offset(&self) -> u64 {
        self.buf_offset + self.pos as u64
    }

    /// Reads more of the file after what is buffered; `Ok(0)` at its end.
    fn fill(&mut self) -> io::Result<usize> {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.buf_offset += self.pos as u64;
            self.pos = 0;
        }
        let Some(file) = self.file.as_mut() else {
            return Ok(0);
        };
        let start = self.buf.len();
        self.buf.resize(start + READ_CHUNK, 0);
        let result = file.read(&mut self.buf[start..]);
        let n = *result.as_ref().unwrap_or(&0);
        self.buf.truncate(start + n);
        result
    }
}

#[cfg(test)]
mod tests;
