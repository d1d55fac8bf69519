//! Failing records at once when the brokers refuse the client, rather than letting them
//! wait out `message.timeout.ms` ([`KafkaConfig::fail_fast_on`](super::KafkaConfig::fail_fast_on)).
//!
//! The refusal arrives in librdkafka's error callback, which has no handle on the producer
//! it belongs to; the client's pointer is kept for it, to purge what is queued from there.
//! A refusal librdkafka already knows (an ACL missing on the topic) also comes back as the
//! error of an enqueue, and counts the same.
#![allow(unsafe_code)]

use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::OnceLock;

use rdkafka_sys::{
    rd_kafka_purge, rd_kafka_t, RD_KAFKA_PURGE_F_INFLIGHT, RD_KAFKA_PURGE_F_NON_BLOCKING,
    RD_KAFKA_PURGE_F_QUEUE,
};

use super::causes::CLOSED_ON_CONNECT;

/// A kind of refusal that [`KafkaConfig::fail_fast_on`](super::KafkaConfig::fail_fast_on)
/// fails records at once on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FailFast {
    /// The brokers refuse the credentials or the TLS handshake (causes `Authentication`,
    /// `SaslAuthenticationFailed`, `SSL`), or close each connection as soon as it is made
    /// (`ClosedOnConnect`: a plaintext client on a SASL or TLS port).
    Authentication,
    /// The principal lacks an ACL the producer needs (`TopicAuthorizationFailed`,
    /// `ClusterAuthorizationFailed`, `TransactionalIdAuthorizationFailed`). librdkafka
    /// already fails the records refused so at once; with this, every record after them
    /// fails at once too.
    Authorization,
}

impl FailFast {
    /// The kind of refusal a counted cause is, if it is one.
    pub(super) fn of(cause: &str) -> Option<FailFast> {
        match cause {
            "Authentication" | "SaslAuthenticationFailed" | "SSL" | CLOSED_ON_CONNECT => {
                Some(FailFast::Authentication)
            }
            "TopicAuthorizationFailed"
            | "ClusterAuthorizationFailed"
            | "TransactionalIdAuthorizationFailed" => Some(FailFast::Authorization),
            _ => None,
        }
    }
}

/// Whether the client was refused in a way it fails fast on, and the means to purge.
#[derive(Default)]
pub(super) struct Refusal {
    on: Vec<FailFast>,
    /// The cause, once one of the kinds in `on` was seen. It stays: the sink fails every
    /// record after it, as after a fatal error.
    cause: OnceLock<String>,
    client: AtomicPtr<rd_kafka_t>,
}

impl Refusal {
    pub fn new(on: Vec<FailFast>) -> Self {
        Refusal {
            on,
            ..Refusal::default()
        }
    }

    /// Gives the client, once it exists; until then a refusal only sets the cause.
    pub fn attach(&self, client: *mut rd_kafka_t) {
        self.client.store(client, Ordering::Release);
    }

    /// The cause every record now fails under, once the client was refused.
    pub fn cause(&self) -> Option<&str> {
        self.cause.get().map(String::as_str)
    }

    /// Takes a client-level error's cause, from librdkafka's error callback, or the error
    /// librdkafka refused a record with when it was enqueued. A refusal of a kind to fail
    /// fast on sets the cause and purges what librdkafka holds; the purged records are then
    /// counted under it.
    pub fn consider(&self, cause: &str) {
        if !FailFast::of(cause).is_some_and(|kind| self.on.contains(&kind)) {
            return;
        }
        let _ = self.cause.set(cause.to_owned());
        let client = self.client.load(Ordering::Acquire);
        if client.is_null() {
            return;
        }
        let flags =
            RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT | RD_KAFKA_PURGE_F_NON_BLOCKING;
        // SAFETY: the callers hold the client: librdkafka calls the error callback from
        // this client's own poll, and a refused enqueue comes from a thread holding the
        // sink's transport, which owns the client. The purge does not wait for the broker
        // threads, and its reports are served by a later poll.
        unsafe {
            rd_kafka_purge(client, flags);
        }
    }
}
