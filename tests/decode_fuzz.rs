//! Decoding arbitrary bytes into generated events never panics: 100,000 random inputs per
//! run, half pure noise and half valid payloads with bytes flipped, cut or spliced (which
//! reach deeper: valid keys, bad lengths, wrong wire types, unknown enum numbers).

mod common;

use common::{KitchenSink, PaymentAttempted};
use event_runtime::Event;
use proptest::prelude::*;

fn valid_payloads() -> Vec<Vec<u8>> {
    let mut design = Vec::new();
    common::design_example().encode(&mut design);
    let sink = KitchenSink {
        key: b"key".to_vec(),
        flag: true,
        small: -5,
        big: i64::MIN,
        count: 7,
        total: u64::MAX,
        ratio: 0.5,
        precise: -1.25,
        text: "texte accentué".into(),
        blob: vec![0, 255, 7],
        method: common::Method::Paypal,
        market: Some(common::Market::It),
        retried: Some(false),
        opt_text: Some(String::new()),
        opt_number: Some(0),
        opt_method: None,
        many_numbers: vec![1, 300, u64::MAX],
        many_signed: vec![-1, 0, 1],
        many_floats: vec![0.0, -0.5],
        many_texts: vec!["a".into(), String::new()],
        many_blobs: vec![vec![], vec![1]],
        many_methods: vec![common::Method::Card, common::Method::ApplePay],
        at: std::time::SystemTime::UNIX_EPOCH
            + std::time::Duration::from_nanos(1_700_000_000_123_456_789),
        took: std::time::Duration::from_millis(1500),
        maybe_at: None,
        durations: vec![std::time::Duration::ZERO],
    };
    let mut kitchen = Vec::new();
    sink.encode(&mut kitchen);
    vec![design, kitchen]
}

fn mutated() -> impl Strategy<Value = Vec<u8>> {
    let payloads = valid_payloads();
    (
        0..payloads.len(),
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..6),
    )
        .prop_map(move |(which, edits)| {
            let mut bytes = payloads[which].clone();
            for (at, value, kind) in edits {
                if bytes.is_empty() {
                    break;
                }
                let i = at.index(bytes.len());
                match kind {
                    0 => bytes[i] = value,
                    1 => bytes.truncate(i),
                    _ => bytes.insert(i, value),
                }
            }
            bytes
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 100_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn decoding_never_panics(bytes in prop_oneof![proptest::collection::vec(any::<u8>(), 0..96), mutated()]) {
        // Ok or Err are both fine; a panic fails the test with the input that caused it.
        let _ = PaymentAttempted::decode(&bytes);
        let _ = KitchenSink::decode(&bytes);
    }
}
