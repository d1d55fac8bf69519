//! No datagram can be corrupted: for any prefix and constant tags a user might supply at
//! run time (from the environment), either the dispatcher refuses to build, or every line it
//! sends parses back, with a parser written here from the DogStatsD format rather than from
//! our formatter, into exactly the intended metric, value, type and tags. Covers every
//! generated Tag value of the test events too. (`end_to_end` and `statsd_sink` check the
//! same against statsd_exporter's parser.)

mod common;

use common::{KitchenSink, Market, Method, PaymentAttempted, Platform};
use event_runtime::{Dispatcher, Event, RecordingSink, Tag};
use proptest::prelude::*;

/// A DogStatsD line: `name:value|type[|@rate][|#k:v,...]`.
#[derive(Debug, PartialEq)]
struct Parsed {
    name: String,
    value: String,
    kind: String,
    tags: Vec<(String, String)>,
}

fn parse(line: &str) -> Option<Parsed> {
    if line.contains('\n') {
        return None;
    }
    let mut sections = line.split('|');
    let (name, value) = sections.next()?.split_once(':')?;
    let kind = sections.next()?.to_owned();
    let mut tags = Vec::new();
    for section in sections {
        if let Some(list) = section.strip_prefix('#') {
            for tag in list.split(',') {
                let (k, v) = tag.split_once(':')?;
                if k.is_empty() || v.is_empty() || v.contains(':') {
                    return None;
                }
                tags.push((k.to_owned(), v.to_owned()));
            }
        } else if !section.starts_with('@') {
            return None;
        }
    }
    value.parse::<f64>().ok()?;
    Some(Parsed {
        name: name.to_owned(),
        value: value.to_owned(),
        kind,
        tags,
    })
}

fn all<T: Tag>() -> Vec<T> {
    (0..T::CARDINALITY)
        .map(|i| T::from_index(i).unwrap())
        .collect()
}

/// Strings from the characters that matter: every datagram separator, case, digits, the
/// allowed punctuation, space and a non-ASCII letter.
fn hostile_string() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop::sample::select(vec![
            'a', 'z', 'Q', '0', '9', '.', '_', '-', '/', ':', '|', ',', '#', '@', '\n', ' ', 'é',
        ]),
        0..12,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn accepted_settings_never_corrupt_a_datagram(
        // Half hostile, half drawn from the allowed characters, so that both the refusals and
        // the accepted settings are exercised thousands of times.
        prefix in prop_oneof![hostile_string(), "[a-z][a-zA-Z0-9_.]{0,10}[a-z0-9]"],
        tags in proptest::collection::vec(
            prop_oneof![(hostile_string(), hostile_string()), ("[a-z][a-z0-9_./-]{0,8}", "[a-z0-9_./-]{1,8}")],
            0..3,
        ),
        market in 0..3usize,
        platform in 0..3usize,
        first_order in any::<bool>(),
        amount in any::<u64>(),
    ) {
        let recording = RecordingSink::new();
        let mut builder = Dispatcher::builder().aggregate_metrics(None).prefix(prefix.clone()).recording(&recording);
        for (k, v) in &tags {
            builder = builder.constant_tag(k.clone(), v.clone());
        }
        let Ok(events) = builder.build() else {
            // Refused: then the settings really broke a rule of the format.
            let bad_prefix = !prefix.is_empty()
                && (!prefix.starts_with(|c: char| c.is_ascii_alphabetic())
                    || prefix.ends_with('.')
                    || prefix.chars().any(|c| !(c.is_ascii_alphanumeric() || c == '_' || c == '.')));
            let tag_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "_./-".contains(c);
            let bad_tag = tags.iter().any(|(k, v)| {
                !k.starts_with(|c: char| c.is_ascii_lowercase())
                    || v.is_empty()
                    || !k.chars().all(tag_char)
                    || !v.chars().all(tag_char)
            });
            let repeated_key = tags.iter().enumerate().any(|(i, (k, _))| tags[..i].iter().any(|(first, _)| first == k));
            prop_assert!(bad_prefix || bad_tag || repeated_key, "refused good settings: {:?} {:?}", prefix, tags);
            return Ok(());
        };
        let mut event = common::design_example();
        event.market = Market::from_index(market).unwrap();
        event.platform = Platform::from_index(platform).unwrap();
        event.first_order = first_order;
        event.amount_pence = amount;
        events.publish(&event);

        let full = |name: &str| if prefix.is_empty() { name.to_owned() } else { format!("{prefix}.{name}") };
        let mut expected_tags = vec![
            ("market".to_owned(), event.market.value().to_owned()),
            ("platform".to_owned(), event.platform.value().to_owned()),
            ("first_order".to_owned(), first_order.value().to_owned()),
        ];
        expected_tags.extend(tags.iter().cloned());
        let lines = recording.statsd_lines();
        if tags.iter().any(|(k, _)| ["market", "platform", "first_order"].contains(&k.as_str())) {
            // A constant tag the event also has: its lines are refused, never sent doubled.
            prop_assert!(lines.is_empty(), "sent a line carrying a key twice: {:?}", lines);
            return Ok(());
        }
        prop_assert_eq!(lines.len(), 2);
        prop_assert_eq!(
            parse(&lines[0]),
            Some(Parsed { name: full("payment.attempted"), value: "1".into(), kind: "c".into(), tags: expected_tags.clone() })
        );
        prop_assert_eq!(
            parse(&lines[1]),
            Some(Parsed { name: full("payment.attempted.amount_pence"), value: amount.to_string(), kind: "d".into(), tags: expected_tags })
        );
    }
}

#[test]
fn every_generated_tag_value_parses_back() {
    let recording = RecordingSink::new();
    let events = Dispatcher::builder()
        .aggregate_metrics(None)
        .recording(&recording)
        .build()
        .unwrap();
    for method in all::<Method>() {
        for market in all::<Option<Market>>() {
            for retried in all::<Option<bool>>() {
                let mut e = common::kitchen_sink_example();
                e.method = method;
                e.market = market;
                e.retried = retried;
                events.publish(&e);
                let line = recording
                    .statsd_lines()
                    .into_iter()
                    .find(|l| l.starts_with("kitchen.sink:"))
                    .unwrap();
                recording.clear();
                let parsed = parse(&line).unwrap();
                assert_eq!(
                    parsed.tags,
                    [
                        ("method".to_owned(), method.value().to_owned()),
                        ("maybe_market".to_owned(), market.value().to_owned()),
                        ("retried".to_owned(), retried.value().to_owned()),
                    ]
                );
            }
        }
    }
    assert_eq!(KitchenSink::TAG_COMBINATIONS, 3 * 4 * 3);
    assert_eq!(
        PaymentAttempted::TAG_KEYS,
        ["market", "platform", "first_order"]
    );
}
