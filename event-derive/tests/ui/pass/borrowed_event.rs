use std::borrow::Cow;

use event_runtime::{Event, Message, Tag};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
enum Market { Uk, Fr }

#[derive(Message, Debug, PartialEq)]
struct Address<'a> {
    street: &'a str,
    note: Option<Cow<'a, str>>,
}

#[derive(Message, Debug, PartialEq)]
enum Payment<'a> {
    Card { last4: &'a str },
    Wallet(Cow<'a, str>),
    Cash,
}

#[derive(Event, Debug, PartialEq)]
#[event(topic = "orders")]
struct OrderPlaced<'a> {
    #[event(key)]
    order_id: &'a str,
    #[event(tag)]
    market: Market,
    delivery: Address<'a>,
    payment: Payment<'a>,
    blob: &'a [u8],
}

fn main() {
    let text = String::from("o-1Main St4242");
    let order = OrderPlaced {
        order_id: &text[..3],
        market: Market::Fr,
        delivery: Address { street: &text[3..10], note: None },
        payment: Payment::Card { last4: &text[10..] },
        blob: b"\x01",
    };
    let mut bytes = Vec::new();
    order.encode(&mut bytes);
    let decoded = OrderPlaced::decode(&bytes).unwrap();
    assert_eq!(decoded, order);
    assert_eq!(OrderPlaced::SERIES, 2);
}
