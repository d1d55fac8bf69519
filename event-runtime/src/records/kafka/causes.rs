//! Why records fail: the client-level errors librdkafka reports (authentication,
//! authorization, TLS, brokers down, fatal), each counted per error code with its first and
//! last message, and the cause a record purged by shutdown or timed out is counted under.
//!
//! A wrong password shows as an authentication error once, then as "all brokers are down"
//! every second; the records then fail as purged or timed out, which says nothing. So the
//! cause a record is counted under is the most telling error seen: a security error over a
//! fatal one over a connection error, and the latest among equals.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::types::RDKafkaErrorCode;

use crate::ClientError;

/// A code already logged is logged again at most this often, with its count since.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// Client-level errors per librdkafka error code (e.g. `Authentication`, `AllBrokersDown`).
#[derive(Default)]
pub(super) struct Causes {
    by_code: BTreeMap<String, ClientError>,
    /// When each code was last logged, and its count then.
    logged: BTreeMap<String, (Instant, u64)>,
    /// The code records are counted under when they fail without a reason of their own.
    telling: Option<(u8, String)>,
}

impl Causes {
    /// Counts an error. Returns what to log, if it is time to: its code and how many times
    /// it was reported since it was last logged (librdkafka repeats "all brokers are down"
    /// every second while they are).
    #[must_use = "what it returns is what to log"]
    pub fn record(
        &mut self,
        code: Option<RDKafkaErrorCode>,
        message: String,
    ) -> Option<(String, u64)> {
        let name = code.map_or_else(|| "Unknown".to_owned(), |c| format!("{c:?}"));
        match self.by_code.get_mut(&name) {
            Some(error) => {
                error.count += 1;
                error.last = message;
            }
            None => {
                self.by_code.insert(
                    name.clone(),
                    ClientError {
                        count: 1,
                        first: message.clone(),
                        last: message,
                    },
                );
            }
        }
        let rank = code.map_or(0, rank);
        if self.telling.as_ref().is_none_or(|(best, _)| rank >= *best) {
            self.telling = Some((rank, name.clone()));
        }
        let count = self.by_code[&name].count;
        let now = Instant::now();
        match self.logged.get(&name) {
            Some((at, _)) if now.duration_since(*at) < LOG_EVERY => None,
            logged => {
                let since = count - logged.map_or(0, |(_, then)| *then);
                self.logged.insert(name.clone(), (now, count));
                Some((name, since))
            }
        }
    }

    /// Whether errors of `code` stop records (a security or fatal error), rather than
    /// delay them (a broker down, which librdkafka retries).
    pub fn is_severe(code: Option<RDKafkaErrorCode>) -> bool {
        code.is_some_and(|c| rank(c) >= 2)
    }

    pub fn all(&self) -> BTreeMap<String, ClientError> {
        self.by_code.clone()
    }

    /// The reason to count a failed record under: its own, unless that only says it was
    /// purged or timed out while a client-level error explains why.
    pub fn reason_for(&self, code: Option<RDKafkaErrorCode>, own: String) -> String {
        let says_nothing = matches!(
            code,
            Some(
                RDKafkaErrorCode::PurgeQueue
                    | RDKafkaErrorCode::PurgeInflight
                    | RDKafkaErrorCode::MessageTimedOut
            )
        );
        match &self.telling {
            Some((_, cause)) if says_nothing => cause.clone(),
            _ => own,
        }
    }
}

/// How much an error says about why records fail.
fn rank(code: RDKafkaErrorCode) -> u8 {
    use RDKafkaErrorCode::*;
    match code {
        Authentication
        | SaslAuthenticationFailed
        | TopicAuthorizationFailed
        | ClusterAuthorizationFailed
        | TransactionalIdAuthorizationFailed
        | SSL => 3,
        Fatal => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RDKafkaErrorCode::*;

    #[test]
    fn a_purged_record_counts_under_the_most_telling_error() {
        let mut causes = Causes::default();
        assert_eq!(
            causes.reason_for(Some(PurgeQueue), "PurgeQueue".into()),
            "PurgeQueue"
        );
        let down = || "1/1 brokers are down".to_owned();
        assert_eq!(
            causes.record(Some(AllBrokersDown), down()),
            Some(("AllBrokersDown".to_owned(), 1))
        );
        let wrong = "SASL authentication error: wrong password".to_owned();
        assert_eq!(
            causes.record(Some(Authentication), wrong),
            Some(("Authentication".to_owned(), 1))
        );
        // Repeated within the interval: counted, not logged again.
        assert_eq!(causes.record(Some(AllBrokersDown), down()), None);
        assert_eq!(
            causes.reason_for(Some(PurgeQueue), "PurgeQueue".into()),
            "Authentication"
        );
        assert_eq!(
            causes.reason_for(Some(MessageTimedOut), "MessageTimedOut".into()),
            "Authentication"
        );
        // A record's own reason, when it has one, stands.
        assert_eq!(
            causes.reason_for(
                Some(TopicAuthorizationFailed),
                "TopicAuthorizationFailed".into()
            ),
            "TopicAuthorizationFailed"
        );
        let all = causes.all();
        assert_eq!(all["AllBrokersDown"].count, 2);
        assert_eq!(
            all["Authentication"].first,
            "SASL authentication error: wrong password"
        );
    }
}
