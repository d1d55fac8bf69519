//! Types written as paths or aliases, raw identifiers, and a pinned budget all work:
//! the derive relies on trait bounds, not on spelling.
use std::time::Duration as Elapsed;

use event_runtime::{Event, Tag};

mod tags {
    #[derive(event_runtime::Tag, Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Outcome { Ok, Failed }
}

type Flag = bool;
type Text = std::string::String;

#[derive(Event)]
#[event(topic = "jobs.v1", max_series = 36)]
struct JobFinished {
    #[event(key)]
    r#type: Text,
    #[event(tag)]
    outcome: tags::Outcome,
    #[event(tag = "retried")]
    was_retried: Option<Flag>,
    #[event(metric = "timing", id = 10)]
    took: Elapsed,
    attempts: Vec<u32>,
}

fn main() {
    assert_eq!(JobFinished::NAME, "job_finished");
    assert_eq!(JobFinished::SERIES, 2 * 3 * (1 + 5));
    assert_eq!(JobFinished::TAG_KEYS, ["outcome", "retried"]);
    assert_eq!(<Option<tags::Outcome> as Tag>::CARDINALITY, 3);
    assert!(JobFinished::proto_schema().contains("string type = 1;"));
    assert!(JobFinished::proto_schema().contains("repeated uint32 attempts = 11;"));
}
