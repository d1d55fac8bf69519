//! Feature `tracing`: each publish emits a `tracing` event at debug, target
//! `event_runtime::publish`, carrying the event's name and id, so a service's log lines and
//! the Kafka records join on the id.
#![cfg(feature = "tracing")]

mod common;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use event_runtime::{header, Dispatcher, RecordingSink};
use tracing_core::field::{Field, Visit};
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Dispatch, Event, Level, Metadata, Subscriber};

/// Keeps the fields of every event it is given.
#[derive(Default)]
struct Capture(Mutex<Vec<(Level, BTreeMap<String, String>)>>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl Subscriber for Capture {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target() == "event_runtime::publish"
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        self.0
            .lock()
            .unwrap()
            .push((*event.metadata().level(), fields));
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn each_publish_emits_a_debug_event_with_the_record_s_event_id() {
    let capture = Arc::new(Capture::default());
    let recording = RecordingSink::new();
    let events = Dispatcher::builder().recording(&recording).build().unwrap();
    tracing_core::dispatcher::with_default(&Dispatch::new(Arc::clone(&capture)), || {
        for _ in 0..3 {
            events.publish(&common::design_example());
        }
    });
    let seen = capture.0.lock().unwrap().clone();
    let records = recording.records();
    assert_eq!(seen.len(), records.len());
    for ((level, fields), record) in seen.iter().zip(&records) {
        assert_eq!(*level, Level::DEBUG);
        assert_eq!(fields["event"], "payment.attempted");
        assert_eq!(fields["topic"], "payments");
        assert_eq!(
            Some(fields["event_id"].as_str()),
            record.header(header::EVENT_ID),
            "the log line and the record join on the id"
        );
    }
}
