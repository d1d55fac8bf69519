//! DogStatsD datagram lines, formatted into a reused `String` without allocating.
//!
//! `name:value|type[|@rate][|#key:value,...]`: every part except the numbers is a
//! `&'static str` checked at compile time, or a dispatcher setting validated when the
//! dispatcher is built, so no event value can corrupt a datagram.

use std::fmt::Write;
use std::time::Duration;

use crate::metric::{MetricKind, MetricNumber, ValueMetric};
use crate::Event;

/// The dispatcher-wide parts of every line: metric prefix and constant tags.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LineFormat {
    /// Prepended to every metric name, ending with `.` when not empty.
    prefix: String,
    /// `key:value` pairs joined with `,`, appended after the event's tags.
    constant_tags: String,
    /// The constant tags' keys.
    constant_keys: Vec<String>,
}

impl LineFormat {
    /// A format from an already-validated prefix (without the trailing `.`) and tags.
    pub(crate) fn new(prefix: &str, constant_tags: &[(String, String)]) -> Self {
        let mut format = LineFormat::default();
        if !prefix.is_empty() {
            format.prefix = format!("{prefix}.");
        }
        for (key, value) in constant_tags {
            if !format.constant_tags.is_empty() {
                format.constant_tags.push(',');
            }
            let _ = write!(format.constant_tags, "{key}:{value}");
            format.constant_keys.push(key.clone());
        }
        format
    }

