//! A seeded stream of orders, published through a `Dispatcher`, on the simulated clock
//! of [`super::clock`].
//!
//! The payment bug under investigation: for two hours of the evening, the provider
//! rejects stale saved-card tokens (more of them on Android) with `invalid_token`, more
//! often as the bug spreads. Some of those users retry with another method and recover;
//! others give up. Against it, a normal background of timeouts and declines. In the 28 days
//! after the evening users may order again: less often after a failed first payment, and
//! least often when it was their very first order and it was never paid.

use std::time::{Duration, Instant, SystemTime};

use event_runtime::Dispatcher;

use super::clock;
use super::events::*;
use super::rng::Rng;
use super::users;

/// What to simulate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scenario {
    /// How many orders are placed in the evening, each by a different user; reorders in
    /// the 28 days after come on top.
    pub orders: u64,
    /// The same seed replays the same orders.
    pub seed: u64,
    /// Part of every order id, so that runs into a shared topic can be told apart; it
    /// does not change what happens.
    pub run_id: u64,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            orders: 20_000,
            seed: 7,
            run_id: 0,
        }
    }
}

impl Scenario {
    /// How many users there are: ids `u-000000` upwards, user `n` placing evening order `n`.
    pub fn users(&self) -> u64 {
        self.orders
    }

    /// The prefix of every order id of this run: also the prefix of its Kafka keys.
    pub fn order_prefix(&self) -> String {
        format!("o-{:x}-{:x}-", self.seed, self.run_id)
    }
}

/// What a run published.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RunSummary {
    /// Orders placed: the evening's and the reorders.
    pub orders: u64,
    /// Of them, orders placed in the 28 days after the evening.
    pub reorders: u64,
    /// Events published, all types together.
    pub events: u64,
    /// Wall time of the publishing loop.
    pub elapsed: Duration,
}

impl RunSummary {
    /// Events published per second.
    pub fn events_per_second(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// The id of user number `i`.
pub fn user_id(i: u64) -> String {
    format!("u-{i:06}")
}

struct User {
    id: String,
    market: Market,
    platform: Platform,
    method: PaymentMethod,
    stale_token: bool,
    /// Whether the evening's order is the user's first order ever (the users replica says).
    first_time: bool,
}

fn users(rng: &mut Rng, scenario: &Scenario) -> Vec<User> {
    (0..scenario.users())
        .map(|i| {
            let market = [Market::Uk, Market::Fr, Market::It][rng.weighted(&[0.5, 0.3, 0.2])];
            let platform =
                [Platform::Android, Platform::Ios, Platform::Web][rng.weighted(&[0.4, 0.4, 0.2])];
            let method = [
                PaymentMethod::Card,
                PaymentMethod::ApplePay,
                PaymentMethod::Paypal,
            ][rng.weighted(&[0.6, 0.25, 0.15])];
            let stale_rate = if platform == Platform::Android {
                0.25
            } else {
                0.08
            };
            User {
                id: user_id(i),
                market,
                platform,
                method,
                stale_token: method == PaymentMethod::Card && rng.chance(stale_rate),
                first_time: users::first_time(scenario, i),
            }
        })
        .collect()
}

/// The provider's answer to one attempt at minute `minute` of the evening (`None` after
/// it): `None` when it succeeds.
fn provider_answer(
    rng: &mut Rng,
    user: &User,
    method: PaymentMethod,
    minute: Option<u32>,
) -> Option<FailureReason> {
    if user.stale_token
        && method == PaymentMethod::Card
        && rng.chance(clock::invalid_token_chance(minute))
    {
        return Some(FailureReason::InvalidToken);
    }
    let timeout_rate = if user.market == Market::It {
        0.05
    } else {
        0.02
    };
    if rng.chance(timeout_rate) {
        Some(FailureReason::ProviderTimeout)
    } else if rng.chance(0.02) {
        Some(FailureReason::Declined)
    } else {
        None
    }
}

/// How an order's payment went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PaymentOutcome {
    /// Paid at the first attempt.
    Unaffected,
    /// Paid after a failed attempt.
    Recovered,
    /// Never paid.
    Blocked,
}

impl PaymentOutcome {
    /// Every outcome, in this order.
    pub const ALL: [PaymentOutcome; 3] = [
        PaymentOutcome::Unaffected,
        PaymentOutcome::Recovered,
        PaymentOutcome::Blocked,
    ];

