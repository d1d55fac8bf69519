//! Encode and decode of a nested payload, each measured in the same run (criterion): an
//! order with 10 line items and a delivery address, ours (`#[derive(Event)]` and
//! `#[derive(Message)]`) against prost's derive on the equivalent hand-written
//! `prost::Message`. The two write the same bytes, which the setup checks before timing.
//!
//! `cargo bench --bench payload`; BENCHMARKS.md has the figures of the last run.
//!
//! Timings on a shared 2-core machine move by 15% between runs, so the same variants can
//! also be counted in instructions, which repeat: `payload --instructions <variant> <n>`
//! runs one variant `n` times and nothing else, for `valgrind --tool=callgrind`
//! (`scripts/bench-payload-instructions` runs every variant and prints the ratios).

use std::hint::black_box;

use criterion::{criterion_group, Criterion};
use event_runtime::{Event, Message, Tag};
use prost::Message as _;

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
enum Market {
    Uk,
    Fr,
    It,
}

#[derive(Message, Clone, Debug, PartialEq)]
struct LineItem {
    sku: String,
    quantity: u32,
    unit_price_pence: u64,
    options: Vec<String>,
}

#[derive(Message, Clone, Debug, PartialEq)]
struct Address {
    street: String,
    city: String,
    postcode: String,
    lat: f64,
    lng: f64,
}

#[derive(Event, Clone, Debug, PartialEq)]
#[event(name = "order.placed", topic = "orders")]
struct OrderPlaced {
    #[event(key)]
    order_id: String,
    user_id: String,
    #[event(tag)]
    market: Market,
    items: Vec<LineItem>,
    delivery: Address,
    basket_pence: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ProstLineItem {
    #[prost(string, tag = "1")]
    sku: String,
    #[prost(uint32, tag = "2")]
    quantity: u32,
    #[prost(uint64, tag = "3")]
    unit_price_pence: u64,
    #[prost(string, repeated, tag = "4")]
    options: Vec<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ProstAddress {
    #[prost(string, tag = "1")]
    street: String,
    #[prost(string, tag = "2")]
    city: String,
    #[prost(string, tag = "3")]
    postcode: String,
    #[prost(double, tag = "4")]
    lat: f64,
    #[prost(double, tag = "5")]
    lng: f64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ProstOrderPlaced {
    #[prost(string, tag = "1")]
    order_id: String,
    #[prost(string, tag = "2")]
    user_id: String,
    /// The Tag enum's number: `Fr` is 2, after `UNSPECIFIED = 0` and `Uk`.
    #[prost(int32, tag = "3")]
    market: i32,
    #[prost(message, repeated, tag = "4")]
    items: Vec<ProstLineItem>,
    #[prost(message, optional, tag = "5")]
    delivery: Option<ProstAddress>,
    #[prost(uint64, tag = "6")]
    basket_pence: u64,
}

fn ours() -> OrderPlaced {
    OrderPlaced {
        order_id: "o-20261201-000042".into(),
        user_id: "u-8f3a2c".into(),
        market: Market::Fr,
        items: (0..10)
            .map(|i| LineItem {
                sku: format!("dish-{i:04}"),
                quantity: 1 + i % 3,
                unit_price_pence: 450 + u64::from(i) * 35,
                options: if i % 2 == 0 {
                    vec!["no onions".into()]
                } else {
                    vec![]
                },
            })
            .collect(),
        delivery: Address {
            street: "1 Rue de Rivoli".into(),
            city: "Paris".into(),
            postcode: "75001".into(),
            lat: 48.8606,
            lng: 2.3376,
        },
        basket_pence: 6_435,
    }
}

fn theirs(order: &OrderPlaced) -> ProstOrderPlaced {
    ProstOrderPlaced {
        order_id: order.order_id.clone(),
        user_id: order.user_id.clone(),
        market: order.market.index() as i32 + 1,
        items: order
            .items
            .iter()
            .map(|i| ProstLineItem {
                sku: i.sku.clone(),
                quantity: i.quantity,
                unit_price_pence: i.unit_price_pence,
                options: i.options.clone(),
            })
            .collect(),
        delivery: Some(ProstAddress {
            street: order.delivery.street.clone(),
            city: order.delivery.city.clone(),
            postcode: order.delivery.postcode.clone(),
            lat: order.delivery.lat,
            lng: order.delivery.lng,
        }),
        basket_pence: order.basket_pence,
    }
}

/// The order in both forms and its bytes, checked to be the same payload.
fn prepared() -> (OrderPlaced, ProstOrderPlaced, Vec<u8>) {
    let order = ours();
    let prost_order = theirs(&order);
    let mut bytes = Vec::new();
    order.encode(&mut bytes);
    assert_eq!(
        bytes,
        prost_order.encode_to_vec(),
        "the two encodings differ"
    );
    assert_eq!(OrderPlaced::decode(&bytes).unwrap(), order);
    assert_eq!(ProstOrderPlaced::decode(&bytes[..]).unwrap(), prost_order);
    (order, prost_order, bytes)
}

/// Runs one variant `n` times, after the setup, in the function callgrind counts.
fn run_variant(variant: &str, n: u64) {
    let (order, prost_order, bytes) = prepared();
    counted_loop(variant, n, &order, &prost_order, &bytes);
}

/// The loop whose instructions `scripts/bench-payload-instructions` counts.
#[inline(never)]
fn counted_loop(
    variant: &str,
    n: u64,
    order: &OrderPlaced,
    prost_order: &ProstOrderPlaced,
    bytes: &[u8],
) {
    let mut buf = Vec::with_capacity(1024);
    for _ in 0..n {
        match variant {
            "encode/ours" => {
                buf.clear();
                black_box(&order).encode(&mut buf);
            }
            "encode/prost_derive" => {
                buf.clear();
                black_box(&prost_order).encode(&mut buf).unwrap();
            }
            "decode/ours" => {
                black_box(OrderPlaced::decode(black_box(bytes)).unwrap());
            }
            "decode/prost_derive" => {
                black_box(ProstOrderPlaced::decode(black_box(bytes)).unwrap());
            }
            other => panic!("unknown variant {other}"),
        }
        black_box(buf.len());
    }
}

fn payload(c: &mut Criterion) {
    let (order, prost_order, bytes) = prepared();

    let mut group = c.benchmark_group("payload");
    let mut buf = Vec::with_capacity(1024);
    group.bench_function("encode/ours", |b| {
        b.iter(|| {
            buf.clear();
            black_box(&order).encode(&mut buf);
            black_box(buf.len())
        })
    });
    group.bench_function("encode/prost_derive", |b| {
        b.iter(|| {
            buf.clear();
            black_box(&prost_order).encode(&mut buf).unwrap();
            black_box(buf.len())
        })
    });
    group.bench_function("decode/ours", |b| {
        b.iter(|| OrderPlaced::decode(black_box(&bytes)).unwrap())
    });
    group.bench_function("decode/prost_derive", |b| {
        b.iter(|| ProstOrderPlaced::decode(black_box(&bytes[..])).unwrap())
    });
    group.finish();
}

criterion_group!(benches, payload);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--instructions") {
        let variant = args.get(at + 1).expect("--instructions <variant> <n>");
        let n = args
            .get(at + 2)
            .and_then(|n| n.parse().ok())
            .expect("--instructions <variant> <n>");
        run_variant(variant, n);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
