//! The two views of the same events, and the check that they agree.
//!
//! The metrics view is what Datadog would show: counters per event and tag combination,
//! read back from the DogStatsD lines. The warehouse view is what SQL over the Kafka
//! topic would show: it decodes every payload and can count distinct users and follow an
//! order across events, which counters cannot.

use std::collections::BTreeMap;
use std::fmt::Write;

use event_runtime::{DecodeError, Event, Tag};

use super::events::*;
use super::fold::PayloadFold;

/// `(metric name, sorted "key:value" tags)` -> count.
type Counters = BTreeMap<(String, Vec<String>), f64>;

/// Counter totals per event name and tag set, parsed from DogStatsD lines: over the whole
/// run, and per minute of the evening for the lines received in it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetricsView {
    counters: Counters,
    /// Minute of the evening -> the counters received in it.
    minutes: BTreeMap<u32, Counters>,
}

/// A counter line's name, sorted tags and count (its value over its sample rate).
fn parse_counter(line: &str) -> Option<(&str, Vec<String>, f64)> {
    let (name, rest) = line.split_once(':')?;
    let mut parts = rest.split('|');
    let value: f64 = parts.next().and_then(|v| v.parse().ok()).unwrap_or(0.0);
    if parts.next() != Some("c") {
        return None;
    }
    let mut rate = 1.0;
    let mut tags = Vec::new();
    for part in parts {
        if let Some(r) = part.strip_prefix('@') {
            rate = r.parse().unwrap_or(1.0);
        } else if let Some(t) = part.strip_prefix('#') {
            tags = t.split(',').map(str::to_owned).collect();
        }
    }
    tags.sort();
    Some((name, tags, value / rate))
}

fn count_in(counters: &Counters, name: &str, with: &[(&str, &str)]) -> u64 {
    let wanted: Vec<String> = with.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    counters
        .iter()
        .filter(|((n, tags), _)| n == name && wanted.iter().all(|w| tags.contains(w)))
        .map(|(_, v)| *v)
        .sum::<f64>()
        .round() as u64
}

impl MetricsView {
    /// Reads DogStatsD lines (`name:value|type[|@rate][|#tags]`); only counters count.
    pub fn from_lines<'a>(lines: impl IntoIterator<Item = &'a str>) -> Self {
        let mut view = MetricsView::default();
        view.add_lines(lines);
        view
    }

    /// Adds lines to the run's totals.
    pub fn add_lines<'a>(&mut self, lines: impl IntoIterator<Item = &'a str>) {
        for (name, tags, count) in lines.into_iter().filter_map(parse_counter) {
            *self.counters.entry((name.to_owned(), tags)).or_default() += count;
        }
    }

    /// Adds the lines received in minute `minute` of the evening, to it and to the totals.
    pub fn add_minute<'a>(&mut self, minute: u32, lines: impl IntoIterator<Item = &'a str>) {
        let counters = self.minutes.entry(minute).or_default();
        for (name, tags, count) in lines.into_iter().filter_map(parse_counter) {
            *self
                .counters
                .entry((name.to_owned(), tags.clone()))
                .or_default() += count;
            *counters.entry((name.to_owned(), tags)).or_default() += count;
        }
    }

    /// The counter total of `name` over the series whose tags include all of `with`.
    pub fn count(&self, name: &str, with: &[(&str, &str)]) -> u64 {
        count_in(&self.counters, name, with)
    }

    /// The same, over the lines received in minute `minute` of the evening.
    pub fn count_in_minute(&self, minute: u32, name: &str, with: &[(&str, &str)]) -> u64 {
        self.minutes
            .get(&minute)
            .map_or(0, |counters| count_in(counters, name, with))
    }
}

/// Facts computed from the decoded Kafka payloads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WarehouseView {
    /// Events per event name.
    pub events: BTreeMap<&'static str, u64>,
    /// Payment attempts per (market, platform).
    pub attempts: BTreeMap<(Market, Platform), u64>,
    /// Payment failures per (market, platform).
    pub failures: BTreeMap<(Market, Platform), u64>,
    /// Users who placed at least one order.
    pub ordering_users: u64,
    /// Distinct users with at least one failed payment, per market.
    pub affected_users: BTreeMap<Market, u64>,
    /// Orders with a failed payment that were paid on a later attempt.
    pub transient_orders: u64,
    /// Orders with a failed payment that were never paid.
    pub blocked_orders: u64,
    /// Failed payments per affected user: failures -> users.
    pub failures_per_user: BTreeMap<u64, u64>,
    /// Distinct users hit by the `invalid_token` bug.
    pub invalid_token_users: u64,
    /// Failures with reason `invalid_token`.
    pub invalid_token_failures: u64,
    /// Dishes ordered per market: the line items nested in each order, summed.
    pub dishes: BTreeMap<Market, u64>,
    /// What the orders with a failed payment were worth, per reason of each order's first
    /// failure and per market.
    pub revenue_at_risk: BTreeMap<(FailureReason, Market), RevenueAtRisk>,
}

