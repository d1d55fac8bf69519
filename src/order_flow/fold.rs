//! The warehouse side in one pass: each Kafka payload is decoded and folded into the
//! per-order and per-user state the questions need, and every payload figure is computed
//! from that state at the end. No record is kept, so a long run's memory grows with its
//! orders and users, not with its events; and the records may come in any order (a topic
//! read back interleaves `orders` and `payments`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use event_runtime::{DecodeError, Event, KafkaRecord, RecordSink, SinkStats, Tag};

use super::clock;
use super::events::*;
use super::incident::{Incident, Minute};
use super::reorders::{ReorderRate, Reorders, UserKind};
use super::simulate::PaymentOutcome;
use super::users::{Hit, UserRow, UsersJoin};
use super::views::{RevenueAtRisk, WarehouseView};

/// What the payloads say about one order.
#[derive(Default)]
struct Order {
    /// From `order.placed`: the user, by their index in [`PayloadFold::user_ids`].
    user: Option<u32>,
    placed_at: Option<SystemTime>,
    /// From `payment.attempted`: the basket charged, and the tags of the payment.
    amount_pence: u64,
    tags: Option<(Market, Platform)>,
    attempts: u32,
    succeeded: u32,
    failed: u32,
    /// The first failure's (attempt, reason, market).
    first_failure: Option<(u32, FailureReason, Market)>,
}

impl Order {
    fn outcome(&self) -> PaymentOutcome {
        PaymentOutcome::of(self.failed, self.succeeded > 0)
    }
}

/// What the payloads say about one user.
#[derive(Default)]
struct User {
    ordered: bool,
    failures: u64,
    /// Markets (by tag index) the user had a failure in.
    failed_in: u8,
    invalid_token: bool,
}

/// The running fold of the order flow's payloads.
#[derive(Default)]
pub struct PayloadFold {
    events: BTreeMap<&'static str, u64>,
    attempts: BTreeMap<(Market, Platform), u64>,
    failures: BTreeMap<(Market, Platform), u64>,
    dishes: BTreeMap<Market, u64>,
    invalid_token_failures: u64,
    orders: HashMap<String, Order>,
    /// Each user's index in `user_ids` and `user_facts`: an order keeps the index, not a
    /// second copy of the id.
    users: HashMap<String, u32>,
    user_ids: Vec<String>,
    user_facts: Vec<User>,
}

/// Every payload figure of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PayloadViews {
    /// Totals, distinct users, retries and revenue at risk.
    pub warehouse: WarehouseView,
    /// Failures by who the users are.
    pub users: UsersJoin,
    /// The evening minute by minute, and what each alert threshold would have done.
    pub incident: Incident,
    /// Who ordered again within 28 days.
    pub reorders: Reorders,
}

