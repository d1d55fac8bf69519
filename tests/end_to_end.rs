//! One publish, both stores: 10,000 events of three types go to the real Kafka broker and
//! the real statsd_exporter; what Kafka holds and what StatsD counted must agree.
#![cfg(all(feature = "kafka", feature = "statsd"))]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::services;
use event_runtime::{header, Dispatcher, Event, KafkaConfig, StatsdConfig, Tag};
use multi_dispatch_events::readback::read_topics;

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Country {
    Uk,
    Fr,
    It,
}

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Platform {
    Android,
    Ios,
}

#[derive(Event, Clone, Debug, PartialEq)]
#[event(name = "e2e.cart_created", topic = "e2e-carts")]
struct CartCreated {
    #[event(key)]
    cart_id: String,
    run: String,
    user_id: String,
    #[event(tag)]
    country: Country,
    #[event(tag)]
    platform: Platform,
}

#[derive(Event, Clone, Debug, PartialEq)]
#[event(name = "e2e.item_added", topic = "e2e-carts")]
struct ItemAdded {
    #[event(key)]
    cart_id: String,
    run: String,
    sku: String,
    #[event(tag)]
    country: Country,
    #[event(tag)]
    promoted: bool,
    #[event(metric = "distribution")]
    price_pence: u64,
}

#[derive(Event, Clone, Debug, PartialEq)]
#[event(name = "e2e.checkout", topic = "e2e-checkouts")]
struct CheckedOut {
    #[event(key)]
    cart_id: String,
    run: String,
    #[event(tag)]
    platform: Platform,
    #[event(tag)]
    coupon: Option<Country>,
}

enum Published {
    Cart(CartCreated),
    Item(ItemAdded),
    Checkout(CheckedOut),
}

fn stream(run: &str, count: u64) -> Vec<Published> {
    (0..count)
        .map(|i| {
            let cart_id = format!("{run}-c{}", i / 5);
            let country = Country::from_index((i % 3) as usize).unwrap();
            let platform = Platform::from_index((i / 3 % 2) as usize).unwrap();
            match i % 5 {
                0 => Published::Cart(CartCreated {
                    cart_id,
                    run: run.into(),
                    user_id: format!("u{}", i % 997),
                    country,
                    platform,
                }),
                4 => Published::Checkout(CheckedOut {
                    cart_id,
                    run: run.into(),
                    platform,
                    coupon: Option::<Country>::from_index((i / 7 % 4) as usize).unwrap(),
                }),
                _ => Published::Item(ItemAdded {
                    cart_id,
                    run: run.into(),
                    sku: format!("sku-{}", i % 321),
                    country,
                    promoted: i % 4 == 1,
                    price_pence: 100 + i % 900,
                }),
            }
        })
        .collect()
}

/// Counts per (event name, sorted tags) from a set of decoded events.
type Counts = BTreeMap<(String, Vec<(String, String)>), u64>;

fn tags_of<E: Event>(event: &E) -> Vec<(String, String)> {
    let mut tags = Vec::new();
    event.for_each_tag(|k, v| tags.push((k.to_owned(), v.to_owned())));
    tags
}

