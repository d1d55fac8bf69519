//! What can stop the loader.

use std::fmt;

use event_runtime::schema::Violation;

/// An error that stops loading. Nothing is committed to Kafka past what was written, so
/// restarting after fixing the cause loads everything that was not loaded.
#[derive(Debug)]
pub enum WarehouseError {
    /// An event type cannot be given a table (e.g. a field named like a record column).
    Definition(String),
    /// An event's definition changed in a way its table (and the topic's readers) cannot
    /// follow: the schema-contract rules refuse it.
    Incompatible {
        /// The event.
        event: &'static str,
        /// The table.
        table: String,
        /// Every rule the change breaks.
        violations: Vec<Violation>,
    },
    /// The database refused an operation.
    Database {
        /// What the database said (PostgreSQL's message with its detail).
        message: String,
        /// The driver's error (`postgres::Error`, `rusqlite::Error`), also given by
        /// `source()`.
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// Kafka refused an operation.
    Kafka(rdkafka::error::KafkaError),
    /// The loader's principal lacks an ACL it needs. Nothing past what was written was
    /// committed; grant the ACL and start again.
    NotAuthorized {
        /// The ACLs to grant, e.g. "READ on group `warehouse`".
        needs: String,
        /// The broker's refusal.
        source: rdkafka::error::KafkaError,
    },
    /// librdkafka refused the consumer's configuration. The message has the value of every
    /// secret property cut out, since librdkafka repeats a value it refuses.
    KafkaConfig(String),
}

impl fmt::Display for WarehouseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WarehouseError::Definition(message) => f.write_str(message),
            WarehouseError::Incompatible {
                event,
                table,
                violations,
            } => {
                write!(
                    f,
                    "event `{event}` changed in a way table `{table}` cannot follow; nothing was loaded:"
                )?;
                for violation in violations {
                    write!(f, "\n  - {violation}")?;
                }
                Ok(())
            }
            WarehouseError::Database { message, .. } => write!(
                f,
                "database: {message} (nothing past the last written batch was committed: fix the cause and start the loader again)"
            ),
            WarehouseError::Kafka(error) => write!(f, "kafka: {error}"),
            WarehouseError::NotAuthorized { needs, source } => write!(
                f,
                "kafka: the loader's principal may not read ({source}); grant it {needs} \
                 (a loader needs READ on its group and on each of its topics)"
            ),
            WarehouseError::KafkaConfig(message) => {
                write!(f, "kafka: the consumer could not be configured: {message}")
            }
        }
    }
}

impl std::error::Error for WarehouseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WarehouseError::Kafka(error) | WarehouseError::NotAuthorized { source: error, .. } => {
                Some(error)
            }
            WarehouseError::Database {
                source: Some(source),
                ..
            } => Some(&**source),
            _ => None,
        }
    }
}

impl From<rdkafka::error::KafkaError> for WarehouseError {
    fn from(error: rdkafka::error::KafkaError) -> Self {
        WarehouseError::Kafka(error)
    }
}

#[cfg(feature = "sqlite")]
impl From<rusqlite::Error> for WarehouseError {
    fn from(error: rusqlite::Error) -> Self {
        WarehouseError::Database {
            message: error.to_string(),
            source: Some(Box::new(error)),
        }
    }
}

#[cfg(feature = "postgres")]
impl From<postgres::Error> for WarehouseError {
    fn from(error: postgres::Error) -> Self {
        // The server's message (with its detail) says more than the client's summary.
        let message = match error.as_db_error() {
            Some(db) => match db.detail() {
                Some(detail) => format!("{}: {detail}", db.message()),
                None => db.message().to_owned(),
            },
            None => error.to_string(),
        };
        WarehouseError::Database {
            message,
            source: Some(Box::new(error)),
        }
    }
}