impl PayloadFold {
    /// Folds every `(schema name header, payload)` pair.
    pub fn of<'a>(
        records: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    ) -> Result<Self, DecodeError> {
        let mut fold = PayloadFold::default();
        for (schema_name, payload) in records {
            fold.add(schema_name, payload)?;
        }
        Ok(fold)
    }

    /// The index of user `id`, added if new.
    fn user(&mut self, id: String) -> u32 {
        if let Some(index) = self.users.get(&id) {
            return *index;
        }
        let index = self.user_ids.len() as u32;
        self.user_ids.push(id.clone());
        self.user_facts.push(User::default());
        self.users.insert(id, index);
        index
    }

    /// Folds one record; a schema name that is not the order flow's is skipped.
    pub fn add(&mut self, schema_name: &str, payload: &[u8]) -> Result<(), DecodeError> {
        let name = match schema_name {
            n if n == OrderPlaced::MESSAGE_NAME => {
                let e = OrderPlaced::decode(payload)?;
                let dishes: u64 = e.line_items.iter().map(|i| u64::from(i.quantity)).sum();
                *self.dishes.entry(e.market).or_default() += dishes;
                let user = self.user(e.user_id);
                self.user_facts[user as usize].ordered = true;
                let order = self.orders.entry(e.order_id).or_default();
                order.user = Some(user);
                order.placed_at = Some(e.placed_at);
                OrderPlaced::NAME
            }
            n if n == PaymentAttempted::MESSAGE_NAME => {
                let e = PaymentAttempted::decode(payload)?;
                *self.attempts.entry((e.market, e.platform)).or_default() += 1;
                let order = self.orders.entry(e.order_id).or_default();
                order.attempts += 1;
                order.amount_pence = e.amount_pence;
                order.tags = Some((e.market, e.platform));
                PaymentAttempted::NAME
            }
            n if n == PaymentSucceeded::MESSAGE_NAME => {
                let e = PaymentSucceeded::decode(payload)?;
                self.orders.entry(e.order_id).or_default().succeeded += 1;
                PaymentSucceeded::NAME
            }
            n if n == PaymentFailed::MESSAGE_NAME => {
                let e = PaymentFailed::decode(payload)?;
                *self.failures.entry((e.market, e.platform)).or_default() += 1;
                let index = self.user(e.user_id);
                let user = &mut self.user_facts[index as usize];
                user.failures += 1;
                user.failed_in |= 1 << e.market.index();
                if e.reason == FailureReason::InvalidToken {
                    self.invalid_token_failures += 1;
                    user.invalid_token = true;
                }
                let order = self.orders.entry(e.order_id).or_default();
                order.failed += 1;
                let first = order
                    .first_failure
                    .get_or_insert((e.attempt, e.reason, e.market));
                if e.attempt < first.0 {
                    *first = (e.attempt, e.reason, e.market);
                }
                PaymentFailed::NAME
            }
            n if n == OrderSentToRestaurant::MESSAGE_NAME => {
                OrderSentToRestaurant::decode(payload)?;
                OrderSentToRestaurant::NAME
            }
            n if n == OrderCollected::MESSAGE_NAME => {
                OrderCollected::decode(payload)?;
                OrderCollected::NAME
            }
            n if n == OrderDelivered::MESSAGE_NAME => {
                OrderDelivered::decode(payload)?;
                OrderDelivered::NAME
            }
            _ => return Ok(()),
        };
        *self.events.entry(name).or_default() += 1;
        Ok(())
    }

    /// The warehouse view.
    pub fn warehouse(&self) -> WarehouseView {
        let mut view = WarehouseView {
            events: self.events.clone(),
            attempts: self.attempts.clone(),
            failures: self.failures.clone(),
            dishes: self.dishes.clone(),
            invalid_token_failures: self.invalid_token_failures,
            ..WarehouseView::default()
        };
        for user in &self.user_facts {
            view.ordering_users += u64::from(user.ordered);
            view.invalid_token_users += u64::from(user.invalid_token);
            if user.failures > 0 {
                *view
                    .failures_per_user
                    .entry(user.failures.min(4))
                    .or_default() += 1;
            }
            for market in super::views::all::<Market>() {
                if user.failed_in & (1 << market.index()) != 0 {
                    *view.affected_users.entry(market).or_default() += 1;
                }
            }
        }
        for order in self.orders.values() {
            let Some((_, reason, market)) = order.first_failure else {
                continue;
            };
            let at_risk = view.revenue_at_risk.entry((reason, market)).or_default();
            at_risk.add(&at_risk_of(order));
            if order.succeeded > 0 {
                view.transient_orders += 1;
            } else {
                view.blocked_orders += 1;
            }
        }
        view
    }

    /// The failures joined with the users `replica`.
    pub fn users_join(&self, replica: &[UserRow]) -> UsersJoin {
        let mut join = UsersJoin::default();
        let mut seen = HashSet::new();
        for row in replica {
            if !seen.insert(row.user_id.as_str()) {
                continue;
            }
            let failed = self
                .users
                .get(&row.user_id)
                .map_or(0, |i| self.user_facts[*i as usize].failures);
            for hit in [
                join.by_channel.entry(row.channel.to_owned()).or_default(),
                join.by_signup_month
                    .entry(row.signup_date[..7].to_owned())
                    .or_default(),
            ] {
                add_hit(hit, failed);
            }
        }
        join
    }

    /// The evening minute by minute: attempts per market and platform, and the revenue at
    /// risk of the orders placed in each minute. Payments count in their order's minute.
    pub fn incident(&self) -> Incident {
        let mut minutes: BTreeMap<String, Minute> = BTreeMap::new();
        let mut users_hit: BTreeMap<String, HashSet<u32>> = BTreeMap::new();
        for order in self.orders.values() {
            let (Some(placed_at), Some(tags)) = (order.placed_at, order.tags) else {
                continue;
            };
            let Some(minute) = clock::evening_minute(placed_at) else {
                continue;
            };
            let label = clock::evening_minute_label(minute);
            if let (true, Some(user)) = (order.failed > 0, order.user) {
                users_hit.entry(label.clone()).or_default().insert(user);
            }
            let figures = minutes.entry(label).or_default();
            let payments = figures.payments.entry(tags).or_default();
            payments.attempts += u64::from(order.attempts);
            payments.succeeded += u64::from(order.succeeded);
            payments.failed += u64::from(order.failed);
            if order.failed > 0 {
                figures.at_risk.add(&at_risk_of(order));
            }
        }
        for (label, users) in users_hit {
            if let Some(figures) = minutes.get_mut(&label) {
                figures.users_hit = users.len() as u64;
            }
        }
        Incident::from_minutes(minutes)
    }

    /// Who ordered again after their first order in the run, by the 28th day after the
    /// evening, by whether that was their first order ever (the users `replica` says) and
    /// by how its payment went.
    pub fn reorders(&self, replica: &[UserRow]) -> Reorders {
        let first_order_dates: HashMap<&str, &str> = replica
            .iter()
            .map(|r| (r.user_id.as_str(), r.first_order_date.as_str()))
            .collect();
        // Each user's first order: when, and how its payment went.
        let mut firsts: Vec<Option<(SystemTime, PaymentOutcome)>> = vec![None; self.user_ids.len()];
        for order in self.orders.values() {
            let (Some(user), Some(at)) = (order.user, order.placed_at) else {
                continue;
            };
            let first = &mut firsts[user as usize];
            if first.is_none_or(|(earliest, _)| at < earliest) {
                *first = Some((at, order.outcome()));
            }
        }
        let cutoff = clock::reorder_cutoff_date();
        let mut reordered = vec![false; self.user_ids.len()];
        for order in self.orders.values() {
            let (Some(user), Some(at)) = (order.user, order.placed_at) else {
                continue;
            };
            let first = firsts[user as usize].map(|(first, _)| first);
            if first.is_some_and(|first| at > first) && clock::date_label(at) <= cutoff {
                reordered[user as usize] = true;
            }
        }
        let mut rates: BTreeMap<(UserKind, PaymentOutcome), ReorderRate> = BTreeMap::new();
        for (user, first) in firsts.iter().enumerate() {
            let Some((first, outcome)) = first else {
                continue;
            };
            let Some(first_order_date) = first_order_dates.get(self.user_ids[user].as_str()) else {
                continue;
            };
            let kind = if *first_order_date == clock::date_label(*first) {
                UserKind::FirstTime
            } else {
                UserKind::Returning
            };
            let rate = rates.entry((kind, *outcome)).or_default();
            rate.users += 1;
            rate.reordered += u64::from(reordered[user]);
        }
        Reorders { rates }
    }

    /// Every payload figure, the users `replica` joined in.
    pub fn views(&self, replica: &[UserRow]) -> PayloadViews {
        PayloadViews {
            warehouse: self.warehouse(),
            users: self.users_join(replica),
            incident: self.incident(),
            reorders: self.reorders(replica),
        }
    }
}

