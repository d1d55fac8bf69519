//! The order flow's warehouse leg: load the topics into SQL tables with the loader, then
//! compute the warehouse view with the queries of `examples/order_flow_warehouse.sql`.

use std::time::{Duration, Instant};

use event_runtime::Tag;
use event_warehouse::{
    Backend, LoadStats, Loader, LoaderConfig, RunningLoader, SqlValue, WarehouseError,
};

use super::clock;
use super::events::*;
use super::incident::{Incident, Payments, Threshold};
use super::reorders::{ReorderRate, Reorders, UserKind};
use super::simulate::PaymentOutcome;
use super::users::{Hit, UserRow, UsersJoin};
use super::views::{RevenueAtRisk, WarehouseView};

/// The SQL queries of the warehouse view, shipped next to the example.
pub const QUERIES: &str = include_str!("../../examples/order_flow_warehouse.sql");

/// The SQL queries joining the failures with the users replica, shipped next to the example.
pub const USERS_QUERIES: &str = include_str!("../../examples/order_flow_users.sql");

/// The SQL queries about time (the evening minute by minute, the alert thresholds, the
/// reorders), shipped next to the example.
pub const TIMELINE_QUERIES: &str = include_str!("../../examples/order_flow_timeline.sql");

/// The parameters every query of [`TIMELINE_QUERIES`] takes, for one run's orders.
pub fn timeline_params(order_prefix: &str) -> [String; 6] {
    let [evening_starts, evening_ends, incident_starts, incident_ends] =
        clock::incident_query_bounds();
    [
        order_prefix.to_owned(),
        evening_starts,
        evening_ends,
        incident_starts,
        incident_ends,
        clock::reorder_cutoff_date(),
    ]
}

/// The incident's minutes and thresholds and the reorder rates, computed by
/// [`TIMELINE_QUERIES`] over the tables and the users replica in `backend`.
pub fn timeline_from_sql(
    backend: &mut dyn Backend,
    order_prefix: &str,
) -> Result<(Incident, Reorders), String> {
    let params = timeline_params(order_prefix);
    let params: Vec<&str> = params.iter().map(String::as_str).collect();
    let mut incident = Incident::default();
    let mut reorders = Reorders::default();
    for (name, sql) in named_queries(TIMELINE_QUERIES) {
        let rows = backend
            .query(&sql, &params)
            .map_err(|e| format!("query `{name}`: {e}"))?;
        for row in &rows {
            match name {
                "payments_per_minute" => {
                    let minute = text(&row[0])?;
                    incident.minutes.entry(minute).or_default().payments.insert(
                        (tag(&row[1])?, tag(&row[2])?),
                        Payments {
                            attempts: count(&row[3])?,
                            succeeded: count(&row[4])?,
                            failed: count(&row[5])?,
                        },
                    );
                }
                "at_risk_per_minute" => {
                    incident.minutes.entry(text(&row[0])?).or_default().at_risk = RevenueAtRisk {
                        blocked_orders: count(&row[1])?,
                        blocked_pence: count(&row[2])?,
                        retried_orders: count(&row[3])?,
                        retried_pence: count(&row[4])?,
                    };
                }
                "users_hit_per_minute" => {
                    incident
                        .minutes
                        .entry(text(&row[0])?)
                        .or_default()
                        .users_hit = count(&row[1])?;
                }
                "alert_thresholds" => incident.thresholds.push(Threshold {
                    percent: u32::try_from(count(&row[0])?).map_err(|e| e.to_string())?,
                    minutes_paged: count(&row[1])?,
                    incident_minutes_caught: count(&row[2])?,
                    incident_minutes: count(&row[3])?,
                    missed: RevenueAtRisk {
                        blocked_orders: count(&row[4])?,
                        blocked_pence: count(&row[5])?,
                        retried_orders: count(&row[6])?,
                        retried_pence: count(&row[7])?,
                    },
                }),
                "reorders" => {
                    let kind = text(&row[0])?;
                    let kind = UserKind::ALL
                        .into_iter()
                        .find(|k| k.label() == kind)
                        .ok_or_else(|| format!("unknown kind of user {kind:?}"))?;
                    let outcome = text(&row[1])?;
                    let outcome = PaymentOutcome::ALL
                        .into_iter()
                        .find(|o| o.label() == outcome)
                        .ok_or_else(|| format!("unknown outcome {outcome:?}"))?;
                    reorders.rates.insert(
                        (kind, outcome),
                        ReorderRate {
                            users: count(&row[2])?,
                            reordered: count(&row[3])?,
                        },
                    );
                }
                other => return Err(format!("no reader for query `{other}`")),
            }
        }
    }
    Ok((incident, reorders))
}

