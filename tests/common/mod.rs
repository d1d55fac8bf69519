//! Events shared by the behaviour tests: the README's example ("Define an event and publish it"), and one event with every
//! supported payload field type.
#![allow(dead_code)]

use std::time::{Duration, SystemTime};

#[cfg(feature = "kafka")]
pub mod broker;
#[cfg(all(feature = "warehouse", feature = "statsd"))]
pub mod loader_process;
pub mod services;
#[cfg(feature = "kafka")]
pub mod stored;
#[cfg(feature = "warehouse")]
pub mod warehouse;

use event_runtime::{Event, Tag};

/// This process's resident memory now, in KiB (Linux's `VmRSS`).
pub fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Market {
    Uk,
    Fr,
    It,
}

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Platform {
    Android,
    Ios,
    Web,
}

#[derive(Event, Clone, Debug, PartialEq)]
#[event(name = "payment.attempted", topic = "payments")]
pub struct PaymentAttempted {
    #[event(key)]
    pub order_id: String,
    pub user_id: String,
    #[event(tag)]
    pub market: Market,
    #[event(tag)]
    pub platform: Platform,
    #[event(tag)]
    pub first_order: bool,
    #[event(metric = "distribution")]
    pub amount_pence: u64,
}

pub fn design_example() -> PaymentAttempted {
    PaymentAttempted {
        order_id: "order-1".into(),
        user_id: "user-42".into(),
        market: Market::Uk,
        platform: Platform::Ios,
        first_order: true,
        amount_pence: 1250,
    }
}

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    Card,
    #[tag(rename = "apple-pay")]
    ApplePay,
    Paypal,
}

/// One field of every supported payload type, with pinned and unpinned numbers.
#[derive(Event, Clone, Debug, PartialEq)]
#[event(name = "kitchen.sink", topic = "kitchen-sink", max_series = 2000)]
pub struct KitchenSink {
    #[event(key)]
    pub key: Vec<u8>,
    pub flag: bool,
    pub small: i32,
    #[event(metric = "gauge")]
    pub big: i64,
    pub count: u32,
    #[event(metric = "count")]
    pub total: u64,
    #[event(id = 20)]
    pub ratio: f32,
    #[event(metric = "histogram")]
    pub precise: f64,
    pub text: String,
    pub blob: Vec<u8>,
    #[event(tag)]
    pub method: Method,
    #[event(tag = "maybe_market")]
    pub market: Option<Market>,
    #[event(tag)]
    pub retried: Option<bool>,
    pub opt_text: Option<String>,
    pub opt_number: Option<i64>,
    pub opt_method: Option<Method>,
    pub many_numbers: Vec<u64>,
    pub many_signed: Vec<i32>,
    pub many_floats: Vec<f64>,
    pub many_texts: Vec<String>,
    pub many_blobs: Vec<Vec<u8>>,
    pub many_methods: Vec<Method>,
    pub at: SystemTime,
    #[event(metric = "timing")]
    pub took: Duration,
    pub maybe_at: Option<SystemTime>,
    pub durations: Vec<Duration>,
}

/// A `KitchenSink` with every field at its zero value; tests override what they need.
pub fn kitchen_sink_example() -> KitchenSink {
    KitchenSink {
        key: vec![],
        flag: false,
        small: 0,
        big: 0,
        count: 0,
        total: 0,
        ratio: 0.0,
        precise: 0.0,
        text: String::new(),
        blob: vec![],
        method: Method::Card,
        market: None,
        retried: None,
        opt_text: None,
        opt_number: None,
        opt_method: None,
        many_numbers: vec![],
        many_signed: vec![],
        many_floats: vec![],
        many_texts: vec![],
        many_blobs: vec![],
        many_methods: vec![],
        at: SystemTime::UNIX_EPOCH,
        took: Duration::ZERO,
        maybe_at: None,
        durations: vec![],
    }
}

/// A food order as a team publishes it: line items, a delivery address, a payment method
/// that carries data, string attributes, and every kind `#[derive(Message)]` adds.
pub mod food {
    use std::collections::{BTreeMap, HashMap};
    use std::time::SystemTime;

    use event_runtime::{Event, Message};

    use super::Market;

    /// A transparent newtype: on the wire it is its string, and it can be the key.
    #[derive(Message, Clone, Debug, PartialEq, Eq, Hash)]
    pub struct OrderId(pub String);

    /// A newtype around a Tag enum is a tag itself.
    #[derive(Message, Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct HomeMarket(pub Market);

    #[derive(Message, Clone, Debug, PartialEq)]
    pub struct Money {
        pub currency: String,
        pub minor_units: i64,
    }

    #[derive(Message, Clone, Debug, PartialEq)]
    pub struct LineItem {
        pub sku: Box<str>,
        pub quantity: u16,
        pub unit_price: Money,
        pub options: Vec<String>,
    }

