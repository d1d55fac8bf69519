//! Trace context, from the OpenTelemetry span a service publishes in to the warehouse row:
//! each record carries the span's W3C `traceparent` (and `tracestate`), and the loader
//! stores its trace and span ids, so an analyst can go from a SQL row to the APM trace.
//! Spans are made by OpenTelemetry's own SDK, as a service's are.
#![cfg(feature = "opentelemetry")]

mod common;

use std::time::Duration;

use event_runtime::{header, Dispatcher, Event, RecordingSink};
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, Tracer,
    TracerProvider as _,
};
use opentelemetry::Context;
use opentelemetry_sdk::trace::SdkTracerProvider;

#[derive(Event, Clone, Debug, PartialEq)]
#[event(name = "checkout.traced", topic = "trace-context")]
struct CheckoutTraced {
    run: String,
    sequence: u64,
}

/// The `traceparent` W3C Trace Context gives a span context, formatted independently of
/// the crate's own formatter.
fn traceparent_of(context: &SpanContext) -> String {
    format!(
        "00-{:032x}-{:016x}-{:02x}",
        context.trace_id(),
        context.span_id(),
        context.trace_flags().to_u8()
    )
}

/// Publishes `sequence` inside a new span of `tracer` and returns the span's context.
fn publish_in_span(
    tracer: &opentelemetry_sdk::trace::SdkTracer,
    events: &Dispatcher,
    run: &str,
    sequence: u64,
) -> SpanContext {
    tracer.in_span("checkout", |cx| {
        events.publish(&CheckoutTraced {
            run: run.into(),
            sequence,
        });
        cx.span().span_context().clone()
    })
}

#[test]
fn a_record_published_in_a_span_carries_its_traceparent_and_tracestate_and_none_outside() {
    let provider = SdkTracerProvider::builder().build();
    let tracer = provider.tracer("checkout-service");
    let recording = RecordingSink::new();
    let events = Dispatcher::builder().recording(&recording).build().unwrap();

    // A request that arrived with a vendor's tracestate: the SDK's span inherits it.
    let incoming = SpanContext::new(
        TraceId::from_bytes(0x4bf92f3577b34da6a3ce929d0e0e4736_u128.to_be_bytes()),
        SpanId::from_bytes(0x00f067aa0ba902b7_u64.to_be_bytes()),
        TraceFlags::SAMPLED,
        true,
        TraceState::from_key_value([("congo", "t61rcWkgMzE")]).unwrap(),
    );
    let in_request = {
        let _attached = Context::new()
            .with_remote_span_context(incoming.clone())
            .attach();
        publish_in_span(&tracer, &events, "unit", 0)
    };
    let untraced_state = publish_in_span(&tracer, &events, "unit", 1);
    events.publish(&CheckoutTraced {
        run: "unit".into(),
        sequence: 2,
    });
    events.shutdown(Duration::from_secs(5)).unwrap();

    let records = recording.records();
    assert_eq!(records.len(), 3);
    // The child span of the incoming request: same trace, its own span id.
    assert_eq!(in_request.trace_id(), incoming.trace_id());
    assert_ne!(in_request.span_id(), incoming.span_id());
    assert_eq!(
        records[0].header(header::TRACEPARENT),
        Some(traceparent_of(&in_request).as_str())
    );
    assert_eq!(
        records[0].header(header::TRACESTATE),
        Some("congo=t61rcWkgMzE")
    );
    assert_eq!(
        records[1].header(header::TRACEPARENT),
        Some(traceparent_of(&untraced_state).as_str())
    );
    assert_eq!(records[1].header(header::TRACESTATE), None);
    assert_eq!(records[2].header(header::TRACEPARENT), None);
    assert_eq!(records[2].header(header::TRACESTATE), None);
}

#[cfg(feature = "warehouse")]
mod against_the_broker {
    use super::*;
    use common::services;
    use event_runtime::KafkaConfig;
    use event_warehouse::{Backend, Loader, LoaderConfig, Postgres, SqlValue};
    use multi_dispatch_events::readback::read_topics;

