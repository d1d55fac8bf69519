//! What the broker stores of one test run, read back record by record: how often each
//! sequence number is there, and whether each key's records are in publish order.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use multi_dispatch_events::readback::read_topics;

/// One run's records in a topic, by sequence number.
pub struct Stored {
    /// How many copies of each sequence number are stored.
    pub copies: BTreeMap<u64, u32>,
    /// No key's sequence numbers go backwards (a duplicate may repeat one).
    pub in_order_per_key: bool,
}

impl Stored {
    /// Reads `topic` until `at_least` distinct sequence numbers are stored (duplicates
    /// beside them are read too, as far as they come before). `parse` gives a record's key
    /// and sequence number when it belongs to the run, from its payload.
    pub fn read(
        bootstrap: &str,
        topic: &str,
        at_least: u64,
        parse: impl Fn(&[u8]) -> Option<(String, u64)>,
    ) -> Stored {
        let mut distinct = HashSet::new();
        let mut counted = 0;
        let records = read_topics(
            bootstrap,
            &[topic],
            |r| parse(&r.payload).is_some(),
            |kept| {
                for record in &kept[counted..] {
                    distinct.insert(parse(&record.payload).expect("kept").1);
                }
                counted = kept.len();
                distinct.len() as u64 >= at_least
            },
            Duration::from_secs(300),
        )
        .unwrap();
        let mut copies = BTreeMap::new();
        let mut last: HashMap<String, u64> = HashMap::new();
        let mut in_order_per_key = true;
        for record in &records {
            let (key, sequence) = parse(&record.payload).expect("kept");
            *copies.entry(sequence).or_insert(0) += 1;
            if let Some(previous) = last.insert(key, sequence) {
                // A duplicate re-sent after a crash may repeat a sequence, never go back
                // past one already stored after it.
                in_order_per_key &= previous <= sequence;
            }
        }
        Stored {
            copies,
            in_order_per_key,
        }
    }

    /// Each of `sequences` is stored once, and nothing else is.
    pub fn exactly_once(&self, sequences: impl Iterator<Item = u64>) -> bool {
        let expected: Vec<u64> = sequences.collect();
        self.copies.len() == expected.len()
            && expected.iter().all(|s| self.copies.get(s) == Some(&1))
    }

    /// Copies beyond the first, over every sequence number.
    pub fn duplicates(&self) -> u64 {
        self.copies.values().map(|&n| u64::from(n) - 1).sum()
    }
}