fn add_hit(hit: &mut Hit, failures: u64) {
    hit.users += 1;
    hit.affected_users += u64::from(failures > 0);
    hit.failures += failures;
}

/// An order with a failed payment as revenue at risk: blocked, or retried and paid.
fn at_risk_of(order: &Order) -> RevenueAtRisk {
    if order.succeeded > 0 {
        RevenueAtRisk {
            retried_orders: 1,
            retried_pence: order.amount_pence,
            ..RevenueAtRisk::default()
        }
    } else {
        RevenueAtRisk {
            blocked_orders: 1,
            blocked_pence: order.amount_pence,
            ..RevenueAtRisk::default()
        }
    }
}

/// A record sink that folds each record as it is published, for in-process runs: the
/// views of a long run without keeping its records.
#[derive(Clone, Default)]
pub struct FoldingSink {
    inner: Arc<Mutex<Folding>>,
}

#[derive(Default)]
struct Folding {
    fold: PayloadFold,
    stats: SinkStats,
    error: Option<DecodeError>,
}

impl FoldingSink {
    /// An empty fold.
    pub fn new() -> Self {
        FoldingSink::default()
    }

    /// Every payload figure so far, or the first payload that did not decode.
    pub fn views(&self, replica: &[UserRow]) -> Result<PayloadViews, DecodeError> {
        let folding = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        match &folding.error {
            Some(error) => Err(error.clone()),
            None => Ok(folding.fold.views(replica)),
        }
    }
}

impl RecordSink for FoldingSink {
    fn name(&self) -> &'static str {
        "folding"
    }

    fn send(&self, record: &KafkaRecord<'_>) {
        let mut folding = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        folding.stats.published += 1;
        match folding.fold.add(record.schema_name, record.payload) {
            Ok(()) => folding.stats.delivered += 1,
            Err(error) => {
                folding.stats.failed += 1;
                folding.error.get_or_insert(error);
            }
        }
    }

    fn flush(&self, _timeout: Duration) {}

    fn stats(&self) -> SinkStats {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .stats
    }
}
