//! Events shared by the behaviour tests: DESIGN.md's example, and one event with every
//! supported payload field type.
#![allow(dead_code)]

use std::time::{Duration, SystemTime};

pub mod services;
#[cfg(feature = "warehouse")]
pub mod warehouse;

use event_runtime::{Event, Tag};

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