    /// The outcome of an order with `failures` failed attempts, paid or not.
    pub fn of(failures: u32, paid: bool) -> Self {
        match (failures, paid) {
            (0, _) => PaymentOutcome::Unaffected,
            (_, true) => PaymentOutcome::Recovered,
            (_, false) => PaymentOutcome::Blocked,
        }
    }

    /// The name the views and the SQL give it.
    pub fn label(self) -> &'static str {
        match self {
            PaymentOutcome::Unaffected => "unaffected",
            PaymentOutcome::Recovered => "recovered",
            PaymentOutcome::Blocked => "blocked",
        }
    }

    /// The chance that a user whose evening order went this way orders again within
    /// 28 days: a failed first payment puts people off, a never-paid very first order most.
    fn reorder_chance(self, first_time: bool) -> f64 {
        match (self, first_time) {
            (PaymentOutcome::Unaffected, true) => 0.55,
            (PaymentOutcome::Recovered, true) => 0.40,
            (PaymentOutcome::Blocked, true) => 0.15,
            (PaymentOutcome::Unaffected, false) => 0.70,
            (PaymentOutcome::Recovered, false) => 0.65,
            (PaymentOutcome::Blocked, false) => 0.55,
        }
    }
}

/// `dishes` line items of one each that add up to the basket, without drawing from the
/// random stream (so the rest of the simulation does not depend on them).
fn line_items(restaurant_id: &str, basket_pence: u64, dishes: u64) -> Vec<LineItem> {
    let price = basket_pence / dishes;
    (0..dishes)
        .map(|i| LineItem {
            dish_id: format!("{restaurant_id}-d{i}"),
            quantity: 1,
            // The first dish takes the remainder, so the total is the basket.
            unit_price_pence: if i == 0 {
                basket_pence - price * (dishes - 1)
            } else {
                price
            },
        })
        .collect()
}

/// The user's address: a postcode made from their id, in their market's city.
fn delivery_address(user: &User) -> DeliveryAddress {
    let city = match user.market {
        Market::Uk => "London",
        Market::Fr => "Paris",
        Market::It => "Milan",
    };
    let code: u32 = user.id.bytes().map(u32::from).sum();
    DeliveryAddress {
        postcode: format!("{:05}", code * 37 % 100_000),
        city: city.to_owned(),
    }
}

/// Publishes the scenario's orders. `progress(done, total)` is called after each order.
pub fn run(events: &Dispatcher, scenario: Scenario, progress: impl FnMut(u64, u64)) -> RunSummary {
    run_with_minutes(events, scenario, progress, |_| {})
}

/// Publishes the scenario's orders, and at the end of each minute of the evening flushes
/// `events` (so its aggregated counters go out, as an agent's flush interval would send
/// them) and calls `minute_ended(minute)`: what the metric sinks received since the last
/// call is that minute's. After the evening the counters go out when the caller flushes.
pub fn run_with_minutes(
    events: &Dispatcher,
    scenario: Scenario,
    mut progress: impl FnMut(u64, u64),
    mut minute_ended: impl FnMut(u32),
) -> RunSummary {
    let mut rng = Rng::new(scenario.seed);
    let users = users(&mut rng, &scenario);
    let mut flow = OrderFlow {
        events,
        order_prefix: scenario.order_prefix(),
        published: 0,
        placed: 0,
    };
    let started = Instant::now();

    let evening_millis = u64::from(clock::EVENING_MINUTES) * 60_000;
    let mut minute = 0;
    let mut outcomes = Vec::with_capacity(users.len());
    for (n, user) in users.iter().enumerate() {
        let placed_at = clock::evening_starts()
            + Duration::from_millis(n as u64 * evening_millis / scenario.orders);
        let now = clock::evening_minute(placed_at);
        while now.is_some_and(|now| now > minute) {
            events.flush(Duration::ZERO);
            minute_ended(minute);
            minute += 1;
        }
        outcomes.push(flow.order(&mut rng, user, placed_at, now));
        progress(n as u64 + 1, scenario.orders);
    }
    while minute < clock::EVENING_MINUTES {
        events.flush(Duration::ZERO);
        minute_ended(minute);
        minute += 1;
    }

    // Who comes back, and when: from half a day after the evening's order to the 28th day
    // after the evening, in time order.
    let window = (clock::REORDER_DAYS - 1) * 86_400;
    let mut reorders: Vec<(SystemTime, usize)> = Vec::new();
    for (i, (user, (outcome, placed_at))) in users.iter().zip(&outcomes).enumerate() {
        if rng.chance(outcome.reorder_chance(user.first_time)) {
            let after = Duration::from_secs(rng.range(12 * 3_600, window));
            reorders.push((*placed_at + after, i));
        }
    }
    reorders.sort();
    let total = scenario.orders + reorders.len() as u64;
    for (k, (placed_at, i)) in reorders.iter().enumerate() {
        flow.order(&mut rng, &users[*i], *placed_at, None);
        progress(scenario.orders + k as u64 + 1, total);
    }

    RunSummary {
        orders: flow.placed,
        reorders: reorders.len() as u64,
        events: flow.published,
        elapsed: started.elapsed(),
    }
}

