//! Client-side aggregation of counters and value metrics.
//!
//! Every tag combination of an event is known at compile time, so each event type gets a
//! dense table indexed by `Event::tag_combination()`:
//! - its counter: one atomic add per publish;
//! - each value metric: one slot per tag combination, behind its own (uncontended) lock.
//!   A `count` slot keeps the sum, a `gauge` slot the last value, and a `distribution`,
//!   `histogram` or `timing` slot every sample, to send as multi-value lines
//!   (`name:v1:v2:v3|d|#tags`, DogStatsD protocol 1.1). No sample is merged away: the
//!   agent computes the same percentiles as from one line per sample.
//!
//! A publish appends its samples in a fixed-width binary form ([`super::samples`]) and
//! never writes their text: the aggregation thread does, when it sends them. So a publish on a
//! request thread that woke up for the request runs no digit-writing code (BENCHMARKS.md,
//! row 11).
//!
//! The dispatcher turns the non-zero counts and the slots into DogStatsD lines every flush
//! interval and at shutdown. A slot whose samples take [`SLOT_BYTES`] is full, so a slot's
//! memory is bounded; its samples' text is split into lines of about
//! [`SAMPLE_LINE_BYTES`], so every line fits a datagram. The publish that fills a slot
//! swaps its samples for an empty buffer from a pool ([`HANDOFF_BUFFERS`]) and leaves the
//! lines to the aggregation thread. So no publish formats a line, takes the sink's queue
//! lock or wakes its sender on the caller's thread, which may be a service's request
//! thread. When a burst has taken every spare, the publish writes the lines itself, as no
//! sample is ever merged away.

use std::any::TypeId;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::samples::{self, SAMPLE_BYTES, SAMPLE_BYTES_MAX};
use super::statsd_line::{write_number, LineFormat};
use crate::dispatcher::flusher::FlusherSignal;
use crate::metric::{MetricKind, MetricNumber, ValueMetric};
use crate::once_map::OnceMap;
use crate::Event;

/// The length of a line's samples (`v1:v2:...`) at which the line ends and the next one
/// starts: with the name and tags, a line stays under a UDP datagram (1432 bytes) for any
/// usual event.
pub(crate) const SAMPLE_LINE_BYTES: usize = 1024;

/// The bytes of samples at which a slot is full and its samples are sent: 128 samples,
/// whose text is one line for integers of up to six digits.
const SLOT_BYTES: usize = 128 * SAMPLE_BYTES;

/// A slot buffer's capacity: a full slot and the longest sample after it.
const SLOT_CAPACITY: usize = SLOT_BYTES + SAMPLE_BYTES_MAX;

/// The spare sample buffers a dispatcher keeps for publishes that fill a slot: 128 full
/// slots (146 KiB, 16,384 samples) may wait for the aggregation thread.
const HANDOFF_BUFFERS: usize = 128;

/// Full buffers waiting at which a publish wakes the aggregation thread, a system call
/// made once in this many full lines: before the spares run out, not for every line.
const HANDOFF_WAKE_AT: usize = HANDOFF_BUFFERS / 2;

/// What one value metric holds for one tag combination between two flushes.
#[derive(Default)]
struct Slot {
    /// Distribution, histogram and timing samples, in the order they came, as
    /// [`samples::push`] writes them.
    samples: Vec<u8>,
    /// The sum (count) or the last value (gauge).
    number: Option<MetricNumber>,
}

type WriteCounter = fn(&LineFormat, usize, u64, &mut String);
/// Writes a value metric's line: its name, the values the closure writes, its type and tags.
type WriteValue = fn(&LineFormat, &ValueMetric, usize, &mut dyn FnMut(&mut String), &mut String);

/// A full slot's samples, waiting for the aggregation thread to write their line.
struct FullSamples {
    write_value: WriteValue,
    metric: &'static ValueMetric,
    cell: usize,
    samples: Vec<u8>,
}

/// The buffers publishes and the aggregation thread exchange. Every buffer is made when
/// the dispatcher is built and only changes hands after that, so a publish that fills a
/// slot allocates nothing: `spares` and `full` together always hold `HANDOFF_BUFFERS`,
/// bar those the aggregation thread is writing out.
struct Handoff {
    spares: Vec<Vec<u8>>,
    full: Vec<FullSamples>,
}

/// The aggregates of one event type.
struct EventTable {
    counts: Box<[AtomicU64]>,
    /// One slot per value metric and tag combination, metric by metric.
    slots: Box<[Mutex<Slot>]>,
    combinations: usize,
    metrics: &'static [ValueMetric],
    write_counter: WriteCounter,
    write_value: WriteValue,
    /// A tag key the event shares with a constant tag: its lines are refused.
    clash: Option<&'static str>,
}