#[test]
fn kafka_and_statsd_agree_on_10000_events() {
    let run = services::run_id();
    let published = stream(&run, 10_000);
    let events = Dispatcher::builder()
        .kafka(KafkaConfig::new(services::kafka_bootstrap()))
        .statsd(StatsdConfig::udp(services::statsd_udp()).constant_tag("run", &run))
        .build()
        .unwrap();
    for event in &published {
        match event {
            Published::Cart(e) => events.publish(e),
            Published::Item(e) => events.publish(e),
            Published::Checkout(e) => events.publish(e),
        }
    }
    let report = events.shutdown(Duration::from_secs(60)).unwrap();
    assert_eq!(report.sink("kafka").unwrap().delivered, 10_000);
    let statsd_lines = report.sink("statsd").unwrap().delivered;

    // Kafka: exactly the 10,000, each decoding to what was published, keyed and labelled.
    let run_of = |schema: &str, payload: &[u8]| -> Option<String> {
        match schema {
            "events.CartCreated" => CartCreated::decode(payload).ok().map(|e| e.run),
            "events.ItemAdded" => ItemAdded::decode(payload).ok().map(|e| e.run),
            "events.CheckedOut" => CheckedOut::decode(payload).ok().map(|e| e.run),
            _ => None,
        }
    };
    let records = read_topics(
        &services::kafka_bootstrap(),
        &["e2e-carts", "e2e-checkouts"],
        |r| {
            run_of(
                r.header(header::SCHEMA_NAME).unwrap_or_default(),
                &r.payload,
            )
            .as_deref()
                == Some(run.as_str())
        },
        |kept| kept.len() >= 10_000,
        Duration::from_secs(90),
    )
    .unwrap();
    assert_eq!(records.len(), 10_000);

    let mut expected: Vec<Vec<u8>> = Vec::new();
    let mut kafka_counts = Counts::new();
    let mut consumed: Vec<Vec<u8>> = Vec::new();
    for event in &published {
        let mut bytes = Vec::new();
        match event {
            Published::Cart(e) => e.encode(&mut bytes),
            Published::Item(e) => e.encode(&mut bytes),
            Published::Checkout(e) => e.encode(&mut bytes),
        }
        expected.push(bytes);
    }
    for record in &records {
        let (name, key, tags) = match record.header(header::SCHEMA_NAME).unwrap() {
            "events.CartCreated" => {
                let e = CartCreated::decode(&record.payload).unwrap();
                (CartCreated::NAME, e.cart_id.clone(), tags_of(&e))
            }
            "events.ItemAdded" => {
                let e = ItemAdded::decode(&record.payload).unwrap();
                (ItemAdded::NAME, e.cart_id.clone(), tags_of(&e))
            }
            other => {
                assert_eq!(other, "events.CheckedOut");
                let e = CheckedOut::decode(&record.payload).unwrap();
                (CheckedOut::NAME, e.cart_id.clone(), tags_of(&e))
            }
        };
        assert_eq!(record.header(header::EVENT_NAME), Some(name));
        assert_eq!(record.key.as_deref(), Some(key.as_bytes()));
        *kafka_counts.entry((name.to_owned(), tags)).or_default() += 1;
        consumed.push(record.payload.clone());
    }
    expected.sort();
    consumed.sort();
    assert!(
        expected == consumed,
        "the consumed payloads are not exactly the published ones"
    );

    // StatsD: statsd_exporter's counter for each tag combination equals Kafka's count.
    let exported_name = |name: &str| name.replace('.', "_");
    fn labels<'a>(tags: &'a [(String, String)], run: &'a str) -> Vec<(&'a str, &'a str)> {
        let mut labels: Vec<(&str, &str)> =
            tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        labels.push(("run", run));
        labels
    }
    let labels_of = |tags| labels(tags, &run);
    let matches = |text: &str| {
        kafka_counts.iter().all(|((name, tags), n)| {
            services::exported_value(text, &exported_name(name), &labels_of(tags))
                == Some(*n as f64)
        })
    };
    let text = services::eventually_metrics(Duration::from_secs(15), matches);
    assert_eq!(
        kafka_counts.len(),
        3 * 2 + 3 * 2 + 2 * 4,
        "every tag combination was exercised"
    );
    // One aggregated counter line per tag combination, and the 6,000 distribution samples
    // packed into multi-value lines (each up to a kilobyte of samples' text).
    assert!(
        statsd_lines < kafka_counts.len() as u64 + 6_000 / 100,
        "{statsd_lines} lines"
    );
    // Every sample reached the exporter: per tag combination, its count and its sum.
    let mut samples: BTreeMap<Vec<(String, String)>, (u64, u64)> = BTreeMap::new();
    for event in &published {
        if let Published::Item(e) = event {
            let entry = samples.entry(tags_of(e)).or_default();
            entry.0 += 1;
            entry.1 += e.price_pence;
        }
    }
    assert_eq!(samples.values().map(|(n, _)| n).sum::<u64>(), 6_000);
    let samples_arrived = |text: &str| {
        samples.iter().all(|(tags, (n, sum))| {
            let labels = labels_of(tags);
            services::exported_value(text, "e2e_item_added_price_pence_count", &labels)
                == Some(*n as f64)
                && services::exported_value(text, "e2e_item_added_price_pence_sum", &labels)
                    == Some(*sum as f64)
        })
    };
    let exported = services::eventually_metrics(Duration::from_secs(15), samples_arrived);
    for (tags, (n, sum)) in &samples {
        let labels = labels_of(tags);
        let value = |metric| services::exported_value(&exported, metric, &labels);
        assert_eq!(
            (
                value("e2e_item_added_price_pence_count"),
                value("e2e_item_added_price_pence_sum")
            ),
            (Some(*n as f64), Some(*sum as f64)),
            "price_pence samples of {tags:?}"
        );
    }
    for ((name, tags), n) in &kafka_counts {
        assert_eq!(
            services::exported_value(&text, &exported_name(name), &labels_of(tags)),
            Some(*n as f64),
            "{name} {tags:?}: Kafka has {n}"
        );
    }
}