/// Publishes orders, numbering them.
struct OrderFlow<'a> {
    events: &'a Dispatcher,
    order_prefix: String,
    published: u64,
    placed: u64,
}

impl OrderFlow<'_> {
    fn publish<E: event_runtime::Event>(&mut self, event: &E) {
        self.events.publish(event);
        self.published += 1;
    }

    /// Publishes one order of `user` placed at `placed_at` (minute `minute` of the evening,
    /// `None` after it): placing, paying with retries, and delivery when paid.
    fn order(
        &mut self,
        rng: &mut Rng,
        user: &User,
        placed_at: SystemTime,
        minute: Option<u32>,
    ) -> (PaymentOutcome, SystemTime) {
        let order_id = format!("{}{:08}", self.order_prefix, self.placed);
        self.placed += 1;
        let restaurant_id = format!("r-{:04}", rng.range(0, 800));
        let basket_pence = rng.range(800, 6_000);
        let dishes = rng.range(1, 8);
        self.publish(&OrderPlaced {
            order_id: order_id.clone(),
            user_id: user.id.clone(),
            restaurant_id: restaurant_id.clone(),
            market: user.market,
            platform: user.platform,
            basket_pence,
            line_items: line_items(&restaurant_id, basket_pence, dishes),
            delivery: delivery_address(user),
            placed_at,
        });

        let mut method = user.method;
        let mut paid = false;
        let mut failures = 0;
        for attempt in 1..=3u32 {
            self.publish(&PaymentAttempted {
                order_id: order_id.clone(),
                user_id: user.id.clone(),
                attempt,
                market: user.market,
                platform: user.platform,
                method,
                amount_pence: basket_pence,
            });
            match provider_answer(rng, user, method, minute) {
                None => {
                    self.publish(&PaymentSucceeded {
                        order_id: order_id.clone(),
                        user_id: user.id.clone(),
                        attempt,
                        market: user.market,
                        platform: user.platform,
                        method,
                        latency: Duration::from_millis(rng.range(80, 900)),
                    });
                    paid = true;
                    break;
                }
                Some(reason) => {
                    failures += 1;
                    self.publish(&PaymentFailed {
                        order_id: order_id.clone(),
                        user_id: user.id.clone(),
                        attempt,
                        provider_code: format!("E{}-{:05}", reason as u8, rng.range(0, 100_000)),
                        market: user.market,
                        platform: user.platform,
                        method,
                        reason,
                    });
                    // Some users give up; some of those hit by the token bug switch method.
                    if !rng.chance(0.8) {
                        break;
                    }
                    if reason == FailureReason::InvalidToken && rng.chance(0.35) {
                        method = PaymentMethod::ApplePay;
                    }
                }
            }
        }

        if paid {
            self.publish(&OrderSentToRestaurant {
                order_id: order_id.clone(),
                restaurant_id,
                market: user.market,
            });
            let rider_id = format!("rd-{:05}", rng.range(0, 3_000));
            self.publish(&OrderCollected {
                order_id: order_id.clone(),
                rider_id: rider_id.clone(),
                market: user.market,
                wait: Duration::from_secs(rng.range(30, 900)),
            });
            let minutes = rng.range(15, 70);
            self.publish(&OrderDelivered {
                order_id,
                user_id: user.id.clone(),
                rider_id,
                market: user.market,
                on_time: minutes <= 45,
                delivery_time: Duration::from_secs(minutes * 60),
            });
        }
        (PaymentOutcome::of(failures, paid), placed_at)
    }
}