/// Orders with a failed payment and their basket value: those never paid (the revenue
/// lost) and those paid on a retry (the revenue a worse bug would have lost).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RevenueAtRisk {
    /// Orders never paid.
    pub blocked_orders: u64,
    /// Their basket value.
    pub blocked_pence: u64,
    /// Orders paid on a later attempt.
    pub retried_orders: u64,
    /// Their basket value.
    pub retried_pence: u64,
}

impl RevenueAtRisk {
    /// Adds `other`'s orders and value to these.
    pub fn add(&mut self, other: &RevenueAtRisk) {
        self.blocked_orders += other.blocked_orders;
        self.blocked_pence += other.blocked_pence;
        self.retried_orders += other.retried_orders;
        self.retried_pence += other.retried_pence;
    }
}

impl WarehouseView {
    /// Decodes `(schema name header, payload)` pairs, in any order.
    pub fn from_payloads<'a>(
        records: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    ) -> Result<Self, DecodeError> {
        Ok(PayloadFold::of(records)?.warehouse())
    }

    /// Distinct users with at least one failed payment.
    pub fn affected_users_total(&self) -> u64 {
        self.affected_users.values().sum()
    }

    /// Whether revenue at risk counts each order with a failed payment once: its blocked
    /// and retried orders are the blocked and transient orders, which are computed apart.
    pub fn revenue_at_risk_covers_every_failed_order(&self) -> bool {
        let all = self.revenue_at_risk_where(|_, _| true);
        all.blocked_orders == self.blocked_orders && all.retried_orders == self.transient_orders
    }

    /// Revenue at risk summed over the keys `keep` accepts.
    pub fn revenue_at_risk_where(
        &self,
        keep: impl Fn(FailureReason, Market) -> bool,
    ) -> RevenueAtRisk {
        let mut total = RevenueAtRisk::default();
        for ((reason, market), at_risk) in &self.revenue_at_risk {
            if keep(*reason, *market) {
                total.add(at_risk);
            }
        }
        total
    }
}

/// One comparison between the two views.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agreement {
    /// What is compared.
    pub what: String,
    /// The metrics view's number.
    pub metrics: u64,
    /// The warehouse view's number.
    pub warehouse: u64,
}

impl Agreement {
    /// Whether both views have the same number.
    pub fn holds(&self) -> bool {
        self.metrics == self.warehouse
    }
}

/// Every value of the tag `T`, in declaration order.
pub fn all<T: Tag>() -> impl Iterator<Item = T> {
    (0..T::CARDINALITY).filter_map(T::from_index)
}

/// Compares every total both views can compute: events per type, and payment attempts
/// and failures per market and platform.
pub fn agreements(metrics: &MetricsView, warehouse: &WarehouseView) -> Vec<Agreement> {
    let mut out = Vec::new();
    for name in EVENT_NAMES {
        out.push(Agreement {
            what: format!("{name} events"),
            metrics: metrics.count(name, &[]),
            warehouse: warehouse.events.get(name).copied().unwrap_or(0),
        });
    }
    for market in all::<Market>() {
        for platform in all::<Platform>() {
            let tags = [("market", market.value()), ("platform", platform.value())];
            let key = (market, platform);
            out.push(Agreement {
                what: format!("payment.attempted {}/{}", market.value(), platform.value()),
                metrics: metrics.count(PaymentAttempted::NAME, &tags),
                warehouse: warehouse.attempts.get(&key).copied().unwrap_or(0),
            });
            out.push(Agreement {
                what: format!("payment.failed {}/{}", market.value(), platform.value()),
                metrics: metrics.count(PaymentFailed::NAME, &tags),
                warehouse: warehouse.failures.get(&key).copied().unwrap_or(0),
            });
        }
    }
    out
}

/// `part` as a percentage of `whole`, with one decimal.
pub fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        "-".into()
    } else {
        format!("{:.1}%", 100.0 * part as f64 / whole as f64)
    }
}

/// The metrics view as text lines.
pub fn render_metrics(metrics: &MetricsView) -> Vec<String> {
    let mut out = vec![
        "METRICS VIEW (DogStatsD counters)".to_owned(),
        "what Datadog graphs and alerts on".to_owned(),
        String::new(),
        "counter                      total".to_owned(),
    ];
    for name in [
        OrderPlaced::NAME,
        PaymentAttempted::NAME,
        PaymentSucceeded::NAME,
        PaymentFailed::NAME,
        OrderDelivered::NAME,
    ] {
        out.push(format!("{name:<26} {:>8}", metrics.count(name, &[])));
    }
    out.push(String::new());
    out.push("payment failure rate".to_owned());
    out.push("market platform  tried failed   rate".to_owned());
    for market in all::<Market>() {
        for platform in all::<Platform>() {
            let tags = [("market", market.value()), ("platform", platform.value())];
            let tried = metrics.count(PaymentAttempted::NAME, &tags);
            let failed = metrics.count(PaymentFailed::NAME, &tags);
            out.push(format!(
                "{:<6} {:<8} {tried:>6} {failed:>6} {:>6}",
                market.value(),
                platform.value(),
                percent(failed, tried)
            ));
        }
    }
    out.push(String::new());
    out.push("failures by reason".to_owned());
    for reason in all::<FailureReason>() {
        let n = metrics.count(PaymentFailed::NAME, &[("reason", reason.value())]);
        out.push(format!("{:<26} {n:>8}", reason.value()));
    }
    out.push(String::new());
    out.push("counters can't say how many distinct users,".to_owned());
    out.push("or whether they paid on retry".to_owned());
    out
}

