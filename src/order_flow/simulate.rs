//! A seeded stream of orders, published through a `Dispatcher`.
//!
//! The payment bug under investigation: some users' saved-card tokens are stale (more of
//! them on Android), and the provider rejects those cards with `invalid_token` almost every
//! time. Some of those users retry with another method and recover; others give up.

use std::time::{Duration, Instant, SystemTime};

use event_runtime::Dispatcher;

use super::events::*;
use super::rng::Rng;

/// What to simulate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scenario {
    /// How many orders are placed.
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
            orders: 2_000,
            seed: 7,
            run_id: 0,
        }
    }
}

impl Scenario {
    /// How many users the run's orders are spread over: ids `u-000000` upwards.
    pub fn users(&self) -> u64 {
        (self.orders / 4).max(10)
    }

    /// The prefix of every order id of this run: also the prefix of its Kafka keys.
    pub fn order_prefix(&self) -> String {
        format!("o-{:x}-{:x}-", self.seed, self.run_id)
    }
}

/// What a run published.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RunSummary {
    /// Orders placed.
    pub orders: u64,
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
}

fn users(rng: &mut Rng, count: u64) -> Vec<User> {
    (0..count)
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
                0.15
            } else {
                0.04
            };
            User {
                id: user_id(i),
                market,
                platform,
                method,
                stale_token: method == PaymentMethod::Card && rng.chance(stale_rate),
            }
        })
        .collect()
}

/// The provider's answer to one attempt: `None` when it succeeds.
fn provider_answer(rng: &mut Rng, user: &User, method: PaymentMethod) -> Option<FailureReason> {
    if user.stale_token && method == PaymentMethod::Card && rng.chance(0.9) {
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
pub fn run(
    events: &Dispatcher,
    scenario: Scenario,
    mut progress: impl FnMut(u64, u64),
) -> RunSummary {
    let mut rng = Rng::new(scenario.seed);
    let users = users(&mut rng, scenario.users());
    let order_prefix = scenario.order_prefix();
    let started = Instant::now();
    let mut published = 0u64;
    let mut publish = |event: &dyn Fn(&Dispatcher)| {
        event(events);
        published += 1;
    };

    for n in 0..scenario.orders {
        let user = &users[rng.range(0, users.len() as u64) as usize];
        let order_id = format!("{order_prefix}{n:08}");
        let restaurant_id = format!("r-{:04}", rng.range(0, 800));
        let basket_pence = rng.range(800, 6_000);
        let dishes = rng.range(1, 8);
        let placed = OrderPlaced {
            order_id: order_id.clone(),
            user_id: user.id.clone(),
            restaurant_id: restaurant_id.clone(),
            market: user.market,
            platform: user.platform,
            basket_pence,
            line_items: line_items(&restaurant_id, basket_pence, dishes),
            delivery: delivery_address(user),
            placed_at: SystemTime::now(),
        };
        publish(&|d| d.publish(&placed));

        let mut method = user.method;
        let mut paid = false;
        for attempt in 1..=3u32 {
            let attempted = PaymentAttempted {
                order_id: order_id.clone(),
                user_id: user.id.clone(),
                attempt,
                market: user.market,
                platform: user.platform,
                method,
                amount_pence: basket_pence,
            };
            publish(&|d| d.publish(&attempted));
            match provider_answer(&mut rng, user, method) {
                None => {
                    let succeeded = PaymentSucceeded {
                        order_id: order_id.clone(),
                        user_id: user.id.clone(),
                        attempt,
                        market: user.market,
                        platform: user.platform,
                        method,
                        latency: Duration::from_millis(rng.range(80, 900)),
                    };
                    publish(&|d| d.publish(&succeeded));
                    paid = true;
                    break;
                }
                Some(reason) => {
                    let failed = PaymentFailed {
                        order_id: order_id.clone(),
                        user_id: user.id.clone(),
                        attempt,
                        provider_code: format!("E{}-{:05}", reason as u8, rng.range(0, 100_000)),
                        market: user.market,
                        platform: user.platform,
                        method,
                        reason,
                    };
                    publish(&|d| d.publish(&failed));
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
            let sent = OrderSentToRestaurant {
                order_id: order_id.clone(),
                restaurant_id,
                market: user.market,
            };
            publish(&|d| d.publish(&sent));
            let rider_id = format!("rd-{:05}", rng.range(0, 3_000));
            let collected = OrderCollected {
                order_id: order_id.clone(),
                rider_id: rider_id.clone(),
                market: user.market,
                wait: Duration::from_secs(rng.range(30, 900)),
            };
            publish(&|d| d.publish(&collected));
            let minutes = rng.range(15, 70);
            let delivered = OrderDelivered {
                order_id,
                user_id: user.id.clone(),
                rider_id,
                market: user.market,
                on_time: minutes <= 45,
                delivery_time: Duration::from_secs(minutes * 60),
            };
            publish(&|d| d.publish(&delivered));
        }
        progress(n + 1, scenario.orders);
    }

    RunSummary {
        orders: scenario.orders,
        events: published,
        elapsed: started.elapsed(),
    }
}
