//! Value metrics: the extra DogStatsD metrics declared with `#[event(metric = "...")]`.

use core::time::Duration;

/// The DogStatsD metric type of a value metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MetricKind {
    /// `|c`: added to a counter.
    Count,
    /// `|g`: the last value wins.
    Gauge,
    /// `|h`: aggregated by the agent into avg, count, median, p95 and max.
    Histogram,
    /// `|d`: aggregated server-side into global percentiles.
    Distribution,
    /// `|ms`: a histogram of milliseconds.
    Timing,
}

impl MetricKind {
    /// The type letter(s) written after the value in a datagram.
    pub const fn type_letter(self) -> &'static str {
        match self {
            MetricKind::Count => "c",
            MetricKind::Gauge => "g",
            MetricKind::Histogram => "h",
            MetricKind::Distribution => "d",
            MetricKind::Timing => "ms",
        }
    }

    /// Series one tag combination creates, as Datadog bills them: the agent turns a
    /// histogram or timing into five series, and a distribution is billed as five too.
    pub const fn series_per_combination(self) -> usize {
        match self {
            MetricKind::Count | MetricKind::Gauge => 1,
            MetricKind::Histogram | MetricKind::Distribution | MetricKind::Timing => 5,
        }
    }
}

/// A value metric declared on an event: its full name and its type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValueMetric {
    /// `<event name>.<field name>`.
    pub name: &'static str,
    /// How DogStatsD aggregates it.
    pub kind: MetricKind,
}

/// A number to write as a metric value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MetricNumber {
    /// An unsigned integer.
    Unsigned(u64),
    /// A signed integer.
    Signed(i64),
    /// A float.
    Float(f64),
    /// A duration, sent in milliseconds: exactly, with up to six decimals.
    Duration(Duration),
}

/// A field type that can carry a value metric: integers, floats and `Duration`
/// (sent in milliseconds), or an `Option` of these (`None` sends nothing).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a value metric",
    label = "`#[event(metric = ...)]` needs a numeric or `Duration` field",
    note = "value metrics are numbers: use an integer, a float, a `Duration` or an `Option` of these"
)]
pub trait MetricValue {
    /// The number to send, or `None` to send nothing for this event.
    fn metric_number(&self) -> Option<MetricNumber>;
}

macro_rules! metric_value {
    ($variant:ident as $wide:ty: $($ty:ty)*) => {$(
        impl MetricValue for $ty {
            fn metric_number(&self) -> Option<MetricNumber> {
                Some(MetricNumber::$variant(<$wide>::from(*self)))
            }
        }
    )*};
}
metric_value!(Unsigned as u64: u8 u16 u32 u64);
metric_value!(Signed as i64: i8 i16 i32 i64);
metric_value!(Float as f64: f32 f64);

impl MetricValue for Duration {
    fn metric_number(&self) -> Option<MetricNumber> {
        Some(MetricNumber::Duration(*self))
    }
}

impl<T: MetricValue> MetricValue for Option<T> {
    fn metric_number(&self) -> Option<MetricNumber> {
        self.as_ref().and_then(MetricValue::metric_number)
    }
}
