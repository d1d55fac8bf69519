//! Why records fail: the client-level errors librdkafka reports (authentication,
//! authorization, TLS, brokers down, fatal), each counted per error code with its first and
//! last message, and the cause a record purged by shutdown or timed out is counted under.
//!
//! A wrong password shows as an authentication error once, then as "all brokers are down"
//! every second; the records then fail as purged or timed out, which says nothing. So the
//! cause a record is counted under is the most telling error seen: a security error over a
//! fatal one over a connection error over "all brokers are down" (which only follows from
//! the others), and the latest among equals.
//!
//! One cause is not a librdkafka code: [`CLOSED_ON_CONNECT`]. A plaintext client on a SASL
//! or TLS listener is told nothing by the broker, which just closes the connection; the
//! client sees a transport failure a few milliseconds into each connection.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::types::RDKafkaErrorCode;

use super::FailFast;
use crate::ClientError;

/// The cause a client counts when the broker closes each connection as soon as it is made,
/// before anything was delivered.
pub const CLOSED_ON_CONNECT: &str = "ClosedOnConnect";

/// A connection the broker closes within this long of its being made counts as closed on
/// connect. A broker that stops closes connections too, but after they lived longer.
const CLOSED_ON_CONNECT_WITHIN_MS: u64 = 1000;

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
    /// Counts an error; `delivered_any` says whether any record was delivered yet. Returns
    /// the cause it is counted under and, if it is time to log it, how many times it was
    /// reported since it was last logged (librdkafka repeats "all brokers are down" every
    /// second while they are).
    #[must_use = "what it returns is what to log"]
    pub fn record(
        &mut self,
        code: Option<RDKafkaErrorCode>,
        message: String,
        delivered_any: bool,
    ) -> (String, Option<u64>) {
        let name = if !delivered_any && closed_on_connect(code, &message) {
            CLOSED_ON_CONNECT.to_owned()
        } else {
            code.map_or_else(|| "Unknown".to_owned(), |c| format!("{c:?}"))
        };
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
                        hint: hint(&name),
                    },
                );
            }
        }
        let rank = rank(&name);
        if self.telling.as_ref().is_none_or(|(best, _)| rank >= *best) {
            self.telling = Some((rank, name.clone()));
        }
        let count = self.by_code[&name].count;
        let now = Instant::now();
        let log = match self.logged.get(&name) {
            Some((at, _)) if now.duration_since(*at) < LOG_EVERY => None,
            logged => {
                let since = count - logged.map_or(0, |(_, then)| *then);
                self.logged.insert(name.clone(), (now, count));
                Some(since)
            }
        };
        (name, log)
    }

    /// Whether errors of this cause stop records (a security or fatal error), rather than
    /// delay them (a broker down, which librdkafka retries).
    pub fn is_severe(cause: &str) -> bool {
        rank(cause) >= 3
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

/// How much a cause says about why records fail.
fn rank(cause: &str) -> u8 {
    if FailFast::of(cause).is_some() {
        return 4;
    }
    match cause {
        "Fatal" => 3,
        "AllBrokersDown" => 1,
        _ => 2,
    }
}

/// Whether a librdkafka log line says a connection was closed within
/// [`CLOSED_ON_CONNECT_WITHIN_MS`] of being up.
pub fn is_closed_on_connect(line: &str) -> bool {
    closed_on_connect(Some(RDKafkaErrorCode::BrokerTransportFailure), line)
}

/// Whether a transport failure came within [`CLOSED_ON_CONNECT_WITHIN_MS`] of the
/// connection being up: librdkafka's message ends "(after 3ms in state UP)".
fn closed_on_connect(code: Option<RDKafkaErrorCode>, message: &str) -> bool {
    if code != Some(RDKafkaErrorCode::BrokerTransportFailure) {
        return false;
    }
    let Some((before, _)) = message.rsplit_once("ms in state UP") else {
        return false;
    };
    let Some((_, millis)) = before.rsplit_once("(after ") else {
        return false;
    };
    millis
        .parse::<u64>()
        .is_ok_and(|ms| ms < CLOSED_ON_CONNECT_WITHIN_MS)
}

/// What to check, for the causes that have a usual one.
fn hint(cause: &str) -> Option<&'static str> {
    Some(match cause {
        "Authentication" | "SaslAuthenticationFailed" => {
            "the brokers refused the credentials: check sasl.username and sasl.password, and \
             that sasl.mechanisms names a mechanism the listener enables"
        }
        "SSL" => {
            "the TLS handshake failed: check ssl.ca.location (the brokers' CA) and, if the \
             brokers ask for a client certificate, ssl.certificate.location and ssl.key.location"
        }
        "TopicAuthorizationFailed" => {
            "the principal may not use the topic: a producer needs the WRITE and DESCRIBE ACLs \
             on it"
        }
        "ClusterAuthorizationFailed" => {
            "the principal may not act on the cluster: an idempotent producer needs WRITE on \
             its topics (which implies IDEMPOTENT_WRITE on the cluster)"
        }
        "TransactionalIdAuthorizationFailed" => {
            "the principal needs WRITE on the producer's transactional.id"
        }
        CLOSED_ON_CONNECT => {
            "the broker closed each connection as soon as it was made: security.protocol \
             likely does not match the listener (for example a plaintext client on a SASL or \
             TLS port)"
        }
        "AllBrokersDown" => {
            "no broker is reachable: check bootstrap.servers, and the other errors for why"
        }
        "Fatal" => "the producer cannot go on (see its fatal error): build a new one",
        _ => return None,
    })
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
            causes.record(Some(AllBrokersDown), down(), false),
            ("AllBrokersDown".to_owned(), Some(1))
        );
        let wrong = "SASL authentication error: wrong password".to_owned();
        assert_eq!(
            causes.record(Some(Authentication), wrong, false),
            ("Authentication".to_owned(), Some(1))
        );
        // Repeated within the interval: counted, not logged again.
        assert_eq!(
            causes.record(Some(AllBrokersDown), down(), false),
            ("AllBrokersDown".to_owned(), None)
        );
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
        assert!(all["Authentication"]
            .hint
            .unwrap()
            .contains("sasl.password"));
        assert_eq!(all["AllBrokersDown"].count, 2);
        assert_eq!(
            all["Authentication"].first,
            "SASL authentication error: wrong password"
        );
    }

    #[test]
    fn a_broker_that_closes_each_new_connection_is_told_apart_from_one_that_went_down() {
        let mut causes = Causes::default();
        let closed = "127.0.0.1:19095/bootstrap: Send failed: Broken pipe (after 3ms in state UP)";
        let _ = causes.record(Some(BrokerTransportFailure), closed.into(), false);
        let _ = causes.record(Some(AllBrokersDown), "1/1 brokers are down".into(), false);
        assert_eq!(
            causes.reason_for(Some(PurgeQueue), "PurgeQueue".into()),
            CLOSED_ON_CONNECT
        );
        assert!(causes.all()[CLOSED_ON_CONNECT]
            .hint
            .unwrap()
            .contains("security.protocol"));
        // A connection that lived, or one closed after records were delivered: a broker that
        // went away, not a mismatch.
        let mut causes = Causes::default();
        let lived = "127.0.0.1:9092/1: Disconnected (after 52342ms in state UP)";
        let _ = causes.record(Some(BrokerTransportFailure), lived.into(), false);
        let _ = causes.record(Some(BrokerTransportFailure), closed.into(), true);
        assert_eq!(
            causes.all().keys().collect::<Vec<_>>(),
            ["BrokerTransportFailure"]
        );
        // Still more telling than what follows from it.
        let _ = causes.record(Some(AllBrokersDown), "1/1 brokers are down".into(), true);
        assert_eq!(
            causes.reason_for(Some(MessageTimedOut), "MessageTimedOut".into()),
            "BrokerTransportFailure"
        );
    }
}