impl EventTable {
    fn of<E: Event>(format: &LineFormat) -> Self {
        EventTable {
            clash: format.clashing_tag::<E>(),
            counts: zeroed_counts(E::TAG_COMBINATIONS),
            slots: empty_slots(E::TAG_COMBINATIONS * E::VALUE_METRICS.len()),
            combinations: E::TAG_COMBINATIONS,
            metrics: E::VALUE_METRICS,
            write_counter: |format, cell, count, out| {
                format.write_aggregated_counter::<E>(cell, count, out)
            },
            write_value: |format, metric, cell, values, out| {
                format.write_aggregated_value::<E>(metric, cell, values, out)
            },
        }
    }

    /// The index of `metric` in `metrics`. Names are unique within an event, and an event
    /// has few value metrics. The derive passes the entry of `VALUE_METRICS` itself, which
    /// the address finds at once; the name is the fallback, should the constant be
    /// duplicated.
    #[inline]
    fn metric_index(&self, metric: &ValueMetric) -> Option<usize> {
        self.metrics
            .iter()
            .position(|m| std::ptr::eq(m, metric) || m.name == metric.name)
    }

    fn slot(&self, metric: usize, cell: usize) -> MutexGuard<'_, Slot> {
        self.slots[metric * self.combinations + cell]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

// The tables are made outside `EventTable::of`, which is compiled once per event type.
fn zeroed_counts(len: usize) -> Box<[AtomicU64]> {
    (0..len).map(|_| AtomicU64::new(0)).collect()
}

fn empty_slots(len: usize) -> Box<[Mutex<Slot>]> {
    (0..len).map(|_| Mutex::default()).collect()
}

/// Every event type's aggregates, created on the type's first publish.
pub(crate) struct AggregateTables {
    tables: OnceMap<TypeId, EventTable>,
    handoff: Mutex<Handoff>,
    /// Held while handed-off samples are written and sent, so that a flush waits for the
    /// lines the aggregation thread has taken and not yet sent. Publishes never take it.
    sending: Mutex<()>,
    /// Wakes the aggregation thread when full lines wait.
    flusher: Arc<FlusherSignal>,
}

impl AggregateTables {
    /// Tables that hand full lines to the aggregation thread `flusher` wakes.
    pub fn new(flusher: Arc<FlusherSignal>) -> Self {
        AggregateTables {
            tables: OnceMap::default(),
            handoff: Mutex::new(Handoff {
                spares: (0..HANDOFF_BUFFERS)
                    .map(|_| Vec::with_capacity(SLOT_CAPACITY))
                    .collect(),
                full: Vec::with_capacity(HANDOFF_BUFFERS),
            }),
            sending: Mutex::new(()),
            flusher,
        }
    }

    /// Counts one publish of `event` and adds its value metrics. A slot of samples that
    /// became full is handed to the aggregation thread, or, when no spare buffer is left,
    /// written to `out` as lines (after a `\n` when `out` is not empty), for the caller to
    /// send now. `Err` with the key when the event shares a tag key with
    /// a constant tag: nothing is counted (checked once, when the type's table is made).
    pub fn record<E: Event>(
        &self,
        event: &E,
        format: &LineFormat,
        out: &mut String,
    ) -> Result<(), &'static str> {
        let table = self
            .tables
            .get_or_insert_with(E::type_id(), || EventTable::of::<E>(format));
        if let Some(key) = table.clash {
            return Err(key);
        }
        self.add(table, event, event.tag_combination(), format, out);
        Ok(())
    }

    fn add<E: Event>(
        &self,
        table: &EventTable,
        event: &E,
        cell: usize,
        format: &LineFormat,
        out: &mut String,
    ) {
        table.counts[cell].fetch_add(1, Ordering::Relaxed);
        event.for_each_value_metric(|metric, number| {
            self.add_value(table, metric, number, cell, format, out);
        });
    }

