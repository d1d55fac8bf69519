//! The company's other data: a replica of the production `users` table (signup date,
//! acquisition channel, first-order date), as a warehouse holds beside the event tables,
//! and the failures of the run joined with it. The replica is derived from each user's
//! number, not from the simulation's random stream, so it changes none of the run's other
//! figures. A quarter of the users signed up on the evening of the run and place their
//! first order ever in it; the others signed up in 2025 and first ordered then.

use std::collections::BTreeMap;

use event_runtime::DecodeError;

use super::clock;
use super::fold::PayloadFold;
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

fn user_mix(scenario: &Scenario, i: u64) -> u64 {
    mix(i ^ scenario.seed.rotate_left(17))
}

/// Whether user `i` of `scenario` places their first order ever on the evening of the run.
pub fn first_time(scenario: &Scenario, i: u64) -> bool {
    (user_mix(scenario, i) >> 40) % 100 < 25
}

/// The replica of the scenario's users: a channel each; signups across 2025 with a first
/// order within 28 days of signing up, or, for first-time users, both on the evening.
pub fn replica(scenario: &Scenario) -> Vec<UserRow> {
    let evening = clock::date_label(clock::evening_starts());
    (0..scenario.users())
        .map(|i| {
            let h = user_mix(scenario, i);
            let channel = CHANNELS[((h >> 24) % 100 / 25) as usize];
            if first_time(scenario, i) {
                return UserRow {
                    user_id: user_id(i),
                    signup_date: evening.clone(),
                    channel,
                    first_order_date: evening.clone(),
                };
            }
            let month = 1 + h % 12;
            let day = 1 + (h >> 8) % 28;
            let first_order = (day + (h >> 16) % 28).min(28);
            UserRow {
                user_id: user_id(i),
                signup_date: format!("2025-{month:02}-{day:02}"),
                channel,
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
        Ok(PayloadFold::of(records)?.users_join(replica))
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
