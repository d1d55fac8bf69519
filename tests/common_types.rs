//! The common Rust types behind their features: `uuid::Uuid` as hyphenated text and a key,
//! `chrono` and `time` instants as `google.protobuf.Timestamp`, `chrono::TimeDelta` (negative
//! too) as `google.protobuf.Duration`, `rust_decimal::Decimal` as exact decimal text. Each
//! round-trips, reads the same in prost-reflect, and lands in its warehouse column.
#![cfg(all(
    feature = "uuid",
    feature = "chrono",
    feature = "time",
    feature = "rust_decimal"
))]

mod common;

use chrono::{DateTime, TimeDelta};
use common::common_types::{sample, InvoicePaid};
use event_runtime::schema::Kind;
use event_runtime::Event;
use proptest::prelude::*;
use prost_reflect::{DescriptorPool, DynamicMessage, Value};
use rust_decimal::Decimal;
use uuid::Uuid;

fn encoded<E: Event>(event: &E) -> Vec<u8> {
    let mut bytes = Vec::new();
    event.encode(&mut bytes);
    assert_eq!(bytes.len(), event.encoded_len());
    bytes
}

#[test]
fn each_type_round_trips_and_keeps_the_decimal_scale() {
    let invoice = sample();
    let back = InvoicePaid::decode(&encoded(&invoice)).unwrap();
    assert_eq!(back, invoice);
    // Equal decimals can differ in scale; the text keeps it.
    assert_eq!(back.amount.to_string(), "-12.50");
    assert_eq!(back.refund.unwrap().amount.to_string(), "3.10");
}

#[test]
fn a_uuid_is_the_key_as_its_16_bytes() {
    let invoice = sample();
    assert_eq!(invoice.key(), Some(&invoice.invoice_id.as_bytes()[..]));
}

#[test]
fn the_kinds_are_named() {
    let kinds: Vec<Kind> = InvoicePaid::fields().iter().map(|f| f.kind).collect();
    assert_eq!(
        &kinds[..6],
        [
            Kind::Uuid,
            Kind::Uuid,
            Kind::Timestamp,
            Kind::Duration,
            Kind::Duration,
            Kind::Decimal
        ]
    );
    let schema = InvoicePaid::proto_schema();
    assert!(schema.contains("  string invoice_id = 1;"), "{schema}");
    assert!(schema.contains("  google.protobuf.Timestamp paid_at = 3;"));
    assert!(schema.contains("  google.protobuf.Duration took = 4;"));
    assert!(schema.contains("  repeated string line_amounts = 7;"));
}

#[test]
fn text_that_is_not_a_uuid_or_a_decimal_is_refused() {
    let mut bytes = encoded(&sample());
    prost::encoding::string::encode(1, &"not-a-uuid".to_owned(), &mut bytes);
    let error = InvoicePaid::decode(&bytes).unwrap_err().to_string();
    assert!(error.contains("not a UUID"), "{error}");

    let mut bytes = encoded(&sample());
    prost::encoding::string::encode(6, &"12,50".to_owned(), &mut bytes);
    let error = InvoicePaid::decode(&bytes).unwrap_err().to_string();
    assert!(error.contains("not a decimal"), "{error}");
}