    /// Adds one value metric's `number` to its slot. Not generic, and never inlined: a
    /// service publishes several event types, each of which would otherwise carry its own
    /// copy of this code, met cold on a request thread that wakes up for each request
    /// (BENCHMARKS.md, row 11).
    #[inline(never)]
    fn add_value(
        &self,
        table: &EventTable,
        metric: &ValueMetric,
        number: MetricNumber,
        cell: usize,
        format: &LineFormat,
        out: &mut String,
    ) {
        if let MetricNumber::Float(f) = number {
            // DogStatsD cannot parse NaN or infinity: such a value is not sent.
            if !f.is_finite() {
                return;
            }
        }
        let Some(index) = table.metric_index(metric) else {
            return;
        };
        let mut slot = table.slot(index, cell);
        match metric.kind {
            MetricKind::Count => slot.number = Some(sum(slot.number, number)),
            MetricKind::Gauge => slot.number = Some(number),
            MetricKind::Distribution | MetricKind::Histogram | MetricKind::Timing => {
                if slot.samples.capacity() == 0 {
                    // Once per slot: a full slot's buffer is swapped, never regrown.
                    slot.samples.reserve_exact(SLOT_CAPACITY);
                }
                samples::push(&mut slot.samples, number);
                if slot.samples.len() >= SLOT_BYTES
                    && !self.hand_off(table, index, cell, &mut slot.samples)
                {
                    write_sample_lines(table.write_value, format, metric, cell, &slot.samples, out);
                    slot.samples.clear();
                }
            }
        }
    }

    /// Swaps a full slot's `samples` for a spare buffer and queues them for the aggregation
    /// thread, waking it when enough wait. `false` when no spare is left.
    fn hand_off(
        &self,
        table: &EventTable,
        metric: usize,
        cell: usize,
        samples: &mut Vec<u8>,
    ) -> bool {
        let mut handoff = self.lock_handoff();
        let Some(spare) = handoff.spares.pop() else {
            return false;
        };
        handoff.full.push(FullSamples {
            write_value: table.write_value,
            metric: &table.metrics[metric],
            cell,
            samples: std::mem::replace(samples, spare),
        });
        let wake = handoff.full.len() == HANDOFF_WAKE_AT;
        drop(handoff);
        if wake {
            self.flusher.samples_waiting();
        }
        true
    }

    fn lock_handoff(&self) -> MutexGuard<'_, Handoff> {
        self.handoff.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands the lines of every full slot that publishes queued to `emit`, and returns
    /// their buffers to the spares.
    pub fn drain_handed_off(
        &self,
        format: &LineFormat,
        line: &mut String,
        emit: &mut impl FnMut(&str),
    ) {
        let _sending = self.sending.lock().unwrap_or_else(PoisonError::into_inner);
        // Taken under the lock, written out after it, so publishes never wait for the text.
        let taken: Vec<FullSamples> = self.lock_handoff().full.drain(..).collect();
        if taken.is_empty() {
            return;
        }
        let mut emptied = Vec::with_capacity(taken.len());
        for mut full in taken {
            line.clear();
            write_sample_lines(
                full.write_value,
                format,
                full.metric,
                full.cell,
                &full.samples,
                line,
            );
            emit(line);
            full.samples.clear();
            emptied.push(full.samples);
        }
        self.lock_handoff().spares.append(&mut emptied);
    }

    /// Takes every full line publishes queued, every non-zero count and every slot's value
    /// (leaving them empty) and hands each as a line to `emit`. Returns how many events the
    /// counter lines add up to.
    pub fn drain(&self, format: &LineFormat, line: &mut String, mut emit: impl FnMut(&str)) -> u64 {
        self.drain_handed_off(format, line, &mut emit);
        let mut total = 0;
        for table in self.tables.values() {
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
                (table.write_counter)(format, cell, n, line);
                emit(line);
            }
            for (index, metric) in table.metrics.iter().enumerate() {
                for cell in 0..table.combinations {
                    let mut slot = table.slot(index, cell);
                    line.clear();
                    if let Some(number) = slot.number.take() {
                        let mut value = |out: &mut String| write_number(out, number);
                        (table.write_value)(format, metric, cell, &mut value, line);
                    } else if !slot.samples.is_empty() {
                        write_sample_lines(
                            table.write_value,
                            format,
                            metric,
                            cell,
                            &slot.samples,
                            line,
                        );
                        slot.samples.clear();
                    }
                    drop(slot);
                    if !line.is_empty() {
                        emit(line);
                    }
                }
            }
        }
        total
    }
}

