//! `BENCH_KAFKA_SET`: librdkafka properties a Kafka bench sets on top of its own, as
//! `key=value` pairs separated by commas (`linger.ms=50,batch.size=100000`), so one build
//! of a bench can run under other producer settings.

/// The variable's text, for the bench's report: empty when it is unset.
pub fn text() -> String {
    std::env::var("BENCH_KAFKA_SET").unwrap_or_default()
}

/// The pairs the variable gives, in its order.
pub fn pairs() -> Vec<(String, String)> {
    text()
        .split(',')
        .filter(|kv| !kv.trim().is_empty())
        .map(|kv| {
            let (k, v) = kv
                .split_once('=')
                .unwrap_or_else(|| panic!("BENCH_KAFKA_SET: {kv:?} is not key=value"));
            (k.trim().to_owned(), v.trim().to_owned())
        })
        .collect()
}