#[test]
fn prost_reflect_reads_the_same_values() {
    let dir = std::env::temp_dir().join(format!("common-types-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("invoice_paid.proto"), InvoicePaid::proto_schema()).unwrap();
    let mut compiler = protox::Compiler::new([&dir]).unwrap();
    compiler.open_files(["invoice_paid.proto"]).unwrap();
    let pool: DescriptorPool = compiler.descriptor_pool();
    let descriptor = pool.get_message_by_name("events.InvoicePaid").unwrap();
    let message = DynamicMessage::decode(descriptor, encoded(&sample()).as_slice()).unwrap();
    let get = |name: &str| message.get_field_by_name(name).unwrap().into_owned();
    assert_eq!(
        get("invoice_id"),
        Value::String("01a217fe-9be3-7000-9139-59794b914441".into())
    );
    assert_eq!(get("amount"), Value::String("-12.50".into()));
    let paid_at = get("paid_at");
    let paid_at = paid_at.as_message().unwrap();
    assert_eq!(
        paid_at.get_field_by_name("seconds").unwrap().as_i64(),
        Some(1_764_000_000)
    );
    assert_eq!(
        paid_at.get_field_by_name("nanos").unwrap().as_i32(),
        Some(123_456_789)
    );
    let skew = get("clock_skew");
    let skew = skew.as_message().unwrap();
    assert_eq!(
        skew.get_field_by_name("nanos").unwrap().as_i32(),
        Some(-250_000_000)
    );
    std::fs::remove_dir_all(&dir).ok();
}

proptest! {
    #[test]
    fn generated_values_round_trip(
        id in any::<u128>(),
        seconds in -62_135_596_800i64..253_402_300_799,
        nanos in 0u32..1_000_000_000,
        took in -1_000_000_000_000i64..1_000_000_000_000,
        mantissa in any::<i64>(),
        scale in 0u32..=28,
    ) {
        let mut invoice = sample();
        invoice.invoice_id = Uuid::from_u128(id);
        invoice.paid_at = DateTime::from_timestamp(seconds, nanos).unwrap();
        invoice.took = TimeDelta::nanoseconds(took);
        invoice.amount = Decimal::new(mantissa, scale);
        let back = InvoicePaid::decode(&encoded(&invoice)).unwrap();
        prop_assert_eq!(back.amount.scale(), scale);
        prop_assert_eq!(back, invoice);
    }
}

#[cfg(feature = "warehouse")]
mod warehouse {
    use event_warehouse::{
        prepare, row_of, Backend, Batch, Postgres, RecordMeta, SqlValue, Sqlite, Table,
    };

    use super::*;
    use crate::common::services;

    fn land(backend: &mut dyn Backend, select: &str) -> Vec<Vec<SqlValue>> {
        let table = Table::of::<InvoicePaid>().unwrap();
        prepare(backend, &table).unwrap();
        let meta = RecordMeta::new(
            event_runtime::EventId::parse("01a217fe-9be3-7000-9139-000000000001").unwrap(),
            None,
            0,
            1,
        );
        backend
            .write(&Batch {
                tables: vec![(&table, vec![row_of(&sample(), &meta)])],
                rejects: vec![],
            })
            .unwrap();
        backend.query(select, &[]).unwrap()
    }

    use SqlValue::{Float, Text};

    #[test]
    fn uuid_is_uuid_and_decimal_is_numeric_in_postgres() {
        let mut pg = Postgres::connect(&services::fresh_postgres_database("types")).unwrap();
        let rows = land(
            &mut pg,
            "SELECT pg_typeof(invoice_id)::text, invoice_id::text, customer_id::text,
                    pg_typeof(amount)::text, amount::text, (amount * 2)::text,
                    extract(epoch FROM took)::float8, extract(epoch FROM clock_skew)::float8,
                    line_amounts::text, refund ->> 'amount'
             FROM service_invoice_paid",
        );
        assert_eq!(
            rows,
            [vec![
                Text("uuid".into()),
                Text("01a217fe-9be3-7000-9139-59794b914441".into()),
                Text("00000000-0000-0000-0000-000000001234".into()),
                Text("numeric".into()),
                Text("-12.50".into()),
                Text("-25.00".into()),
                Float(1.5),
                Float(-0.25),
                Text(r#"["0.005", "79228162514264337593543950335"]"#.into()),
                Text("3.10".into()),
            ]]
        );
    }

    #[test]
    fn uuid_and_decimal_are_exact_text_in_sqlite() {
        let mut db = Sqlite::in_memory().unwrap();
        let rows = land(
            &mut db,
            "SELECT invoice_id, amount, took, clock_skew, line_amounts FROM service_invoice_paid",
        );
        assert_eq!(
            rows,
            [vec![
                Text("01a217fe-9be3-7000-9139-59794b914441".into()),
                Text("-12.50".into()),
                Float(1.5),
                Float(-0.25),
                Text(r#"["0.005","79228162514264337593543950335"]"#.into()),
            ]]
        );
    }
}