    const TRACED: u64 = 40;
    const UNTRACED: u64 = 10;

    #[test]
    fn the_consumed_traceparent_is_the_span_s_and_the_loader_stores_its_ids() {
        let run = services::run_id();
        let provider = SdkTracerProvider::builder().build();
        let tracer = provider.tracer("checkout-service");
        let events = Dispatcher::builder()
            .kafka(KafkaConfig::new(services::kafka_bootstrap()))
            .build()
            .unwrap();
        let spans: Vec<SpanContext> = (0..TRACED)
            .map(|sequence| publish_in_span(&tracer, &events, &run, sequence))
            .collect();
        for sequence in TRACED..TRACED + UNTRACED {
            events.publish(&CheckoutTraced {
                run: run.clone(),
                sequence,
            });
        }
        let report = events.shutdown(Duration::from_secs(60)).unwrap();
        assert_eq!(report.sink("kafka").unwrap().delivered, TRACED + UNTRACED);

        // Read back as any consumer would, and parse each header as W3C Trace Context.
        let records = read_topics(
            &services::kafka_bootstrap(),
            &[CheckoutTraced::TOPIC],
            |r| CheckoutTraced::decode(&r.payload).is_ok_and(|e| e.run == run),
            |kept| kept.len() as u64 == TRACED + UNTRACED,
            Duration::from_secs(60),
        )
        .unwrap();
        assert_eq!(records.len() as u64, TRACED + UNTRACED);
        let mut by_sequence = std::collections::BTreeMap::new();
        for record in &records {
            let event = CheckoutTraced::decode(&record.payload).unwrap();
            by_sequence.insert(
                event.sequence,
                record.header(header::TRACEPARENT).map(str::to_owned),
            );
        }
        for (sequence, traceparent) in &by_sequence {
            match spans.get(*sequence as usize) {
                Some(span) => {
                    let traceparent = traceparent
                        .as_deref()
                        .expect("a traced record has a traceparent");
                    let parts: Vec<&str> = traceparent.split('-').collect();
                    assert_eq!(parts.len(), 4, "{traceparent}");
                    assert_eq!(parts[0], "00");
                    assert_eq!(
                        TraceId::from_hex(parts[1]).unwrap(),
                        span.trace_id(),
                        "{traceparent}"
                    );
                    assert_eq!(SpanId::from_hex(parts[2]).unwrap(), span.span_id());
                    assert_eq!(
                        u8::from_str_radix(parts[3], 16).unwrap(),
                        span.trace_flags().to_u8()
                    );
                }
                None => assert_eq!(traceparent, &None, "sequence {sequence}"),
            }
        }

        // The loader keeps the ids: NULL exactly for the records published outside a span.
        let url = services::fresh_postgres_database("trace");
        let mut running = Loader::new(
            LoaderConfig::new(services::kafka_bootstrap(), format!("trace-{run}")),
            Postgres::connect(&url).unwrap(),
        )
        .event::<CheckoutTraced>()
        .start()
        .unwrap();
        let query = "SELECT sequence::bigint, trace_id, span_id FROM checkout_traced WHERE run = $1 ORDER BY sequence";
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        let rows = loop {
            let rows = running.backend().query(query, &[&run]).unwrap();
            if rows.len() as u64 == TRACED + UNTRACED {
                break rows;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "loaded {} rows",
                rows.len()
            );
            running.load_batch().unwrap();
        };
        for (row, sequence) in rows.iter().zip(0..) {
            assert_eq!(row[0].as_i64(), Some(sequence));
            match spans.get(sequence as usize) {
                Some(span) => {
                    assert_eq!(row[1], SqlValue::Text(format!("{:032x}", span.trace_id())));
                    assert_eq!(row[2], SqlValue::Text(format!("{:016x}", span.span_id())));
                }
                None => assert_eq!((&row[1], &row[2]), (&SqlValue::Null, &SqlValue::Null)),
            }
        }
    }
}