/// The warehouse view as text lines.
pub fn render_warehouse(w: &WarehouseView) -> Vec<String> {
    let mut out = vec![
        "WAREHOUSE VIEW (Kafka payloads)".to_owned(),
        "what SQL over the topic answers".to_owned(),
        String::new(),
        "event                        total".to_owned(),
    ];
    for name in [
        OrderPlaced::NAME,
        PaymentAttempted::NAME,
        PaymentSucceeded::NAME,
        PaymentFailed::NAME,
        OrderDelivered::NAME,
    ] {
        out.push(format!(
            "{name:<26} {:>8}",
            w.events.get(name).copied().unwrap_or(0)
        ));
    }
    out.push(String::new());
    out.push(format!(
        "users hit by a failed payment {:>6}",
        w.affected_users_total()
    ));
    out.push(format!(
        "  of {} ordering users       {:>6}",
        w.ordering_users,
        percent(w.affected_users_total(), w.ordering_users)
    ));
    for (market, users) in &w.affected_users {
        out.push(format!("  in {:<25} {users:>6}", market.value()));
    }
    out.push(format!(
        "orders with a failed payment  {:>6}",
        w.transient_orders + w.blocked_orders
    ));
    out.push(format!(
        "  transient (paid on retry)   {:>6}",
        w.transient_orders
    ));
    out.push(format!(
        "  blocked (never paid)        {:>6}",
        w.blocked_orders
    ));
    out.push("failures per affected user".to_owned());
    for (failures, users) in &w.failures_per_user {
        let label = if *failures >= 4 {
            "4+".to_owned()
        } else {
            failures.to_string()
        };
        out.push(format!("  {label:<2} failures: {users:>6} users"));
    }
    out.push(format!(
        "invalid_token bug: {} users, {} failures",
        w.invalid_token_users, w.invalid_token_failures
    ));
    out.push("dishes ordered (nested line items)".to_owned());
    for (market, dishes) in &w.dishes {
        out.push(format!("  in {:<25} {dishes:>6}", market.value()));
    }
    out
}

/// Pence as pounds: `£12.34`.
pub fn pounds(pence: u64) -> String {
    format!("£{}.{:02}", pence / 100, pence % 100)
}

/// The revenue the failed payments put at risk, per reason of each order's first failure
/// and per market: what only the payloads can say (the counters have no basket value per
/// failed order, and cannot tell a retried order from a blocked one).
pub fn render_revenue_at_risk(w: &WarehouseView) -> Vec<String> {
    let mut out = vec![
        "REVENUE AT RISK (Kafka payloads: basket value of orders with a failed payment)".to_owned(),
        "by the reason of each order's first failure".to_owned(),
        String::new(),
        format!(
            "{:<17} {:<6} {:>8} {:>12} {:>8} {:>12}",
            "reason", "market", "blocked", "lost", "retried", "recovered"
        ),
    ];
    let line = |reason: &str, market: &str, r: RevenueAtRisk| {
        format!(
            "{reason:<17} {market:<6} {:>8} {:>12} {:>8} {:>12}",
            r.blocked_orders,
            pounds(r.blocked_pence),
            r.retried_orders,
            pounds(r.retried_pence)
        )
    };
    for reason in all::<FailureReason>() {
        for market in all::<Market>() {
            if let Some(r) = w.revenue_at_risk.get(&(reason, market)) {
                out.push(line(reason.value(), market.value(), *r));
            }
        }
        let r = w.revenue_at_risk_where(|rr, _| rr == reason);
        out.push(line(reason.value(), "all", r));
    }
    out.push(line("all", "all", w.revenue_at_risk_where(|_, _| true)));
    out
}

/// Two blocks of lines next to each other.
pub fn side_by_side(left: &[String], right: &[String]) -> String {
    let width = left.iter().map(|l| l.chars().count()).max().unwrap_or(0) + 4;
    let mut out = String::new();
    for i in 0..left.len().max(right.len()) {
        let l = left.get(i).map_or("", String::as_str);
        let r = right.get(i).map_or("", String::as_str);
        let _ = writeln!(out, "{l:<width$}| {r}");
    }
    out
}