    /// The first of `E`'s tag keys that a constant tag also has, if any. Every line of `E`
    /// would carry that key twice, and split each of its series.
    pub(crate) fn clashing_tag<E: Event>(&self) -> Option<&'static str> {
        self.clashing_key(E::TAG_KEYS)
    }

    /// The first of `keys` that a constant tag also has (compiled once, not per event).
    pub(crate) fn clashing_key(&self, keys: &[&'static str]) -> Option<&'static str> {
        keys.iter()
            .copied()
            .find(|key| self.constant_keys.iter().any(|c| c == key))
    }

    /// Appends the counter line of one event (value 1) to `out`.
    pub fn write_counter<E: Event>(&self, event: &E, sample_rate: f64, out: &mut String) {
        self.write_head(
            out,
            E::NAME,
            MetricNumber::Unsigned(1),
            MetricKind::Count,
            sample_rate,
        );
        self.write_tags(out, &mut |visit| event.for_each_tag(visit));
    }

    /// Appends one line per value metric of the event, each starting with `\n` when
    /// `out` is not empty. Non-finite floats are skipped: DogStatsD cannot parse them.
    pub fn write_value_metrics<E: Event>(&self, event: &E, out: &mut String) {
        self.write_value_lines(event, out, |format, out| {
            format.write_tags(out, &mut |visit| event.for_each_tag(visit))
        });
    }

    /// [`LineFormat::write_value_metrics`], with each line's `|#tags` written by `tags`
    /// (the path without aggregation copies its combination's, rendered ahead).
    pub(crate) fn write_value_lines<E: Event>(
        &self,
        event: &E,
        out: &mut String,
        mut tags: impl FnMut(&Self, &mut String),
    ) {
        event.for_each_value_metric(|metric, number| {
            if let MetricNumber::Float(f) = number {
                if !f.is_finite() {
                    return;
                }
            }
            if !out.is_empty() {
                out.push('\n');
            }
            self.write_head(out, metric.name, number, metric.kind, 1.0);
            tags(self, out);
        });
    }

    /// Appends the counter line of one event (value 1) of tag combination `combination`,
    /// sampled at `sample_rate`. The path without aggregation renders it once per
    /// combination and copies it on every publish.
    pub fn write_counter_of_combination<E: Event>(
        &self,
        combination: usize,
        sample_rate: f64,
        out: &mut String,
    ) {
        self.write_head(
            out,
            E::NAME,
            MetricNumber::Unsigned(1),
            MetricKind::Count,
            sample_rate,
        );
        self.write_tags_of_combination::<E>(combination, out);
    }

    /// Appends `|#key:value,...` of one tag combination, the constant tags included: the
    /// end of every line of that combination.
    pub fn write_tags_of_combination<E: Event>(&self, combination: usize, out: &mut String) {
        self.write_tags(out, &mut |visit| {
            E::for_each_tag_of_combination(combination, visit)
        });
    }

    /// Appends a counter line for `count` events of one tag combination (client-side
    /// aggregation).
    pub fn write_aggregated_counter<E: Event>(
        &self,
        combination: usize,
        count: u64,
        out: &mut String,
    ) {
        self.write_head(
            out,
            E::NAME,
            MetricNumber::Unsigned(count),
            MetricKind::Count,
            1.0,
        );
        self.write_tags(out, &mut |visit| {
            E::for_each_tag_of_combination(combination, visit)
        });
    }

    /// Appends the line of one value metric's aggregate for one tag combination: `values`
    /// writes a sum or last value, or samples joined with `:` (a DogStatsD 1.1 multi-value
    /// line, for distributions, histograms and timings).
    pub fn write_aggregated_value<E: Event>(
        &self,
        metric: &ValueMetric,
        combination: usize,
        values: &mut dyn FnMut(&mut String),
        out: &mut String,
    ) {
        self.write_name(out, metric.name);
        values(out);
        Self::write_type(out, metric.kind, 1.0);
        self.write_tags(out, &mut |visit| {
            E::for_each_tag_of_combination(combination, visit)
        });
    }

    /// Appends the [`UNDELIVERED_METRIC`](crate::UNDELIVERED_METRIC) counter line: `count`
    /// records of `event_name` that the record sink `sink` dropped or failed.
    pub fn write_undelivered(&self, event_name: &str, sink: &str, count: u64, out: &mut String) {
        self.write_head(
            out,
            crate::UNDELIVERED_METRIC,
            MetricNumber::Unsigned(count),
            MetricKind::Count,
            1.0,
        );
        // Both values are the crate's own names: an event type's checked name, a sink's.
        out.push_str("|#event:");
        out.push_str(event_name);
        out.push_str(",sink:");
        out.push_str(sink);
        if !self.constant_tags.is_empty() {
            out.push(',');
            out.push_str(&self.constant_tags);
        }
    }

    fn write_head(
        &self,
        out: &mut String,
        name: &str,
        value: MetricNumber,
        kind: MetricKind,
        rate: f64,
    ) {
        self.write_name(out, name);
        write_number(out, value);
        Self::write_type(out, kind, rate);
    }

    /// `prefix.name:`
    fn write_name(&self, out: &mut String, name: &str) {
        out.push_str(&self.prefix);
        out.push_str(name);
        out.push(':');
    }

    /// `|type`, and `|@rate` when sampled.
    fn write_type(out: &mut String, kind: MetricKind, rate: f64) {
        out.push('|');
        out.push_str(kind.type_letter());
        if rate < 1.0 {
            let _ = write!(out, "|@{rate}");
        }
    }

    /// `tags` is a `dyn`: generic, this was compiled once for every line kind of every
    /// event type.
    fn write_tags(&self, out: &mut String, tags: &mut TagSource<'_>) {
        let mut first = true;
        let mut push = |out: &mut String, pair: (&str, &str)| {
            out.push_str(if first { "|#" } else { "," });
            first = false;
            out.push_str(pair.0);
            if !pair.1.is_empty() {
                out.push(':');
                out.push_str(pair.1);
            }
        };
        tags(&mut |key, value| push(out, (key, value)));
        if !self.constant_tags.is_empty() {
            // The constant tags are pre-joined `k:v,k:v`: written whole, as a key with no
            // value (a real tag value is never empty, so no other tag takes this branch).
            push(out, (&self.constant_tags, ""));
        }
    }
}

/// Hands every tag of a line, as key and value, to the visitor it is given.
type TagSource<'a> = dyn FnMut(&mut dyn FnMut(&'static str, &'static str)) + 'a;

/// Appends a metric value as DogStatsD reads it: on the caller's thread without
/// aggregation, on the aggregation thread with it.
pub(crate) fn write_number(out: &mut String, value: MetricNumber) {
    match number_text(value, &mut [0; NUMBER_TEXT]) {
        Ok(text) => {
            for &byte in text {
                out.push(char::from(byte));
            }
        }
        // Writing to a String cannot fail, and float Display does not allocate.
        Err(float) => {
            let _ = write!(out, "{float}");
        }
    }
}

/// The widest number text written without `Display`: a `u64` of milliseconds (20 digits),
/// a point and six decimals.
const NUMBER_TEXT: usize = 27;

/// An integer's or a duration's text, written to the end of `buffer`; a float is handed
/// back for `Display`, whose shortest round-trip digits are not worth rewriting here.
fn number_text(value: MetricNumber, buffer: &mut [u8; NUMBER_TEXT]) -> Result<&[u8], f64> {
    let start = match value {
        MetricNumber::Unsigned(n) => integer_text(false, n, buffer),
        MetricNumber::Signed(n) => integer_text(n < 0, n.unsigned_abs(), buffer),
        MetricNumber::Duration(d) => {
            return millis_text(d, buffer).ok_or(d.as_secs_f64() * 1000.0);
        }
        MetricNumber::Float(n) => return Err(n),
    };
    Ok(&buffer[start..])
}

/// A duration's text in milliseconds, exact: the whole milliseconds, then the
/// nanoseconds' six decimals without their trailing zeros. `None` beyond `u64::MAX`
/// milliseconds. Written here rather than by float `Display`, because
/// `as_secs_f64() * 1000.0` is not exact (15 µs became `0.015000000000000001`), and
/// because without aggregation a publish writes its numbers on the caller's thread, where
/// float `Display` runs about 1,000 instructions on 55 cache lines of code per duration
/// (counted under valgrind's lackey).
fn millis_text(duration: Duration, buffer: &mut [u8; NUMBER_TEXT]) -> Option<&[u8]> {
    let whole = duration
        .as_secs()
        .checked_mul(1000)?
        .checked_add(u64::from(duration.subsec_millis()))?;
    let mut nanos = duration.subsec_nanos() % 1_000_000;
    let mut end = buffer.len();
    if nanos != 0 {
        let mut decimals = 6;
        while nanos % 10 == 0 {
            nanos /= 10;
            decimals -= 1;
        }
        // A leading 1 keeps the decimals' leading zeros, and is then overwritten by the point.
        let point = integer_text(false, 10u64.pow(decimals) + u64::from(nanos), buffer);
        buffer[point] = b'.';
        end = point;
    }
    let start = integer_text(false, whole, &mut buffer[..end]);
    Some(&buffer[start..])
}

/// Writes the text `Display` writes for an integer so that it ends where `buffer` does;
/// returns where it starts. Without the formatting machinery, which costs more than the
/// digits on the publish path. Two digits at a time, from a table: half the divisions of
/// digit by digit. Never inlined: its callers write up to two integers per number, and one
/// copy of it is less code for a publish on a cold core to fetch.
#[inline(never)]
fn integer_text(negative: bool, mut magnitude: u64, buffer: &mut [u8]) -> usize {
    /// "00", "01", ... "99".
    const PAIRS: [u8; 200] = {
        let mut pairs = [0; 200];
        let mut i = 0;
        while i < 100 {
            pairs[2 * i] = b'0' + (i / 10) as u8;
            pairs[2 * i + 1] = b'0' + (i % 10) as u8;
            i += 1;
        }
        pairs
    };
    let mut at = buffer.len();
    while magnitude >= 100 {
        let pair = (magnitude % 100) as usize * 2;
        magnitude /= 100;
        at -= 2;
        buffer[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    if magnitude >= 10 {
        let pair = magnitude as usize * 2;
        at -= 2;
        buffer[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    } else {
        at -= 1;
        buffer[at] = b'0' + magnitude as u8;
    }
    if negative {
        at -= 1;
        buffer[at] = b'-';
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_display_writes_them() {
        let cases = [
            MetricNumber::Unsigned(0),
            MetricNumber::Unsigned(1250),
            MetricNumber::Unsigned(u64::MAX),
            MetricNumber::Signed(-7),
            MetricNumber::Signed(i64::MIN),
            MetricNumber::Signed(i64::MAX),
            MetricNumber::Signed(0),
            MetricNumber::Signed(-10),
            MetricNumber::Float(0.25),
            MetricNumber::Float(-1e300),
        ];
        // Every width of both digit paths (pairs, then one or two digits left).
        let widths = (0..=20_000)
            .chain((1..20).flat_map(|p| [10u64.pow(p) - 1, 10u64.pow(p), 10u64.pow(p) + 1]))
            .flat_map(|n| [MetricNumber::Unsigned(n), MetricNumber::Signed(-(n as i64))]);
        for number in cases.into_iter().chain(widths) {
            let expected = match number {
                MetricNumber::Unsigned(n) => n.to_string(),
                MetricNumber::Signed(n) => n.to_string(),
                MetricNumber::Float(n) => n.to_string(),
                MetricNumber::Duration(_) => unreachable!("no durations among these cases"),
            };
            let mut line = String::new();
            write_number(&mut line, number);
            assert_eq!(line, expected);
        }
    }

    /// A duration is sent in milliseconds, exactly: every decimal its nanoseconds give,
    /// and none that they do not.
    #[test]
    fn durations_are_written_in_exact_milliseconds() {
        let cases = [
            (Duration::ZERO, "0"),
            (Duration::from_millis(130), "130"),
            (Duration::from_micros(1500), "1.5"),
            // `as_secs_f64() * 1000.0` gives 0.015000000000000001.
            (Duration::from_micros(15), "0.015"),
            (Duration::from_nanos(1), "0.000001"),
            (Duration::from_nanos(10), "0.00001"),
            (Duration::from_nanos(123_456_789), "123.456789"),
            (Duration::from_nanos(1_000_000_100), "1000.0001"),
            (Duration::from_secs(86_400), "86400000"),
            (Duration::from_millis(u64::MAX), "18446744073709551615"),
            (
                Duration::from_millis(u64::MAX) + Duration::from_nanos(999_999),
                "18446744073709551615.999999",
            ),
        ];
        for (duration, expected) in cases {
            let mut line = String::new();
            write_number(&mut line, MetricNumber::Duration(duration));
            assert_eq!(line, expected, "{duration:?}");
        }
        // Beyond u64::MAX milliseconds, float Display's digits, as any float's.
        let mut line = String::new();
        write_number(&mut line, MetricNumber::Duration(Duration::MAX));
        assert_eq!(line, (Duration::MAX.as_secs_f64() * 1000.0).to_string());
    }
}