/// Appends `samples` (as [`samples::push`] wrote them) as multi-value lines of `metric`
/// (after a `\n` when `out` is not empty), joined with `\n`: each line ends after the
/// sample that takes its values' text to [`SAMPLE_LINE_BYTES`] or more.
fn write_sample_lines(
    write_value: WriteValue,
    format: &LineFormat,
    metric: &ValueMetric,
    cell: usize,
    samples: &[u8],
    out: &mut String,
) {
    let mut numbers = samples::numbers(samples).peekable();
    while numbers.peek().is_some() {
        if !out.is_empty() {
            out.push('\n');
        }
        let mut values = |out: &mut String| {
            let start = out.len();
            while out.len() - start < SAMPLE_LINE_BYTES {
                let Some(number) = numbers.next() else {
                    break;
                };
                // A number's text is never empty: past `start`, a sample came before.
                if out.len() > start {
                    out.push(':');
                }
                write_number(out, number);
            }
        };
        write_value(format, metric, cell, &mut values, out);
    }
}

/// Adds a `count` value to a slot's sum. Integers saturate rather than wrap; a field has
/// one type, so the two numbers are of the same kind.
fn sum(total: Option<MetricNumber>, value: MetricNumber) -> MetricNumber {
    use MetricNumber::{Duration, Float, Signed, Unsigned};
    match (total, value) {
        (None, value) => value,
        (Some(Unsigned(a)), Unsigned(b)) => Unsigned(a.saturating_add(b)),
        (Some(Signed(a)), Signed(b)) => Signed(a.saturating_add(b)),
        (Some(Float(a)), Float(b)) => Float(a + b),
        (Some(Duration(a)), Duration(b)) => Duration(a.saturating_add(b)),
        (Some(a), b) => Float(as_f64(a) + as_f64(b)),
    }
}

fn as_f64(number: MetricNumber) -> f64 {
    match number {
        MetricNumber::Unsigned(n) => n as f64,
        MetricNumber::Signed(n) => n as f64,
        MetricNumber::Float(n) => n,
        MetricNumber::Duration(d) => d.as_secs_f64() * 1000.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LATENCY: ValueMetric = ValueMetric {
        name: "checkout.latency",
        kind: MetricKind::Distribution,
    };

    /// The head and type a line has, around its values, without an event's tags.
    fn untagged(
        _: &LineFormat,
        metric: &ValueMetric,
        _: usize,
        values: &mut dyn FnMut(&mut String),
        out: &mut String,
    ) {
        out.push_str(metric.name);
        out.push(':');
        values(out);
        out.push_str("|d");
    }

    fn lines_of(numbers: &[MetricNumber], out: &mut String) -> Vec<String> {
        let mut encoded = Vec::new();
        for &number in numbers {
            samples::push(&mut encoded, number);
        }
        write_sample_lines(untagged, &LineFormat::default(), &LATENCY, 0, &encoded, out);
        out.split('\n').map(str::to_owned).collect()
    }

    #[test]
    fn short_samples_fill_a_line_with_a_kilobyte_of_text() {
        // 205 samples of `1250` and their colons: 1,024 bytes.
        let numbers = vec![MetricNumber::Unsigned(1250); 300];
        let lines = lines_of(&numbers, &mut String::new());
        let values = |n| vec!["1250"; n].join(":");
        assert_eq!(
            lines,
            [
                format!("checkout.latency:{}|d", values(205)),
                format!("checkout.latency:{}|d", values(95)),
            ]
        );
    }

    /// Every line stays within a datagram, however long the samples' text, and the lines
    /// together hold every sample, in order.
    #[test]
    fn long_samples_are_split_into_lines_that_fit_a_datagram() {
        let samples: Vec<MetricNumber> = (0..128)
            .map(|i| MetricNumber::Unsigned(u64::MAX - i))
            .collect();
        // Written after what the caller has in `out`, as a publish that writes its lines.
        let mut out = String::from("checkout:1|c");
        let lines = lines_of(&samples, &mut out);
        assert_eq!(lines[0], "checkout:1|c");
        let lines = &lines[1..];
        // 21 bytes a sample, 2,688 in all: three lines.
        assert_eq!(lines.len(), 3, "{lines:?}");
        let mut written = Vec::new();
        for line in lines {
            assert!(line.len() < 1432, "{} bytes", line.len());
            let values = line
                .strip_prefix("checkout.latency:")
                .and_then(|l| l.strip_suffix("|d"))
                .unwrap();
            assert!(values.len() <= SAMPLE_LINE_BYTES + 20, "{}", values.len());
            written.extend(values.split(':').map(|v| v.parse::<u64>().unwrap()));
        }
        let expected: Vec<u64> = (0..128).map(|i| u64::MAX - i).collect();
        assert_eq!(written, expected);
    }

    #[test]
    fn no_samples_write_no_line() {
        let mut out = String::new();
        write_sample_lines(untagged, &LineFormat::default(), &LATENCY, 0, &[], &mut out);
        assert_eq!(out, "");
    }
}
