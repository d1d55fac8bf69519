//! The Kafka sink and the warehouse loader against the test broker's SASL/SCRAM-SHA-512
//! listener, where ACLs decide (`allow.everyone.if.no.acl.found=false`). The principals and
//! their ACLs are made by scripts/services.sh, each with a fresh random password:
//! `events-producer` may write topics starting `sec.`, `events-loader` may read them with a
//! group starting `sec-loader`, `no-write` may read but not write them, `no-acl` may do
//! nothing. PostgreSQL's `events_loader` role signs in with its own password.
//!
//! SCRAM needs librdkafka built with OpenSSL: feature `kafka-tls`.
#![cfg(feature = "kafka-tls")]

mod common;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::services;
use event_runtime::{Dispatcher, Event, FailFast, KafkaConfig, SinkDiagnostics, Tag};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Outcome {
    Accepted,
    Refused,
}

#[derive(Event, Clone, Debug, PartialEq)]
#[event(name = "security_test.login", topic = "sec.logins")]
struct LoginAttempted {
    #[event(key)]
    user_id: String,
    run: String,
    sequence: u64,
    #[event(tag)]
    outcome: Outcome,
}

fn login(run: &str, sequence: u64) -> LoginAttempted {
    LoginAttempted {
        user_id: format!("{run}-u{}", sequence % 7),
        run: run.to_owned(),
        sequence,
        outcome: if sequence % 4 == 0 {
            Outcome::Refused
        } else {
            Outcome::Accepted
        },
    }
}

const EVENTS: u64 = 1_000;

fn sasl_bootstrap() -> String {
    services::kafka_bootstrap(); // the broker is up
    std::env::var("KAFKA_SASL_BOOTSTRAP_SERVERS").expect(
        "KAFKA_SASL_BOOTSTRAP_SERVERS is not set: start the services with scripts/services.sh",
    )
}

/// The password scripts/services.sh made for a principal.
fn password(user: &str) -> String {
    let variable = format!(
        "KAFKA_SASL_PASSWORD_{}",
        user.to_uppercase().replace('-', "_")
    );
    std::env::var(&variable).unwrap_or_else(|_| {
        panic!("{variable} is not set: start the services with scripts/services.sh")
    })
}

