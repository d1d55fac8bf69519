//! The lines of the path without aggregation, rendered ahead for each tag combination.
//!
//! Every tag combination of an event is known at compile time (its tags are enums and
//! bools), so the counter line of each combination, and the `|#tags` every value metric
//! line of it ends with, are written once, the first time the event type is published. A
//! publish then copies its combination's counter line and writes only the numbers of its
//! value metrics: no tag is formatted on the hot path.

use std::any::TypeId;

use super::statsd_line::LineFormat;
use crate::once_map::OnceMap;
use crate::records::event_id::random_unit;
use crate::Event;

/// One event type's lines, indexed by `Event::tag_combination()`.
struct EventLines {
    /// A tag key the constant tags also have: every line would carry it twice.
    clash: Option<&'static str>,
    /// `name:1|c[|@rate]|#tags` of each combination.
    counters: Box<[Box<str>]>,
    /// `|#tags` of each combination.
    tags: Box<[Box<str>]>,
}

impl EventLines {
    fn of<E: Event>(format: &LineFormat) -> Self {
        let render = |write: &dyn Fn(usize, &mut String)| -> Box<[Box<str>]> {
            (0..E::TAG_COMBINATIONS)
                .map(|combination| {
                    let mut line = String::new();
                    write(combination, &mut line);
                    line.into_boxed_str()
                })
                .collect()
        };
        EventLines {
            clash: format.clashing_tag::<E>(),
            counters: render(&|combination, line| {
                format.write_counter_of_combination::<E>(combination, E::SAMPLE_RATE, line)
            }),
            tags: render(&|combination, line| {
                format.write_tags_of_combination::<E>(combination, line)
            }),
        }
    }
}

/// The rendered lines of every event type published so far.
#[derive(Default)]
pub(crate) struct RenderedLines {
    events: OnceMap<TypeId, EventLines>,
}

impl RenderedLines {
    /// Appends `event`'s lines to `out`: its counter (unless sampled out) and one line per
    /// value metric, joined with `\n`, as [`LineFormat::write_value_metrics`] writes them.
    /// Refused, with the clashing key, when a tag is also a constant tag.
    #[inline]
    pub fn write<E: Event>(
        &self,
        event: &E,
        format: &LineFormat,
        out: &mut String,
    ) -> Result<(), &'static str> {
        let lines = self
            .events
            .get_or_insert_with(E::type_id(), || EventLines::of::<E>(format));
        if let Some(key) = lines.clash {
            return Err(key);
        }
        let combination = event.tag_combination();
        if E::SAMPLE_RATE >= 1.0 || random_unit() < E::SAMPLE_RATE {
            out.push_str(&lines.counters[combination]);
        }
        let tags = &lines.tags[combination];
        format.write_value_lines(event, out, |_, out| out.push_str(tags));
        Ok(())
    }
}