    #[derive(Message, Clone, Debug, PartialEq)]
    pub struct Address {
        pub street: String,
        pub postcode: String,
        pub floor: Option<i8>,
        pub location: Option<LatLng>,
    }

    #[derive(Message, Clone, Debug, PartialEq)]
    pub struct LatLng {
        pub lat: f64,
        pub lng: f64,
    }

    /// A oneof: a tuple variant, a struct variant and a unit variant.
    #[derive(Message, Clone, Debug, PartialEq)]
    pub enum PaymentMethod {
        Card { last4: String, network: String },
        Wallet(String),
        Voucher(Money),
        Cash,
    }

    /// A recursive message, through `Option<Box<M>>` and `Vec<M>`.
    #[derive(Message, Clone, Debug, PartialEq)]
    pub struct Category {
        pub name: String,
        pub parent: Option<Box<Category>>,
        pub children: Vec<Category>,
    }

    #[derive(Event, Clone, Debug, PartialEq)]
    #[event(name = "food.order_placed", topic = "food-orders")]
    pub struct FoodOrderPlaced {
        #[event(key)]
        pub order_id: OrderId,
        #[event(tag)]
        pub market: HomeMarket,
        pub items: Vec<LineItem>,
        pub delivery: Address,
        pub payment: PaymentMethod,
        pub fallback_payment: Option<PaymentMethod>,
        pub attributes: HashMap<String, String>,
        pub totals_by_currency: BTreeMap<String, Money>,
        pub stock_left: BTreeMap<u32, u8>,
        pub category: Category,
        pub device_hash: [u8; 16],
        pub http_status: u16,
        pub placed_at: SystemTime,
    }

    /// An order with every kind set, nesting three levels deep.
    pub fn sample() -> FoodOrderPlaced {
        let gbp = |minor_units| Money {
            currency: "GBP".into(),
            minor_units,
        };
        FoodOrderPlaced {
            order_id: OrderId("o-1".into()),
            market: HomeMarket(Market::Fr),
            items: vec![
                LineItem {
                    sku: "pizza-margherita".into(),
                    quantity: 2,
                    unit_price: gbp(1099),
                    options: vec!["extra basil".into()],
                },
                LineItem {
                    sku: "cola".into(),
                    quantity: 0,
                    unit_price: gbp(0),
                    options: vec![],
                },
            ],
            delivery: Address {
                street: "1 Rue de Rivoli".into(),
                postcode: "75001".into(),
                floor: Some(-1),
                location: Some(LatLng {
                    lat: 48.86,
                    lng: 2.34,
                }),
            },
            payment: PaymentMethod::Card {
                last4: "4242".into(),
                network: "visa".into(),
            },
            fallback_payment: Some(PaymentMethod::Cash),
            attributes: HashMap::from([("utm_source".into(), "newsletter".into())]),
            totals_by_currency: BTreeMap::from([("GBP".into(), gbp(2198))]),
            stock_left: BTreeMap::from([(7, 0), (8, 255)]),
            category: Category {
                name: "food".into(),
                parent: Some(Box::new(Category {
                    name: "all".into(),
                    parent: None,
                    children: vec![],
                })),
                children: vec![Category {
                    name: "pizza".into(),
                    parent: None,
                    children: vec![],
                }],
            },
            device_hash: [7; 16],
            http_status: 201,
            placed_at: SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_764_000_000_123),
        }
    }
}

/// An event whose text and bytes borrow from the handler's own data: built and published
/// without a copy, and read back pointing into the payload.
pub mod borrowed {
    use std::borrow::Cow;

    use event_runtime::{Event, Message};

    use super::Market;

    #[derive(Message, Clone, Copy, Debug, PartialEq)]
    pub struct Sku<'a>(pub &'a str);

    #[derive(Message, Clone, Debug, PartialEq)]
    pub struct Address<'a> {
        pub street: &'a str,
        pub postcode: Cow<'a, str>,
        pub floor: Option<&'a str>,
    }

    #[derive(Message, Clone, Debug, PartialEq)]
    pub enum Payment<'a> {
        Card { last4: &'a str },
        Wallet(&'a str),
        Cash,
    }

    #[derive(Event, Clone, Debug, PartialEq)]
    #[event(name = "order.placed_borrowed", topic = "orders")]
    pub struct OrderPlaced<'a> {
        #[event(key)]
        pub order_id: &'a str,
        pub user_id: Cow<'a, str>,
        #[event(tag)]
        pub market: Market,
        pub sku: Sku<'a>,
        pub delivery: Address<'a>,
        pub payment: Payment<'a>,
        pub token: &'a [u8],
        pub raw: Cow<'a, [u8]>,
        pub tags: Vec<&'a str>,
        #[event(metric = "distribution")]
        pub basket_pence: u64,
    }

    /// An order borrowing every text and byte field from `text` and `bytes`.
    pub fn sample<'a>(text: &'a str, bytes: &'a [u8]) -> OrderPlaced<'a> {
        OrderPlaced {
            order_id: &text[0..3],
            user_id: Cow::Borrowed(&text[3..6]),
            market: Market::It,
            sku: Sku(&text[6..9]),
            delivery: Address {
                street: &text[9..12],
                postcode: Cow::Borrowed(&text[12..15]),
                floor: Some(&text[15..16]),
            },
            payment: Payment::Card {
                last4: &text[16..20],
            },
            token: &bytes[..4],
            raw: Cow::Borrowed(&bytes[4..]),
            tags: Vec::new(),
            basket_pence: 1250,
        }
    }
}