/// Replaces the `users` table's rows with `replica`, as a replication job would refresh it.
pub fn write_users(backend: &mut dyn Backend, replica: &[UserRow]) -> Result<(), WarehouseError> {
    backend.execute(
        "CREATE TABLE IF NOT EXISTS users (user_id TEXT PRIMARY KEY, signup_date TEXT NOT NULL, \
         channel TEXT NOT NULL, first_order_date TEXT NOT NULL)",
    )?;
    backend.execute("DELETE FROM users")?;
    // The values are generated ids, dates and channel names: no quote can occur in them.
    for chunk in replica.chunks(500) {
        let values: Vec<String> = chunk
            .iter()
            .map(|u| {
                format!(
                    "('{}', '{}', '{}', '{}')",
                    u.user_id, u.signup_date, u.channel, u.first_order_date
                )
            })
            .collect();
        backend.execute(&format!("INSERT INTO users VALUES {}", values.join(", ")))?;
    }
    Ok(())
}

/// The join of [`USERS_QUERIES`] over the tables in `backend`, for one run's orders.
pub fn users_join_from_sql(
    backend: &mut dyn Backend,
    order_prefix: &str,
) -> Result<UsersJoin, String> {
    let mut join = UsersJoin::default();
    for (name, sql) in named_queries(USERS_QUERIES) {
        let rows = backend
            .query(&sql, &[order_prefix])
            .map_err(|e| format!("query `{name}`: {e}"))?;
        let groups = match name {
            "by_channel" => &mut join.by_channel,
            "by_signup_month" => &mut join.by_signup_month,
            other => return Err(format!("no reader for query `{other}`")),
        };
        for row in &rows {
            let group = row[0].as_str().ok_or("a group that is not text")?;
            groups.insert(
                group.to_owned(),
                Hit {
                    users: count(&row[1])?,
                    affected_users: count(&row[2])?,
                    failures: count(&row[3])?,
                },
            );
        }
    }
    Ok(join)
}

/// A loader for every event of the order flow.
pub fn loader<B: Backend>(config: LoaderConfig, backend: B) -> Loader<B> {
    Loader::new(config, backend)
        .event::<OrderPlaced>()
        .event::<PaymentAttempted>()
        .event::<PaymentSucceeded>()
        .event::<PaymentFailed>()
        .event::<OrderSentToRestaurant>()
        .event::<OrderCollected>()
        .event::<OrderDelivered>()
}

/// The `-- name:` queries of [`QUERIES`], in file order.
pub fn named_queries(text: &str) -> Vec<(&str, String)> {
    let mut queries: Vec<(&str, String)> = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.trim().strip_prefix("-- name:") {
            queries.push((name.trim(), String::new()));
        } else if let Some((_, sql)) = queries.last_mut() {
            if !line.trim_start().starts_with("--") {
                sql.push_str(line);
                sql.push('\n');
            }
        }
    }
    for (_, sql) in &mut queries {
        *sql = sql.trim().trim_end_matches(';').to_owned();
    }
    queries
}

/// Rows of this run's orders in all the order flow's tables.
pub fn rows_of_run(backend: &mut dyn Backend, order_prefix: &str) -> Result<u64, WarehouseError> {
    let (_, events) = named_queries(QUERIES)
        .into_iter()
        .find(|(name, _)| *name == "events")
        .expect("the events query ships with the example");
    let rows = backend.query(&events, &[order_prefix])?;
    Ok(rows.iter().filter_map(|r| r[1].as_i64()).sum::<i64>() as u64)
}

/// Loads until this run's `expected` rows are all in the tables, or `timeout` passes.
pub fn load_run<B: Backend>(
    loader: &mut RunningLoader<B>,
    order_prefix: &str,
    expected: u64,
    timeout: Duration,
) -> Result<LoadStats, String> {
    let deadline = Instant::now() + timeout;
    loop {
        loader.load_batch().map_err(|e| e.to_string())?;
        let loaded = rows_of_run(loader.backend(), order_prefix).map_err(|e| e.to_string())?;
        if loaded >= expected {
            return Ok(loader.stats());
        }
        if Instant::now() >= deadline {
            return Err(format!("loaded {loaded} of {expected} rows in {timeout:?}"));
        }
    }
}

fn tag<T: Tag>(value: &SqlValue) -> Result<T, String> {
    let text = value.as_str().ok_or("a tag column is not text")?;
    (0..T::CARDINALITY)
        .filter_map(T::from_index)
        .find(|t| t.value() == text)
        .ok_or_else(|| format!("unknown tag value {text:?}"))
}

fn text(value: &SqlValue) -> Result<String, String> {
    value
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("a label is {value:?}"))
}

fn count(value: &SqlValue) -> Result<u64, String> {
    value
        .as_i64()
        .and_then(|v| u64::try_from(v).ok())
        .ok_or_else(|| format!("a count is {value:?}"))
}

