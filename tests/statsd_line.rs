//! DogStatsD lines: exact text, tag order, value metrics, prefix and constant tags,
//! sampling, and the aggregated form. Most tests here turn aggregation off to see the
//! line of each publish; `tests/aggregation.rs` covers the aggregated totals.

mod common;

use common::{KitchenSink, Market, Method, PaymentAttempted, Platform};
use event_runtime::{Dispatcher, Event, LineFormat, RecordingSink, Tag};

fn lines<E: Event>(event: &E) -> Vec<String> {
    let recording = RecordingSink::new();
    let events = Dispatcher::builder()
        .aggregate_metrics(None)
        .recording(&recording)
        .build()
        .unwrap();
    events.publish(event);
    recording.statsd_lines()
}

#[test]
fn design_example_counter_and_distribution() {
    assert_eq!(
        lines(&common::design_example()),
        [
            "payment.attempted:1|c|#market:uk,platform:ios,first_order:true",
            "payment.attempted.amount_pence:1250|d|#market:uk,platform:ios,first_order:true",
        ]
    );
}

#[test]
fn tags_follow_declaration_order_and_renames() {
    let mut event = sink_event();
    event.market = None;
    event.retried = Some(false);
    let lines = lines(&event);
    assert_eq!(
        lines[0],
        "kitchen.sink:1|c|#method:apple-pay,maybe_market:none,retried:false"
    );
    // Every value metric carries the same tags, with its own type letter.
    let tags = "|#method:apple-pay,maybe_market:none,retried:false";
    assert_eq!(
        &lines[1..],
        [
            format!("kitchen.sink.big:-7|g{tags}"),
            format!("kitchen.sink.total:9|c{tags}"),
            format!("kitchen.sink.precise:0.25|h{tags}"),
            format!("kitchen.sink.took:1500|ms{tags}"),
        ]
    );
}

#[test]
fn non_finite_values_are_not_sent() {
    let mut event = sink_event();
    event.precise = f64::NAN;
    assert!(lines(&event)
        .iter()
        .all(|l| !l.starts_with("kitchen.sink.precise")));
}

#[test]
fn prefix_and_constant_tags() {
    let recording = RecordingSink::new();
    let events = Dispatcher::builder()
        .aggregate_metrics(None)
        .prefix("shop.eu")
        .constant_tag("env", "prod")
        .constant_tag("service", "checkout")
        .recording(&recording)
        .build()
        .unwrap();
    events.publish(&common::design_example());
    assert_eq!(
        recording.statsd_lines()[0],
        "shop.eu.payment.attempted:1|c|#market:uk,platform:ios,first_order:true,env:prod,service:checkout"
    );
}

#[derive(Event)]
#[event(topic = "clicks", sample_rate = 0.25)]
struct ButtonClicked {
    #[event(tag)]
    platform: Platform,
}

#[test]
fn sampled_counters_carry_their_rate_and_are_sampled() {
    let recording = RecordingSink::new();
    let events = Dispatcher::builder()
        .aggregate_metrics(None)
        .recording(&recording)
        .build()
        .unwrap();
    for _ in 0..4000 {
        events.publish(&ButtonClicked {
            platform: Platform::Web,
        });
    }
    let lines = recording.statsd_lines();
    assert!(lines
        .iter()
        .all(|l| l == "button_clicked:1|c|@0.25|#platform:web"));
    // Binomial(4000, 0.25): mean 1000, sd 27; 8 sd either side.
    assert!(
        (780..1220).contains(&lines.len()),
        "{} lines sent",
        lines.len()
    );
    // Kafka still gets every event: sampling is for the counter only.
    assert_eq!(recording.records().len(), 4000);
}

#[test]
fn every_combination_index_maps_back_to_its_tags() {
    assert_eq!(PaymentAttempted::TAG_COMBINATIONS, 3 * 3 * 2);
    assert_eq!(PaymentAttempted::SERIES, 18 * (1 + 5));
    let mut seen = std::collections::HashSet::new();
    for market in 0..Market::CARDINALITY {
        for platform in 0..Platform::CARDINALITY {
            for first_order in [false, true] {
                let mut event = common::design_example();
                event.market = Market::from_index(market).unwrap();
                event.platform = Platform::from_index(platform).unwrap();
                event.first_order = first_order;
                let combination = event.tag_combination();
                assert!(combination < PaymentAttempted::TAG_COMBINATIONS);
                assert!(
                    seen.insert(combination),
                    "combination {combination} repeated"
                );

                let mut from_event = Vec::new();
                event.for_each_tag(|k, v| from_event.push((k, v)));
                let mut from_index = Vec::new();
                PaymentAttempted::for_each_tag_of_combination(combination, |k, v| {
                    from_index.push((k, v))
                });
                assert_eq!(from_event, from_index);
            }
        }
    }
    let mut nothing = Vec::new();
    PaymentAttempted::for_each_tag_of_combination(18, |k, v| nothing.push((k, v)));
    assert!(nothing.is_empty());
}

#[test]
fn aggregated_counter_line() {
    let mut out = String::new();
    let combination = common::design_example().tag_combination();
    LineFormat::default().write_aggregated_counter::<PaymentAttempted>(combination, 42, &mut out);
    assert_eq!(
        out,
        "payment.attempted:42|c|#market:uk,platform:ios,first_order:true"
    );
}

#[test]
fn an_event_without_tags_has_no_tag_section() {
    #[derive(Event)]
    #[event(name = "heartbeat", topic = "ops")]
    struct Heartbeat {
        host_id: String,
    }
    assert_eq!(
        lines(&Heartbeat {
            host_id: "h".into()
        }),
        ["heartbeat:1|c"]
    );
}

fn sink_event() -> KitchenSink {
    KitchenSink {
        key: b"k".to_vec(),
        flag: true,
        small: 1,
        big: -7,
        count: 2,
        total: 9,
        ratio: 0.5,
        precise: 0.25,
        text: "t".into(),
        blob: vec![1],
        method: Method::ApplePay,
        market: Some(Market::Fr),
        took: std::time::Duration::from_millis(1500),
        ..common::kitchen_sink_example()
    }
}

/// The lines sent without aggregation are rendered once per tag combination and copied on
/// each publish: for every combination, and in any order of publishing, they are the lines
/// `LineFormat` formats from the event itself.
#[test]
fn rendered_lines_equal_the_formatted_ones_for_every_tag_combination() {
    let recording = RecordingSink::new();
    let events = Dispatcher::builder()
        .aggregate_metrics(None)
        .recording(&recording)
        .build()
        .unwrap();
    let mut expected = Vec::new();
    let format = LineFormat::default();
    // Twice over, so that the second round reads what the first rendered.
    for round in 0..2u64 {
        for market in 0..Market::CARDINALITY {
            for platform in (0..Platform::CARDINALITY).rev() {
                for first_order in [true, false] {
                    let event = PaymentAttempted {
                        market: Market::from_index(market).unwrap(),
                        platform: Platform::from_index(platform).unwrap(),
                        first_order,
                        amount_pence: 100 * round + market as u64,
                        ..common::design_example()
                    };
                    events.publish(&event);
                    let mut text = String::new();
                    format.write_counter(&event, 1.0, &mut text);
                    format.write_value_metrics(&event, &mut text);
                    expected.extend(text.split('\n').map(str::to_owned));
                }
            }
        }
    }
    assert_eq!(expected.len(), 2 * 2 * 18);
    assert_eq!(recording.statsd_lines(), expected);
}
