//! The order flow's events, defined once for DogStatsD, Kafka and the warehouse.

use std::time::{Duration, SystemTime};

use event_runtime::{Event, Message, Tag};

/// Where the order is placed.
#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Market {
    /// United Kingdom.
    Uk,
    /// France.
    Fr,
    /// Italy.
    It,
}

/// The app the user ordered from.
#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Platform {
    /// The Android app.
    Android,
    /// The iOS app.
    Ios,
    /// The website.
    Web,
}

/// How the user pays.
#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PaymentMethod {
    /// A saved card.
    Card,
    /// Apple Pay.
    #[tag(rename = "apple-pay")]
    ApplePay,
    /// PayPal.
    Paypal,
}

/// Why the payment provider refused.
#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FailureReason {
    /// The issuer declined the card.
    Declined,
    /// The provider did not answer in time.
    ProviderTimeout,
    /// The bug under investigation: a stale saved-card token is rejected.
    InvalidToken,
}

/// The name of every event of the order flow, in the order it happens.
pub const EVENT_NAMES: [&str; 7] = [
    OrderPlaced::NAME,
    PaymentAttempted::NAME,
    PaymentSucceeded::NAME,
    PaymentFailed::NAME,
    OrderSentToRestaurant::NAME,
    OrderCollected::NAME,
    OrderDelivered::NAME,
];

/// The schemas of every event of the order flow: exported to `schemas/` and committed, and
/// checked against that snapshot by `tests/schema_contract.rs`.
pub fn schemas() -> event_runtime::schema::SchemaSet {
    event_runtime::schema::SchemaSet::new()
        .event::<OrderPlaced>()
        .event::<PaymentAttempted>()
        .event::<PaymentSucceeded>()
        .event::<PaymentFailed>()
        .event::<OrderSentToRestaurant>()
        .event::<OrderCollected>()
        .event::<OrderDelivered>()
}

/// A user placed an order.
#[derive(Event, Clone, Debug, PartialEq)]
#[event(name = "order.placed", topic = "orders")]
pub struct OrderPlaced {
    /// The order; the Kafka key of every event of this order.
    #[event(key)]
    pub order_id: String,
    /// Who ordered: high cardinality, Kafka only.
    pub user_id: String,
    /// The restaurant: high cardinality, Kafka only.
    pub restaurant_id: String,
    /// Market tag.
    #[event(tag)]
    pub market: Market,
    /// Platform tag.
    #[event(tag)]
    pub platform: Platform,
    /// Basket value: the line items' total.
    #[event(metric = "distribution")]
    pub basket_pence: u64,
    /// What was ordered: Kafka only, a list of nested messages.
    pub line_items: Vec<LineItem>,
    /// Where it goes: Kafka only, a nested message.
    pub delivery: DeliveryAddress,
    /// When the user tapped "order".
    pub placed_at: SystemTime,
}

/// One dish of an order.
#[derive(Message, Clone, Debug, PartialEq)]
pub struct LineItem {
    /// The restaurant's dish.
    pub dish_id: String,
    /// How many of it.
    pub quantity: u32,
    /// The price of one.
    pub unit_price_pence: u64,
}

/// Where an order is delivered.
#[derive(Message, Clone, Debug, PartialEq)]
pub struct DeliveryAddress {
    /// The postcode.
    pub postcode: String,
    /// The city.
    pub city: String,
}

/// The payment provider was called.
#[derive(Event, Clone, Debug, PartialEq)]
#[event(name = "payment.attempted", topic = "payments")]
pub struct PaymentAttempted {
    /// The order.
    #[event(key)]
    pub order_id: String,
    /// Who pays.
    pub user_id: String,
    /// 1 for the first attempt, 2 for the first retry, ...
    pub attempt: u32,
    /// Market tag.
    #[event(tag)]
    pub market: Market,
    /// Platform tag.
    #[event(tag)]
    pub platform: Platform,
    /// Payment method tag.
    #[event(tag)]
    pub method: PaymentMethod,
    /// Amount charged.
    #[event(metric = "distribution")]
    pub amount_pence: u64,
}

/// The payment provider accepted the payment.
#[derive(Event, Clone, Debug, PartialEq)]
#[event(name = "payment.succeeded", topic = "payments")]
pub struct PaymentSucceeded {
    /// The order.
    #[event(key)]
    pub order_id: String,
    /// Who paid.
    pub user_id: String,
    /// Which attempt succeeded.
    pub attempt: u32,
    /// Market tag.
    #[event(tag)]
    pub market: Market,
    /// Platform tag.
    #[event(tag)]
    pub platform: Platform,
    /// Payment method tag.
    #[event(tag)]
    pub method: PaymentMethod,
    /// Provider latency.
    #[event(metric = "timing")]
    pub latency: Duration,
}

/// The payment provider refused the payment.
#[derive(Event, Clone, Debug, PartialEq)]
#[event(name = "payment.failed", topic = "payments")]
pub struct PaymentFailed {
    /// The order.
    #[event(key)]
    pub order_id: String,
    /// Who tried to pay.
    pub user_id: String,
    /// Which attempt failed.
    pub attempt: u32,
    /// The provider's error code: high cardinality, Kafka only.
    pub provider_code: String,
    /// Market tag.
    #[event(tag)]
    pub market: Market,
    /// Platform tag.
    #[event(tag)]
    pub platform: Platform,
    /// Payment method tag.
    #[event(tag)]
    pub method: PaymentMethod,
    /// Reason tag.
    #[event(tag)]
    pub reason: FailureReason,
}

/// The restaurant received the paid order.
#[derive(Event, Clone, Debug, PartialEq)]
#[event(name = "order.sent_to_restaurant", topic = "orders")]
pub struct OrderSentToRestaurant {
    /// The order.
    #[event(key)]
    pub order_id: String,
    /// The restaurant.
    pub restaurant_id: String,
    /// Market tag.
    #[event(tag)]
    pub market: Market,
}

/// A rider collected the order.
#[derive(Event, Clone, Debug, PartialEq)]
#[event(name = "order.collected", topic = "orders")]
pub struct OrderCollected {
    /// The order.
    #[event(key)]
    pub order_id: String,
    /// The rider: high cardinality, Kafka only.
    pub rider_id: String,
    /// Market tag.
    #[event(tag)]
    pub market: Market,
    /// Time waiting at the restaurant.
    #[event(metric = "timing")]
    pub wait: Duration,
}

/// The rider delivered the order.
#[derive(Event, Clone, Debug, PartialEq)]
#[event(name = "order.delivered", topic = "orders")]
pub struct OrderDelivered {
    /// The order.
    #[event(key)]
    pub order_id: String,
    /// Who ordered.
    pub user_id: String,
    /// The rider.
    pub rider_id: String,
    /// Market tag.
    #[event(tag)]
    pub market: Market,
    /// Whether it arrived by the promised time.
    #[event(tag)]
    pub on_time: bool,
    /// From order to door.
    #[event(metric = "timing")]
    pub delivery_time: Duration,
}