/// The warehouse view computed by the SQL queries over the loaded tables.
pub fn view_from_sql(
    backend: &mut dyn Backend,
    order_prefix: &str,
) -> Result<WarehouseView, String> {
    let mut view = WarehouseView::default();
    for (name, sql) in named_queries(QUERIES) {
        let rows = backend
            .query(&sql, &[order_prefix])
            .map_err(|e| format!("query `{name}`: {e}"))?;
        for row in &rows {
            match name {
                "events" => {
                    let event = row[0].as_str().ok_or("event name is not text")?;
                    let static_name = EVENT_NAMES
                        .into_iter()
                        .find(|n| *n == event)
                        .ok_or_else(|| format!("unknown event {event:?}"))?;
                    let n = count(&row[1])?;
                    if n > 0 {
                        view.events.insert(static_name, n);
                    }
                }
                "attempts" => {
                    view.attempts
                        .insert((tag(&row[0])?, tag(&row[1])?), count(&row[2])?);
                }
                "failures" => {
                    view.failures
                        .insert((tag(&row[0])?, tag(&row[1])?), count(&row[2])?);
                }
                "ordering_users" => view.ordering_users = count(&row[0])?,
                "affected_users" => {
                    view.affected_users.insert(tag(&row[0])?, count(&row[1])?);
                }
                "transient_and_blocked" => {
                    view.transient_orders = count(&row[0])?;
                    view.blocked_orders = count(&row[1])?;
                }
                "failures_per_user" => {
                    view.failures_per_user
                        .insert(count(&row[0])?, count(&row[1])?);
                }
                "invalid_token" => {
                    view.invalid_token_users = count(&row[0])?;
                    view.invalid_token_failures = count(&row[1])?;
                }
                "dishes" => {
                    view.dishes.insert(tag(&row[0])?, count(&row[1])?);
                }
                "revenue_at_risk" => {
                    view.revenue_at_risk.insert(
                        (tag(&row[0])?, tag(&row[1])?),
                        RevenueAtRisk {
                            blocked_orders: count(&row[2])?,
                            blocked_pence: count(&row[3])?,
                            retried_orders: count(&row[4])?,
                            retried_pence: count(&row[5])?,
                        },
                    );
                }
                other => return Err(format!("no reader for query `{other}`")),
            }
        }
    }
    Ok(view)
}

/// A finished warehouse leg: what was loaded, and the view the SQL queries computed.
pub struct WarehouseRun {
    /// The loader's totals.
    pub stats: LoadStats,
    /// The warehouse view, from SQL.
    pub view: WarehouseView,
    /// The failures joined with the users replica, from SQL.
    pub users: UsersJoin,
    /// The evening minute by minute and the alert thresholds, from SQL.
    pub incident: Incident,
    /// The 28-day reorder rates, from SQL.
    pub reorders: Reorders,
    /// Loading time, until the run's last row was in.
    pub elapsed: Duration,
}

/// Loads a published run (`delivered` records with `order_prefix`) from Kafka into
/// `backend` with the consumer group `group`, writes the users replica beside it, then
/// computes its view, the users join and the timeline in SQL.
pub fn load_and_query<B: Backend>(
    backend: B,
    bootstrap_servers: &str,
    group: &str,
    order_prefix: &str,
    delivered: u64,
    replica: &[UserRow],
) -> Result<WarehouseRun, String> {
    let started = Instant::now();
    let mut loader = loader(LoaderConfig::new(bootstrap_servers, group), backend)
        .start()
        .map_err(|e| e.to_string())?;
    let stats = load_run(
        &mut loader,
        order_prefix,
        delivered,
        Duration::from_secs(300),
    )?;
    let elapsed = started.elapsed();
    let view = view_from_sql(loader.backend(), order_prefix)?;
    write_users(loader.backend(), replica).map_err(|e| e.to_string())?;
    let users = users_join_from_sql(loader.backend(), order_prefix)?;
    let (incident, reorders) = timeline_from_sql(loader.backend(), order_prefix)?;
    Ok(WarehouseRun {
        stats,
        view,
        users,
        incident,
        reorders,
        elapsed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_query_is_named_and_read() {
        let names: Vec<&str> = named_queries(QUERIES).into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "events",
                "attempts",
                "failures",
                "ordering_users",
                "affected_users",
                "transient_and_blocked",
                "failures_per_user",
                "invalid_token",
                "dishes",
                "revenue_at_risk"
            ]
        );
        let names: Vec<&str> = named_queries(TIMELINE_QUERIES)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(
            names,
            [
                "payments_per_minute",
                "at_risk_per_minute",
                "users_hit_per_minute",
                "alert_thresholds",
                "reorders"
            ]
        );
        for (name, sql) in named_queries(QUERIES)
            .into_iter()
            .chain(named_queries(TIMELINE_QUERIES))
        {
            assert!(
                sql.starts_with("SELECT") || sql.starts_with("WITH"),
                "{name}: {sql}"
            );
            assert!(!sql.contains(';'), "{name} holds one statement");
        }
    }
}
