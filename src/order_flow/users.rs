//! The company's other data: a replica of the production `users` table (signup date,
//! acquisition channel, first-order date), as a warehouse holds beside the event tables,
//! and the failures of the run joined with it. The replica is derived from each user's
//! number, not from the simulation's random stream, so it changes none of the run's other
//! figures; its first-order dates come before the run's orders.

use std::collections::{BTreeMap, BTreeSet};

use event_runtime::{DecodeError, Event};

use super::events::PaymentFailed;
use super::simulate::{user_id, Scenario};

/// How a user found the service.
pub const CHANNELS: [&str; 4] = ["organic", "paid_search", "referral", "social"];

/// One row of the users replica.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRow {
    /// The user id, as the events carry it.
    pub user_id: String,
    /// `YYYY-MM-DD`.
    pub signup_date: String,
    /// One of [`CHANNELS`].
    pub channel: &'static str,
    /// `YYYY-MM-DD`, on or after the signup date.
    pub first_order_date: String,
}

/// A fixed mix of user `i`'s number, so the replica is the same for every run of a scenario.
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The replica of the scenario's users: signups across 2025, a channel each, and a first
/// order within 28 days of signing up.
pub fn replica(scenario: &Scenario) -> Vec<UserRow> {
    (0..scenario.users())
        .map(|i| {
            let h = mix(i ^ scenario.seed.rotate_left(17));
            let month = 1 + h % 12;
            let day = 1 + (h >> 8) % 28;
            let first_order = (day + (h >> 16) % 28).min(28);
            UserRow {
                user_id: user_id(i),
                signup_date: format!("2025-{month:02}-{day:02}"),
                channel: CHANNELS[((h >> 24) % 100 / 25) as usize],
                first_order_date: format!("2025-{month:02}-{first_order:02}"),
            }
        })
        .collect()
}

/// Users, users hit by a failed payment, and failed payments, per group of users.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Hit {
    /// Users in the group.
    pub users: u64,
    /// Of them, users with at least one failed payment.
    pub affected_users: u64,
    /// Their failed payments.
    pub failures: u64,
}

/// The run's failures joined with the users replica.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UsersJoin {
    /// Per acquisition channel.
    pub by_channel: BTreeMap<String, Hit>,
    /// Per signup month (`YYYY-MM`): the signup cohort.
    pub by_signup_month: BTreeMap<String, Hit>,
}

impl UsersJoin {
    /// Joins the failed payments among `(schema name, payload)` records with `replica`.
    pub fn from_payloads<'a>(
        records: impl IntoIterator<Item = (&'a str, &'a [u8])>,
        replica: &[UserRow],
    ) -> Result<Self, DecodeError> {
        let mut failures: BTreeMap<String, u64> = BTreeMap::new();
        for (schema_name, payload) in records {
            if schema_name == PaymentFailed::MESSAGE_NAME {
                *failures
                    .entry(PaymentFailed::decode(payload)?.user_id)
                    .or_default() += 1;
            }
        }
        let mut join = UsersJoin::default();
        let mut seen = BTreeSet::new();
        for user in replica {
            if !seen.insert(user.user_id.as_str()) {
                continue;
            }
            let failed = failures.get(&user.user_id).copied().unwrap_or(0);
            for hit in [
                join.by_channel.entry(user.channel.to_owned()).or_default(),
                join.by_signup_month
                    .entry(user.signup_date[..7].to_owned())
                    .or_default(),
            ] {
                hit.users += 1;
                hit.affected_users += u64::from(failed > 0);
                hit.failures += failed;
            }
        }
        Ok(join)
    }
}

/// The join as text lines.
pub fn render(join: &UsersJoin) -> Vec<String> {
    let mut out = vec![
        "FAILURES BY WHO THE USERS ARE (Kafka payloads joined with the users replica)".to_owned(),
        String::new(),
        format!(
            "{:<14} {:>6} {:>9} {:>7} {:>9}",
            "channel", "users", "affected", "share", "failures"
        ),
    ];
    let line = |name: &str, hit: &Hit| {
        let share = if hit.users == 0 {
            "-".to_owned()
        } else {
            format!(
                "{:.1}%",
                100.0 * hit.affected_users as f64 / hit.users as f64
            )
        };
        format!(
            "{name:<14} {:>6} {:>9} {share:>7} {:>9}",
            hit.users, hit.affected_users, hit.failures
        )
    };
    for (channel, hit) in &join.by_channel {
        out.push(line(channel, hit));
    }
    out.push(String::new());
    out.push(format!(
        "{:<14} {:>6} {:>9} {:>7} {:>9}",
        "signed up", "users", "affected", "share", "failures"
    ));
    for (month, hit) in &join.by_signup_month {
        out.push(line(month, hit));
    }
    out
}
