//! A distribution's samples as a slot keeps them until they are sent: each a kind byte and
//! eight bytes of value, so appending one is two stores and writes no digits. The
//! aggregation thread reads them back to write their text.
//!
//! Fixed width rather than varints: a varint's branches took more of a publish's code
//! (`scripts/bench-footprint`: 13 more cache lines of code for the checkout handler's two
//! publishes) than its denser samples saved, and code is what a request thread that wakes
//! up for each request meets cold (BENCHMARKS.md, row 11).

use std::time::Duration;

use crate::metric::MetricNumber;

const UNSIGNED: u8 = 0;
const SIGNED: u8 = 1;
const FLOAT: u8 = 2;
/// A duration of up to `u64::MAX` nanoseconds (584 years), in nanoseconds.
const NANOS: u8 = 3;
/// A longer duration: its seconds, then its nanoseconds in eight more bytes.
const LONG_DURATION: u8 = 4;

/// The bytes a sample takes, bar a duration of more than 584 years.
pub(crate) const SAMPLE_BYTES: usize = 9;

/// The most bytes one sample takes: a duration of more than 584 years.
pub(crate) const SAMPLE_BYTES_MAX: usize = 17;

/// Appends `number`.
#[inline]
pub(crate) fn push(samples: &mut Vec<u8>, number: MetricNumber) {
    let (kind, value) = match number {
        MetricNumber::Unsigned(n) => (UNSIGNED, n),
        MetricNumber::Signed(n) => (SIGNED, n as u64),
        MetricNumber::Float(f) => (FLOAT, f.to_bits()),
        MetricNumber::Duration(d) => match u64::try_from(d.as_nanos()) {
            Ok(nanos) => (NANOS, nanos),
            Err(_) => return push_long_duration(samples, d),
        },
    };
    let [a, b, c, d, e, f, g, h] = value.to_le_bytes();
    samples.extend_from_slice(&[kind, a, b, c, d, e, f, g, h]);
}

#[cold]
#[inline(never)]
fn push_long_duration(samples: &mut Vec<u8>, duration: Duration) {
    samples.push(LONG_DURATION);
    samples.extend_from_slice(&duration.as_secs().to_le_bytes());
    samples.extend_from_slice(&u64::from(duration.subsec_nanos()).to_le_bytes());
}

/// The numbers [`push`] appended to `samples`, in order.
pub(crate) fn numbers(samples: &[u8]) -> Numbers<'_> {
    Numbers { rest: samples }
}

/// The iterator [`numbers`] returns.
pub(crate) struct Numbers<'a> {
    rest: &'a [u8],
}

impl Numbers<'_> {
    fn word(&mut self) -> Option<u64> {
        let (bytes, rest) = self.rest.split_first_chunk::<8>()?;
        self.rest = rest;
        Some(u64::from_le_bytes(*bytes))
    }
}

impl Iterator for Numbers<'_> {
    type Item = MetricNumber;

    /// `None` at the end. Only [`push`] writes these bytes, so nothing else ends it early.
    fn next(&mut self) -> Option<MetricNumber> {
        let (&kind, rest) = self.rest.split_first()?;
        self.rest = rest;
        let value = self.word()?;
        Some(match kind {
            UNSIGNED => MetricNumber::Unsigned(value),
            SIGNED => MetricNumber::Signed(value as i64),
            FLOAT => MetricNumber::Float(f64::from_bits(value)),
            NANOS => MetricNumber::Duration(Duration::from_nanos(value)),
            LONG_DURATION => {
                let nanos = u32::try_from(self.word()?)
                    .ok()
                    .filter(|&n| n < 1_000_000_000)?;
                MetricNumber::Duration(Duration::new(value, nanos))
            }
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_number_reads_back_as_it_was_pushed() {
        let numbers = [
            MetricNumber::Unsigned(0),
            MetricNumber::Unsigned(1250),
            MetricNumber::Unsigned(u64::MAX),
            MetricNumber::Signed(0),
            MetricNumber::Signed(-1),
            MetricNumber::Signed(i64::MIN),
            MetricNumber::Signed(i64::MAX),
            MetricNumber::Float(0.25),
            MetricNumber::Float(-0.0),
            MetricNumber::Float(f64::MIN_POSITIVE),
            MetricNumber::Float(-1e300),
            MetricNumber::Duration(Duration::ZERO),
            MetricNumber::Duration(Duration::from_micros(15)),
            MetricNumber::Duration(Duration::new(86_400, 999_999_999)),
            MetricNumber::Duration(Duration::from_nanos(u64::MAX)),
            MetricNumber::Duration(Duration::from_nanos(u64::MAX) + Duration::from_nanos(1)),
            MetricNumber::Duration(Duration::MAX),
        ];
        let mut samples = Vec::new();
        for &number in &numbers {
            let before = samples.len();
            push(&mut samples, number);
            assert!(samples.len() - before <= SAMPLE_BYTES_MAX, "{number:?}");
        }
        let read: Vec<MetricNumber> = super::numbers(&samples).collect();
        // Compared bit for bit, so that -0.0 is not taken for 0.0.
        let bits = |n: &MetricNumber| match *n {
            MetricNumber::Float(f) => format!("float {:x}", f.to_bits()),
            other => format!("{other:?}"),
        };
        assert_eq!(
            read.iter().map(bits).collect::<Vec<_>>(),
            numbers.iter().map(bits).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_sample_takes_nine_bytes_bar_a_duration_of_centuries() {
        for number in [
            MetricNumber::Unsigned(u64::MAX),
            MetricNumber::Signed(i64::MIN),
            MetricNumber::Float(f64::NAN),
            MetricNumber::Duration(Duration::from_nanos(u64::MAX)),
        ] {
            let mut samples = Vec::new();
            push(&mut samples, number);
            assert_eq!(samples.len(), SAMPLE_BYTES, "{number:?}");
        }
        let mut samples = Vec::new();
        push(
            &mut samples,
            MetricNumber::Duration(Duration::from_nanos(u64::MAX) + Duration::from_nanos(1)),
        );
        assert_eq!(samples.len(), SAMPLE_BYTES_MAX);
    }
}
