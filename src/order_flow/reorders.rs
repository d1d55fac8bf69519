//! What does a payment bug do downstream? The 28-day reorder rate of users by how the
//! payment of their first order in the run went, for users whose first order ever it was
//! (the users replica says) and for users who had ordered before.

use std::collections::BTreeMap;

use super::simulate::PaymentOutcome;
use super::views::percent;

/// Whether the run's first order of a user was their first order ever.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UserKind {
    /// It was: the users replica's first-order date is that order's date.
    FirstTime,
    /// They had ordered before.
    Returning,
}

impl UserKind {
    /// Both kinds, in this order.
    pub const ALL: [UserKind; 2] = [UserKind::FirstTime, UserKind::Returning];

    /// The name the views and the SQL give it.
    pub fn label(self) -> &'static str {
        match self {
            UserKind::FirstTime => "first-time",
            UserKind::Returning => "returning",
        }
    }
}

/// Users, and those of them who ordered again within 28 days.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReorderRate {
    /// Users in the group.
    pub users: u64,
    /// Of them, users with another order within 28 days of their first.
    pub reordered: u64,
}

/// Reorder rates per kind of user and outcome of their first order's payment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reorders {
    /// `(kind, outcome)` -> the group's rate; groups without users are absent.
    pub rates: BTreeMap<(UserKind, PaymentOutcome), ReorderRate>,
}

impl Reorders {
    /// The rate of one group (zero users when it has none).
    pub fn rate(&self, kind: UserKind, outcome: PaymentOutcome) -> ReorderRate {
        self.rates
            .get(&(kind, outcome))
            .copied()
            .unwrap_or_default()
    }
}

/// The reorder table as text lines.
pub fn render(reorders: &Reorders) -> Vec<String> {
    let mut out = vec![
        "WHO CAME BACK (Kafka payloads joined with the users replica)".to_owned(),
        "28-day reorder rate, by how the payment of each user's first order in the run went"
            .to_owned(),
        String::new(),
        format!(
            "{:<12} {:<11} {:>7} {:>10} {:>7}",
            "users", "first order", "users", "reordered", "rate"
        ),
    ];
    for kind in UserKind::ALL {
        for outcome in PaymentOutcome::ALL {
            let r = reorders.rate(kind, outcome);
            out.push(format!(
                "{:<12} {:<11} {:>7} {:>10} {:>7}",
                kind.label(),
                outcome.label(),
                r.users,
                r.reordered,
                percent(r.reordered, r.users)
            ));
        }
    }
    out
}