fn sasl_properties(user: &str, password: &str) -> [(&'static str, String); 4] {
    [
        ("security.protocol", "sasl_plaintext".to_owned()),
        ("sasl.mechanisms", "SCRAM-SHA-512".to_owned()),
        ("sasl.username", user.to_owned()),
        ("sasl.password", password.to_owned()),
    ]
}

fn producer_as(user: &str, password: &str) -> KafkaConfig {
    sasl_properties(user, password).into_iter().fold(
        KafkaConfig::new(sasl_bootstrap()),
        |config, (key, value)| config.set(key, value),
    )
}

/// The topic exists before any test publishes: no SASL principal may create it. It is made
/// through the plain listener, whose anonymous clients the ACLs allow everything.
fn topic_made() {
    static MADE: OnceLock<()> = OnceLock::new();
    MADE.get_or_init(|| {
        let events = Dispatcher::builder()
            .kafka(KafkaConfig::new(services::kafka_bootstrap()))
            .build()
            .unwrap();
        events.publish(&login("setup", 0));
        let report = events.shutdown(Duration::from_secs(60)).unwrap();
        assert_eq!(report.sink("kafka").unwrap().delivered, 1);
    });
}

/// Waits for a condition on the Kafka sink's diagnostics, read through the dispatcher.
fn eventually(events: &Dispatcher, what: &str, check: impl Fn(&SinkDiagnostics) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let diagnostics = events.diagnostics();
        let (name, kafka) = &diagnostics[0];
        assert_eq!(*name, "kafka");
        if check(kafka) {
            return;
        }
        assert!(Instant::now() < deadline, "never {what}: {kafka:#?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What a refused producer must show, by default and with fail-fast on: every record
/// counted, as failed under `cause`, and the cause readable through the dispatcher.
fn refused(config: KafkaConfig, cause: &str, fail_fast: FailFast) {
    topic_made();
    let run = services::run_id();
    let secret = config.get("sasl.password").map(str::to_owned);
    let shows_no_secret = |text: String| {
        if let Some(secret) = &secret {
            assert!(
                !text.contains(secret.as_str()),
                "the password is in what a service would log"
            );
        }
    };

    // By default librdkafka keeps retrying: the records wait until the shutdown purges
    // them, and are then counted under the cause, not as purged.
    let events = Dispatcher::builder().kafka(config.clone()).build().unwrap();
    for sequence in 0..EVENTS {
        events.publish(&login(&run, sequence));
    }
    eventually(&events, &format!("saw {cause}"), |kafka| {
        kafka.client_errors.contains_key(cause) || kafka.failures.contains_key(cause)
    });
    let error = events.shutdown(Duration::from_millis(500)).unwrap_err();
    let stats = error.report.sink("kafka").unwrap();
    assert_eq!(stats.published, EVENTS);
    assert_eq!(
        (stats.delivered, stats.dropped, stats.failed),
        (0, 0, EVENTS),
        "{stats:?}"
    );
    let diagnostics = error.report.diagnostics("kafka").unwrap();
    assert_eq!(
        diagnostics.failures.get(cause),
        Some(&EVENTS),
        "{diagnostics:#?}"
    );
    assert!(error.to_string().contains(cause), "{error}");
    shows_no_secret(format!("{error} {error:?} {config:?}"));

    // Fail-fast: once refused, what waited is purged and every record after fails at once.
    let events = Dispatcher::builder()
        .kafka(config.fail_fast_on([fail_fast]))
        .build()
        .unwrap();
    for sequence in 0..EVENTS {
        events.publish(&login(&run, sequence));
    }
    eventually(&events, "failed every record", |kafka| {
        kafka.failures.get(cause) == Some(&EVENTS)
    });
    // Published after the refusal: failed within the call, nothing left to wait for.
    for sequence in EVENTS..2 * EVENTS {
        events.publish(&login(&run, sequence));
    }
    let kafka = events.stats().sink("kafka").unwrap();
    assert_eq!(
        (kafka.failed, kafka.pending()),
        (2 * EVENTS, 0),
        "{kafka:?}"
    );
    let started = Instant::now();
    let error = events.shutdown(Duration::from_secs(30)).unwrap_err();
    println!(
        "{cause}: with fail-fast, shutdown returned in {:?}",
        started.elapsed()
    );
    let stats = error.report.sink("kafka").unwrap();
    assert_eq!(
        (
            stats.published,
            stats.delivered,
            stats.dropped,
            stats.failed
        ),
        (2 * EVENTS, 0, 0, 2 * EVENTS),
        "{stats:?}"
    );
    assert_eq!(
        error
            .report
            .diagnostics("kafka")
            .unwrap()
            .failures
            .get(cause),
        Some(&(2 * EVENTS))
    );
    shows_no_secret(format!("{error} {error:?}"));
}

#[test]
fn a_wrong_password_fails_records_as_authentication() {
    refused(
        producer_as("events-producer", "not-the-password"),
        "Authentication",
        FailFast::Authentication,
    );
}

#[test]
fn a_principal_without_write_on_the_topic_fails_records_as_topic_authorization() {
    refused(
        producer_as("no-write", &password("no-write")),
        "TopicAuthorizationFailed",
        FailFast::Authorization,
    );
}

#[test]
fn a_principal_without_any_acl_fails_records_as_topic_authorization_and_says_why_it_stopped() {
    refused(
        producer_as("no-acl", &password("no-acl")),
        "TopicAuthorizationFailed",
        FailFast::Authorization,
    );
    // The idempotent producer could not even get its id: a fatal error, with its reason.
    let events = Dispatcher::builder()
        .kafka(producer_as("no-acl", &password("no-acl")))
        .build()
        .unwrap();
    events.publish(&login(&services::run_id(), 0));
    eventually(&events, "stopped", |kafka| {
        kafka
            .fatal_error
            .as_deref()
            .is_some_and(|e| e.starts_with("ClusterAuthorizationFailed"))
            && kafka.client_errors["ClusterAuthorizationFailed"]
                .hint
                .is_some_and(|hint| hint.contains("WRITE"))
    });
    let _ = events.shutdown(Duration::from_secs(5));
}

#[test]
fn a_plaintext_client_on_the_sasl_port_fails_records_as_closed_on_connect() {
    refused(
        KafkaConfig::new(sasl_bootstrap()),
        "ClosedOnConnect",
        FailFast::Authentication,
    );
}

#[test]
fn the_producer_with_its_acls_delivers_as_its_own_principal() {
    topic_made();
    let run = services::run_id();
    let events = Dispatcher::builder()
        .kafka(producer_as("events-producer", &password("events-producer")))
        .build()
        .unwrap();
    for sequence in 0..EVENTS {
        events.publish(&login(&run, sequence));
    }
    let report = events.shutdown(Duration::from_secs(60)).unwrap();
    assert_eq!(report.sink("kafka").unwrap().delivered, EVENTS);
    assert!(report.diagnostics("kafka").unwrap().failures.is_empty());
}

#[cfg(feature = "warehouse")]
mod loader {
    use super::*;
    use event_warehouse::{Backend, Loader, LoaderConfig, Postgres, WarehouseError};

    fn loader_config(group: &str, user: &str, password: &str) -> LoaderConfig {
        let mut config = LoaderConfig::new(sasl_bootstrap(), group);
        config.batch_linger = Duration::from_millis(100);
        sasl_properties(user, password)
            .into_iter()
            .fold(config, |config, (key, value)| config.set(key, value))
    }

    /// A fresh database where the loader's role owns one schema, `loader`, and may create
    /// nothing elsewhere. Returns the superuser's URL and the loader role's.
    fn loader_database() -> (String, String) {
        let admin_url = services::fresh_postgres_database("security");
        let role = std::env::var("POSTGRES_LOADER_ROLE").expect("POSTGRES_LOADER_ROLE is not set");
        let password =
            std::env::var("POSTGRES_LOADER_PASSWORD").expect("POSTGRES_LOADER_PASSWORD is not set");
        let (_, database) = admin_url.rsplit_once('/').unwrap();
        let mut admin = Postgres::connect(&admin_url).unwrap();
        admin
            .execute(&format!(
                "CREATE SCHEMA loader AUTHORIZATION {role};
                 ALTER ROLE {role} IN DATABASE \"{database}\" SET search_path = loader;
                 REVOKE ALL ON SCHEMA public FROM PUBLIC;
                 CREATE TABLE public.audit (entry text);"
            ))
            .unwrap();
        let host = admin_url
            .split('@')
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap();
        (
            admin_url.clone(),
            format!("postgresql://{role}:{password}@{host}/{database}"),
        )
    }

    #[test]
    fn the_loader_reads_as_its_own_principal_and_writes_only_its_own_tables() {
        topic_made();
        let run = services::run_id();
        let events = Dispatcher::builder()
            .kafka(producer_as("events-producer", &password("events-producer")))
            .build()
            .unwrap();
        for sequence in 0..EVENTS {
            events.publish(&login(&run, sequence));
        }
        assert_eq!(
            events
                .shutdown(Duration::from_secs(60))
                .unwrap()
                .sink("kafka")
                .unwrap()
                .delivered,
            EVENTS
        );

        let (_, loader_url) = loader_database();
        let config = loader_config(
            &format!("sec-loader-{run}"),
            "events-loader",
            &password("events-loader"),
        );
        let mut running = Loader::new(config, Postgres::connect(&loader_url).unwrap())
            .event::<LoginAttempted>()
            .start()
            .unwrap();
        let table = running.tables().next().unwrap().name.clone();
        let deadline = Instant::now() + Duration::from_secs(120);
        let rows = |running: &mut event_warehouse::RunningLoader<Postgres>| {
            running
                .backend()
                .query(
                    &format!("SELECT count(*) FROM loader.{table} WHERE run = $1"),
                    &[&run],
                )
                .unwrap()[0][0]
                .as_i64()
                .unwrap()
        };
        while rows(&mut running) < EVENTS as i64 {
            assert!(Instant::now() < deadline, "the loader did not load the run");
            running.load_batch().unwrap();
        }
        assert_eq!(rows(&mut running), EVENTS as i64);

        // The role can write its own tables only.
        let database = running.backend();
        for elsewhere in [
            "INSERT INTO public.audit VALUES ('loader was here')",
            "CREATE TABLE public.loader_was_here (i int)",
        ] {
            let error = database.execute(elsewhere).unwrap_err().to_string();
            assert!(error.contains("permission denied"), "{elsewhere}: {error}");
        }
    }

    /// A loader whose principal lacks READ stops at once, naming the ACL, and commits nothing.
    fn refused_loader(user: &str, needs: impl FnOnce(&str) -> String) {
        topic_made();
        let run = services::run_id();
        let group = format!("sec-loader-{run}");
        let needs = needs(&group);
        let (admin_url, loader_url) = loader_database();
        let mut running = Loader::new(
            loader_config(&group, user, &password(user)),
            Postgres::connect(&loader_url).unwrap(),
        )
        .event::<LoginAttempted>()
        .start()
        .unwrap();
        let table = running.tables().next().unwrap().name.clone();
        let deadline = Instant::now() + Duration::from_secs(60);
        let error = loop {
            match running.load_batch() {
                Err(error) => break error,
                Ok(_) => assert!(Instant::now() < deadline, "{user} was never refused"),
            }
        };
        let WarehouseError::NotAuthorized { needs: named, .. } = &error else {
            panic!("{user}: not an authorization error: {error}");
        };
        assert_eq!(*named, needs);
        assert!(error.to_string().contains(&needs), "{error}");
        assert_eq!(running.stats().batches, 0);
        let mut admin = Postgres::connect(&admin_url).unwrap();
        let rows = admin
            .query(&format!("SELECT count(*) FROM loader.{table}"), &[])
            .unwrap();
        assert_eq!(rows[0][0].as_i64(), Some(0));
        // Nor did the group commit an offset.
        assert!(
            multi_dispatch_events::readback::committed_offsets(
                &services::kafka_bootstrap(),
                &group,
                LoginAttempted::TOPIC
            )
            .unwrap()
            .is_empty(),
            "{group} committed offsets"
        );
    }

    #[test]
    fn a_loader_without_read_on_its_group_stops_naming_the_acl_and_commits_nothing() {
        // `no-write` may read the topics, but no group.
        refused_loader("no-write", |group| format!("READ on group `{group}`"));
    }

    #[test]
    fn a_loader_without_any_acl_stops_naming_the_acl_and_commits_nothing() {
        // The group is refused first, before any topic is read.
        refused_loader("no-acl", |group| format!("READ on group `{group}`"));
    }
}