/// The owned twin of [`borrowed::OrderPlaced`]: the same schema with owned fields.
pub mod owned_twin {
    use event_runtime::{Event, Message};

    use super::Market;

    #[derive(Message, Clone, Debug, PartialEq)]
    pub struct Sku(pub String);

    #[derive(Message, Clone, Debug, PartialEq)]
    pub struct Address {
        pub street: String,
        pub postcode: String,
        pub floor: Option<String>,
    }

    #[derive(Message, Clone, Debug, PartialEq)]
    pub enum Payment {
        Card { last4: String },
        Wallet(String),
        Cash,
    }

    #[derive(Event, Clone, Debug, PartialEq)]
    #[event(name = "order.placed_borrowed", topic = "orders")]
    pub struct OrderPlaced {
        #[event(key)]
        pub order_id: String,
        pub user_id: String,
        #[event(tag)]
        pub market: Market,
        pub sku: Sku,
        pub delivery: Address,
        pub payment: Payment,
        pub token: Vec<u8>,
        pub raw: Vec<u8>,
        pub tags: Vec<String>,
        #[event(metric = "distribution")]
        pub basket_pence: u64,
    }
}

/// The owned twin of a borrowing order, field by field.
pub fn borrowed_owned_twin(order: &borrowed::OrderPlaced<'_>) -> owned_twin::OrderPlaced {
    owned_twin::OrderPlaced {
        order_id: order.order_id.to_owned(),
        user_id: order.user_id.to_string(),
        market: order.market,
        sku: owned_twin::Sku(order.sku.0.to_owned()),
        delivery: owned_twin::Address {
            street: order.delivery.street.to_owned(),
            postcode: order.delivery.postcode.to_string(),
            floor: order.delivery.floor.map(str::to_owned),
        },
        payment: match order.payment {
            borrowed::Payment::Card { last4 } => owned_twin::Payment::Card {
                last4: last4.to_owned(),
            },
            borrowed::Payment::Wallet(name) => owned_twin::Payment::Wallet(name.to_owned()),
            borrowed::Payment::Cash => owned_twin::Payment::Cash,
        },
        token: order.token.to_vec(),
        raw: order.raw.to_vec(),
        tags: order.tags.iter().map(|t| (*t).to_owned()).collect(),
        basket_pence: order.basket_pence,
    }
}

/// An invoice with the common Rust types behind their features.
#[cfg(all(
    feature = "uuid",
    feature = "chrono",
    feature = "time",
    feature = "rust_decimal"
))]
pub mod common_types {
    use std::str::FromStr;

    use chrono::{DateTime, TimeDelta, Utc};
    use event_runtime::{Event, Message};
    use rust_decimal::Decimal;
    use uuid::Uuid;

    #[derive(Message, Clone, Debug, PartialEq)]
    pub struct Refund {
        pub amount: Decimal,
        pub processed_at: time::OffsetDateTime,
    }

    #[derive(Event, Clone, Debug, PartialEq)]
    #[event(name = "service.invoice_paid", topic = "invoices")]
    pub struct InvoicePaid {
        #[event(key)]
        pub invoice_id: Uuid,
        pub customer_id: Option<Uuid>,
        pub paid_at: DateTime<Utc>,
        pub took: TimeDelta,
        pub clock_skew: TimeDelta,
        pub amount: Decimal,
        pub line_amounts: Vec<Decimal>,
        pub refund: Option<Refund>,
    }

    pub fn sample() -> InvoicePaid {
        InvoicePaid {
            invoice_id: Uuid::from_str("01a217fe-9be3-7000-9139-59794b914441").unwrap(),
            customer_id: Some(Uuid::from_u128(0x1234)),
            paid_at: DateTime::from_timestamp(1_764_000_000, 123_456_789).unwrap(),
            took: TimeDelta::milliseconds(1500),
            clock_skew: TimeDelta::milliseconds(-250),
            amount: Decimal::from_str("-12.50").unwrap(),
            line_amounts: vec![
                Decimal::from_str("0.005").unwrap(),
                Decimal::from_str("79228162514264337593543950335").unwrap(),
            ],
            refund: Some(Refund {
                amount: Decimal::from_str("3.10").unwrap(),
                processed_at: time::OffsetDateTime::from_unix_timestamp(1_764_000_100).unwrap(),
            }),
        }
    }
}
