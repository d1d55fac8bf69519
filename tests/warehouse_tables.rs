//! Tables from event definitions, on both backends (PostgreSQL is the services' server):
//! every field type lands in its column with its value, writes are idempotent on the event
//! id, a new field adds a column, and a change the schema contract refuses is refused.
#![cfg(feature = "warehouse")]

mod common;

use std::time::{Duration, UNIX_EPOCH};

use common::{services, KitchenSink, Market, Method, PaymentAttempted};
use event_runtime::EventId;
use event_warehouse::{
    prepare, row_of, Backend, Batch, Loader, LoaderConfig, Postgres, RecordMeta, Row, SqlValue,
    Sqlite, Table, WarehouseError, Written,
};

use SqlValue::{Float, Int, Null, Text};

const EVENT_ID: &str = "01a217fe-9be3-7000-9139-59794b914441";
const TEXT: &str = "tab\there, newline\nhere, backslash \\ and ünïcode ✓";

fn sink() -> KitchenSink {
    KitchenSink {
        key: b"k-1\x00\xff".to_vec(),
        flag: true,
        small: -5,
        big: i64::MIN,
        count: u32::MAX,
        total: u64::MAX,
        ratio: 0.5,
        precise: -1.25e300,
        text: TEXT.into(),
        blob: vec![0, 1, 0xfe, 0xff],
        method: Method::ApplePay,
        market: Some(Market::Fr),
        retried: None,
        opt_text: Some(String::new()),
        opt_number: None,
        opt_method: Some(Method::Paypal),
        many_numbers: vec![1, u64::MAX],
        many_signed: vec![-1, 2],
        many_floats: vec![0.25],
        many_texts: vec!["a\"b".into(), "c".into()],
        many_blobs: vec![vec![0xab]],
        many_methods: vec![Method::Card, Method::ApplePay],
        at: UNIX_EPOCH + Duration::new(1_795_698_444, 123_456_789),
        took: Duration::new(90, 500_000_000),
        maybe_at: None,
        durations: vec![Duration::from_millis(1500)],
    }
}

fn meta(event_id: &str, offset: i64) -> RecordMeta {
    RecordMeta::new(
        EventId::parse(event_id).unwrap(),
        Some(UNIX_EPOCH + Duration::from_millis(1_795_698_444_500)),
        2,
        offset,
    )
}

fn write_one(
    backend: &mut dyn Backend,
    table: &Table,
    event: &KitchenSink,
    meta: &RecordMeta,
) -> Written {
    backend
        .write(&Batch {
            tables: vec![(table, vec![row_of(event, meta)])],
            rejects: vec![],
        })
        .unwrap()
}

#[test]
fn every_field_type_lands_in_its_postgres_column() {
    let mut pg = Postgres::connect(&services::fresh_postgres_database("kitchen")).unwrap();
    let table = Table::of::<KitchenSink>().unwrap();
    prepare(&mut pg, &table).unwrap();
    assert_eq!(
        write_one(&mut pg, &table, &sink(), &meta(EVENT_ID, 41)).inserted,
        1
    );

    let rows = pg
        .query(
            "SELECT encode(key, 'hex'), flag::text, small, big, count, total::text, ratio, precise,
                    text, encode(blob, 'hex'), method, market, retried::text, opt_text,
                    opt_number, opt_method, many_numbers::text, many_signed::text,
                    many_floats::text, many_texts::text, many_blobs::text, many_methods::text,
                    to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'),
                    extract(epoch FROM took)::float8, maybe_at::text, durations::text,
                    event_id::text, to_char(published_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'),
                    kafka_partition, kafka_offset
             FROM kitchen_sink",
            &[],
        )
        .unwrap();
    let expected = vec![
        Text("6b2d3100ff".into()),
        Text("true".into()),
        Int(-5),
        Int(i64::MIN),
        Int(4_294_967_295),
        Text("18446744073709551615".into()),
        Float(0.5),
        Float(-1.25e300),
        Text(TEXT.into()),
        Text("0001feff".into()),
        Text("apple-pay".into()),
        Text("fr".into()),
        Null,
        Text(String::new()),
        Null,
        Text("paypal".into()),
        // Beyond 2^53 a JSON number would be rounded by readers in doubles: a string.
        Text(r#"[1, "18446744073709551615"]"#.into()),
        Text("[-1, 2]".into()),
        Text("[0.25]".into()),
        Text(r#"["a\"b", "c"]"#.into()),
        Text(r#"["ab"]"#.into()),
        Text(r#"["card", "apple-pay"]"#.into()),
        Text("2026-11-26 13:07:24.123456".into()),
        Float(90.5),
        Null,
        Text("[1.500000000]".into()),
        Text(EVENT_ID.into()),
        Text("2026-11-26 13:07:24.500000".into()),
        Int(2),
        Int(41),
    ];
    assert_eq!(rows, vec![expected]);
}

/// A food order's nested message, oneof, map and list of messages each land in one JSON
/// column, read back by the database's own JSON functions; the list unnests into rows.
fn nested_kinds_land_as_json(backend: &mut dyn Backend, unnest: &str, lookups: &str) {
    use common::food::{sample, FoodOrderPlaced};
    let table = Table::of::<FoodOrderPlaced>().unwrap();
    prepare(backend, &table).unwrap();
    let written = backend
        .write(&Batch {
            tables: vec![(&table, vec![row_of(&sample(), &meta(EVENT_ID, 7))])],
            rejects: vec![],
        })
        .unwrap();
    assert_eq!(written.inserted, 1);
    assert_eq!(
        backend.query(unnest, &[]).unwrap(),
        vec![
            vec![Text("pizza-margherita".into()), Int(2), Int(1099)],
            vec![Text("cola".into()), Int(0), Int(0)],
        ]
    );
    assert_eq!(
        backend.query(lookups, &[]).unwrap(),
        vec![vec![
            Text("o-1".into()),
            Text("fr".into()),
            Text("75001".into()),
            Text("4242".into()),
            Text("newsletter".into()),
            Text("all".into()),
            Int(201),
        ]]
    );
}

#[test]
fn nested_messages_maps_and_oneofs_land_as_sqlite_json() {
    let mut db = Sqlite::in_memory().unwrap();
    nested_kinds_land_as_json(
        &mut db,
        "SELECT item.value ->> '$.sku', item.value ->> '$.quantity',
                item.value ->> '$.unit_price.minor_units'
         FROM food_order_placed, json_each(food_order_placed.items) AS item
         ORDER BY item.key",
        "SELECT order_id, market, delivery ->> '$.postcode', payment ->> '$.card.last4',
                attributes ->> '$.utm_source', category ->> '$.parent.name', http_status
         FROM food_order_placed",
    );
}

#[test]
fn nested_messages_maps_and_oneofs_land_as_postgres_jsonb() {
    let mut pg = Postgres::connect(&services::fresh_postgres_database("food")).unwrap();
    nested_kinds_land_as_json(
        &mut pg,
        "SELECT item ->> 'sku', (item ->> 'quantity')::bigint,
                (item -> 'unit_price' ->> 'minor_units')::bigint
         FROM food_order_placed, jsonb_array_elements(items) WITH ORDINALITY AS i(item, n)
         ORDER BY n",
        "SELECT order_id, market, delivery ->> 'postcode', payment -> 'card' ->> 'last4',
                attributes ->> 'utm_source', category -> 'parent' ->> 'name', http_status
         FROM food_order_placed",
    );
}

#[test]
fn every_field_type_lands_in_its_sqlite_column() {
    let mut db = Sqlite::in_memory().unwrap();
    let table = Table::of::<KitchenSink>().unwrap();
    prepare(&mut db, &table).unwrap();
    assert_eq!(
        write_one(&mut db, &table, &sink(), &meta(EVENT_ID, 41)).inserted,
        1
    );

    let rows = db
        .query(
            "SELECT hex(key), flag, small, big, count, total, ratio, precise, text, hex(blob),
                    method, market, retried, opt_text, opt_number, opt_method, many_numbers,
                    many_signed, many_floats, many_texts, many_blobs, many_methods, at,
                    unixepoch(at, 'subsec'), took, maybe_at, durations, event_id, published_at,
                    kafka_partition, kafka_offset
             FROM kitchen_sink",
            &[],
        )
        .unwrap();
    let expected = vec![
        Text("6B2D3100FF".into()),
        Int(1),
        Int(-5),
        Int(i64::MIN),
        Int(4_294_967_295),
        // Above i64::MAX: kept exactly, as text.
        Text("18446744073709551615".into()),
        Float(0.5),
        Float(-1.25e300),
        Text(TEXT.into()),
        Text("0001FEFF".into()),
        Text("apple-pay".into()),
        Text("fr".into()),
        Null,
        Text(String::new()),
        Null,
        Text("paypal".into()),
        Text(r#"[1,"18446744073709551615"]"#.into()),
        Text("[-1,2]".into()),
        Text("[0.25]".into()),
        Text(r#"["a\"b","c"]"#.into()),
        Text(r#"["ab"]"#.into()),
        Text(r#"["card","apple-pay"]"#.into()),
        Text("2026-11-26T13:07:24.123456Z".into()),
        // SQLite's own date parser reads the text back (to the millisecond).
        Float(1_795_698_444.123),
        Float(90.5),
        Null,
        Text("[1.500000000]".into()),
        Text(EVENT_ID.into()),
        Text("2026-11-26T13:07:24.500000Z".into()),
        Int(2),
        Int(41),
    ];
    assert_eq!(rows, vec![expected]);
}

/// Two tables, so that PostgreSQL writes them over two connections, each committing its
/// own: a crash between the two commits is replayed with one table written and the other
/// not, and only the missing rows are added.
fn replays_are_skipped(backend: &mut dyn Backend) {
    let sinks = Table::of::<KitchenSink>().unwrap();
    let payments = Table::of::<PaymentAttempted>().unwrap();
    prepare(backend, &sinks).unwrap();
    prepare(backend, &payments).unwrap();
    let id = |i: i64| format!("01a217fe-9be3-7000-9139-00000000000{i}");
    let sink_rows = || -> Vec<Row> { (0..3).map(|i| row_of(&sink(), &meta(&id(i), i))).collect() };
    let payment_rows = || -> Vec<Row> {
        (3..5)
            .map(|i| row_of(&common::design_example(), &meta(&id(i), i)))
            .collect()
    };
    let count = |backend: &mut dyn Backend, table: &str| {
        backend
            .query(&format!("SELECT count(*) FROM {table}"), &[])
            .unwrap()
    };
    // The first connection's share committed, the second's lost.
    let partial = backend
        .write(&Batch {
            tables: vec![(&sinks, sink_rows())],
            rejects: vec![],
        })
        .unwrap();
    assert_eq!((partial.inserted, partial.duplicates), (3, 0));
    let batch = Batch {
        tables: vec![(&sinks, sink_rows()), (&payments, payment_rows())],
        rejects: vec![],
    };
    let replay = backend.write(&batch).unwrap();
    assert_eq!((replay.inserted, replay.duplicates), (2, 3));
    let again = backend.write(&batch).unwrap();
    assert_eq!((again.inserted, again.duplicates), (0, 5));
    assert_eq!(count(backend, "kitchen_sink"), vec![vec![Int(3)]]);
    assert_eq!(count(backend, "payment_attempted"), vec![vec![Int(2)]]);
}

#[test]
fn a_replayed_batch_adds_no_rows_in_postgres() {
    let mut pg = Postgres::connect(&services::fresh_postgres_database("replay")).unwrap();
    replays_are_skipped(&mut pg);
}

/// After a rebalance, the loader that lost a partition may still be writing its batch in
/// flight while the new owner writes the same records. Here two backends are given the
/// same rows at once in opposite orders. Inserted in the order given, each would wait on
/// keys the other has not committed, and PostgreSQL would abort one to break the deadlock
/// (it did in 4 of 6 runs); every connection inserts in event-id order, so one waits for
/// the other and then skips its rows as duplicates.
#[test]
fn two_loaders_writing_the_same_rows_at_once_in_opposite_orders_both_succeed_in_postgres() {
    const ROWS: i64 = 20_000;
    let url = services::fresh_postgres_database("deadlock");
    let payments = Table::of::<PaymentAttempted>().unwrap();
    let mut backends = [
        Postgres::connect(&url).unwrap(),
        Postgres::connect(&url).unwrap(),
    ];
    prepare(&mut backends[0], &payments).unwrap();
    prepare(&mut backends[1], &payments).unwrap();
    let row = |i: i64| {
        row_of(
            &common::design_example(),
            &meta(&format!("01a217fe-9be3-7000-9139-{i:012x}"), i),
        )
    };
    let forwards: Vec<Row> = (0..ROWS).map(row).collect();
    let backwards: Vec<Row> = (0..ROWS).rev().map(row).collect();
    let start = std::sync::Barrier::new(2);
    let [first, second] = &mut backends;
    let written: Vec<Written> = std::thread::scope(|scope| {
        let writers = [(first, forwards), (second, backwards)].map(|(backend, rows)| {
            let (start, payments) = (&start, &payments);
            scope.spawn(move || {
                start.wait();
                backend.write(&Batch {
                    tables: vec![(payments, rows)],
                    rejects: vec![],
                })
            })
        });
        writers
            .map(|writer| writer.join().unwrap().expect("both writes succeed"))
            .into()
    });
    let inserted: u64 = written.iter().map(|w| w.inserted).sum();
    let duplicates: u64 = written.iter().map(|w| w.duplicates).sum();
    assert_eq!(
        (inserted, duplicates),
        (ROWS as u64, ROWS as u64),
        "{written:?}"
    );
    assert_eq!(
        backends[0]
            .query("SELECT count(*) FROM payment_attempted", &[])
            .unwrap(),
        vec![vec![Int(ROWS)]]
    );
}

#[test]
fn a_replayed_batch_adds_no_rows_in_sqlite() {
    replays_are_skipped(&mut Sqlite::in_memory().unwrap());
}

#[test]
fn text_postgres_cannot_store_given_to_write_directly_is_rejected_without_failing_the_batch() {
    let mut pg = Postgres::connect(&services::fresh_postgres_database("nul")).unwrap();
    let table = Table::of::<KitchenSink>().unwrap();
    prepare(&mut pg, &table).unwrap();
    let bad = KitchenSink {
        text: "nul\0inside".into(),
        ..sink()
    };
    let written = pg
        .write(&Batch {
            tables: vec![(
                &table,
                vec![
                    row_of(&bad, &meta(EVENT_ID, 7)),
                    row_of(&sink(), &meta("01a217fe-9be3-7000-9139-000000000009", 8)),
                ],
            )],
            rejects: vec![],
        })
        .unwrap();
    assert_eq!((written.inserted, written.rejected), (1, 1));
    let rejects = pg
        .query(
            "SELECT topic, kafka_partition, kafka_offset, reason FROM event_load_errors",
            &[],
        )
        .unwrap();
    assert_eq!(rejects.len(), 1);
    assert_eq!(
        rejects[0][..3],
        [Text("kitchen-sink".into()), Int(2), Int(7)]
    );
    assert!(
        rejects[0][3].as_str().unwrap().contains("NUL"),
        "{rejects:?}"
    );
}

/// Through the loader, the reject keeps the record's payload, byte for byte, for a replay.
#[test]
fn text_postgres_cannot_store_is_rejected_with_its_reason_and_payload_kept() {
    use event_runtime::{Dispatcher, KafkaConfig, RecordingSink};

    let run = services::run_id();
    let bad = KitchenSink {
        text: format!("{run}: nul\0inside"),
        ..sink()
    };
    let recording = RecordingSink::new();
    let events = Dispatcher::builder()
        .recording(&recording)
        .kafka(KafkaConfig::new(services::kafka_bootstrap()))
        .build()
        .unwrap();
    events.publish(&bad);
    events.shutdown(Duration::from_secs(60)).unwrap();
    let payload = recording.records()[0].payload.clone();

    let mut config = LoaderConfig::new(services::kafka_bootstrap(), format!("nul-{run}"));
    config.batch_linger = Duration::from_millis(100);
    let url = services::fresh_postgres_database("nul_loaded");
    let mut running = Loader::new(config, Postgres::connect(&url).unwrap())
        .event::<KitchenSink>()
        .start()
        .unwrap();
    let hex: String = payload.iter().map(|b| format!("{b:02x}")).collect();
    let kept = |running: &mut event_warehouse::RunningLoader<Postgres>| {
        running
            .backend()
            .query(
                "SELECT reason FROM event_load_errors WHERE encode(payload, 'hex') = $1",
                &[&hex],
            )
            .unwrap()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while kept(&mut running).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the record was never rejected with its payload"
        );
        running.load_batch().unwrap();
    }
    let rejects = kept(&mut running);
    assert_eq!(rejects.len(), 1);
    assert!(
        rejects[0][0].as_str().unwrap().contains("NUL"),
        "{rejects:?}"
    );
}

/// Three versions of one event, as a team would ship them.
mod v1 {
    use event_runtime::Event;

    #[derive(Event)]
    #[event(name = "order.refunded", topic = "refunds")]
    pub struct OrderRefunded {
        #[event(key)]
        pub order_id: String,
        pub amount_pence: u64,
    }
}

mod v2 {
    use event_runtime::Event;

    /// v1 plus an optional field: compatible.
    #[derive(Event)]
    #[event(name = "order.refunded", topic = "refunds")]
    pub struct OrderRefunded {
        #[event(key)]
        pub order_id: String,
        pub amount_pence: u64,
        pub reason: Option<String>,
    }
}

mod v3 {
    use event_runtime::Event;

    /// v2 with the amount turned into text: every reader of the topic would break.
    #[derive(Event)]
    #[event(name = "order.refunded", topic = "refunds")]
    pub struct OrderRefunded {
        #[event(key)]
        pub order_id: String,
        pub amount_pence: String,
        pub reason: Option<String>,
    }
}

fn evolve(backend: &mut dyn Backend) {
    let v1_table = Table::of::<v1::OrderRefunded>().unwrap();
    prepare(backend, &v1_table).unwrap();
    let old = v1::OrderRefunded {
        order_id: "o-1".into(),
        amount_pence: 250,
    };
    let rows = vec![row_of(
        &old,
        &meta("01a217fe-9be3-7000-9139-000000000001", 1),
    )];
    backend
        .write(&Batch {
            tables: vec![(&v1_table, rows)],
            rejects: vec![],
        })
        .unwrap();

    // A new optional field adds a column; the old row has NULL there.
    let v2_table = Table::of::<v2::OrderRefunded>().unwrap();
    prepare(backend, &v2_table).unwrap();
    assert!(backend
        .existing_columns("order_refunded")
        .unwrap()
        .contains(&"reason".to_owned()));
    let new = v2::OrderRefunded {
        order_id: "o-2".into(),
        amount_pence: 300,
        reason: Some("late".into()),
    };
    let rows = vec![row_of(
        &new,
        &meta("01a217fe-9be3-7000-9139-000000000002", 2),
    )];
    backend
        .write(&Batch {
            tables: vec![(&v2_table, rows)],
            rejects: vec![],
        })
        .unwrap();
    let rows = backend
        .query(
            "SELECT order_id, reason FROM order_refunded ORDER BY order_id",
            &[],
        )
        .unwrap();
    assert_eq!(
        rows,
        vec![
            vec![Text("o-1".into()), Null],
            vec![Text("o-2".into()), Text("late".into())]
        ]
    );
    // Preparing the same definition again changes nothing.
    prepare(backend, &v2_table).unwrap();

    // A retyped field is refused, with the contract's reason, and the table is untouched.
    let v3_table = Table::of::<v3::OrderRefunded>().unwrap();
    let error = prepare(backend, &v3_table).unwrap_err();
    assert!(
        matches!(error, WarehouseError::Incompatible { .. }),
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.contains(
            "event `order.refunded` changed in a way table `order_refunded` cannot follow"
        ) && message.contains("field `amount_pence` changed type from `uint64` to `string`"),
        "{message}"
    );
    let count = backend
        .query("SELECT count(*) FROM order_refunded", &[])
        .unwrap();
    assert_eq!(count, vec![vec![Int(2)]]);
}

#[test]
fn postgres_tables_follow_compatible_changes_and_refuse_the_others() {
    let mut pg = Postgres::connect(&services::fresh_postgres_database("evolve")).unwrap();
    evolve(&mut pg);
}

#[test]
fn sqlite_tables_follow_compatible_changes_and_refuse_the_others() {
    evolve(&mut Sqlite::in_memory().unwrap());
}

#[test]
fn the_loader_refuses_to_start_on_an_incompatible_definition() {
    let dir = std::env::temp_dir().join(format!("warehouse-{}", services::run_id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("events.db");
    let config = LoaderConfig::new("127.0.0.1:9", "unused");
    Loader::new(config.clone(), Sqlite::open(&path).unwrap())
        .event::<v1::OrderRefunded>()
        .start()
        .map(drop)
        .unwrap();
    let refused = Loader::new(config, Sqlite::open(&path).unwrap())
        .event::<v3::OrderRefunded>()
        .start()
        .map(drop)
        .unwrap_err();
    assert!(refused.to_string().contains("amount_pence"), "{refused}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_field_named_like_a_record_column_is_refused_with_a_hint() {
    #[derive(event_runtime::Event)]
    #[event(topic = "clashes")]
    struct Clash {
        event_id: String,
    }
    let error = Table::of::<Clash>().unwrap_err().to_string();
    assert!(
        error.contains("field `event_id` has the name of a column the loader adds")
            && error.contains("rename the field"),
        "{error}"
    );
}

/// The order flow's `dishes` query unnests the line items nested in each order, with the
/// same SQL text on both backends, and sums what the payloads say.
fn dishes_query_unnests_line_items(backend: &mut dyn Backend) {
    use multi_dispatch_events::order_flow::events::{
        DeliveryAddress, LineItem, Market as OrderMarket, OrderPlaced, Platform,
    };
    use multi_dispatch_events::order_flow::warehouse::{named_queries, QUERIES};

    let order = |n: u32, market, quantities: &[u32]| OrderPlaced {
        order_id: format!("dishes-{n}"),
        user_id: format!("u-{n}"),
        restaurant_id: "r-1".into(),
        market,
        platform: Platform::Web,
        basket_pence: 1000,
        line_items: quantities
            .iter()
            .enumerate()
            .map(|(i, quantity)| LineItem {
                dish_id: format!("d-{i}"),
                quantity: *quantity,
                unit_price_pence: 250,
            })
            .collect(),
        delivery: DeliveryAddress {
            postcode: "75001".into(),
            city: "Paris".into(),
        },
        placed_at: UNIX_EPOCH,
    };
    let orders = [
        order(1, OrderMarket::Fr, &[2, 1]),
        order(2, OrderMarket::Fr, &[3]),
        order(3, OrderMarket::Uk, &[1; 64]),
        order(4, OrderMarket::It, &[]),
    ];
    let table = Table::of::<OrderPlaced>().unwrap();
    prepare(backend, &table).unwrap();
    let rows = orders
        .iter()
        .enumerate()
        .map(|(i, o)| {
            row_of(
                o,
                &meta(
                    &format!("01a217fe-9be3-7000-9139-0000000001{i:02}"),
                    i as i64,
                ),
            )
        })
        .collect();
    backend
        .write(&Batch {
            tables: vec![(&table, rows)],
            rejects: vec![],
        })
        .unwrap();
    let (_, sql) = named_queries(QUERIES)
        .into_iter()
        .find(|(name, _)| *name == "dishes")
        .unwrap();
    let mut dishes = backend.query(&sql, &["dishes-"]).unwrap();
    dishes.sort_by(|a, b| a[0].as_str().cmp(&b[0].as_str()));
    // The order with no line items has no row to sum.
    assert_eq!(
        dishes,
        [
            vec![Text("fr".into()), Int(6)],
            vec![Text("uk".into()), Int(64)]
        ]
    );
}

#[test]
fn the_dishes_query_unnests_line_items_in_sqlite() {
    dishes_query_unnests_line_items(&mut Sqlite::in_memory().unwrap());
}

#[test]
fn the_dishes_query_unnests_line_items_in_postgres() {
    let mut pg = Postgres::connect(&services::fresh_postgres_database("dishes")).unwrap();
    dishes_query_unnests_line_items(&mut pg);
}

/// A database error says what the database said and what to do, and keeps the driver's
/// error as its `source()`.
#[test]
fn a_database_error_keeps_the_driver_error_as_the_source() {
    let mut database = Sqlite::in_memory().unwrap();
    let error = database
        .execute("INSERT INTO no_such_table VALUES (1)")
        .unwrap_err();
    let WarehouseError::Database { message, .. } = &error else {
        panic!("not a database error: {error}");
    };
    assert!(message.contains("no_such_table"), "{message}");
    assert!(
        error.to_string().contains("start the loader again"),
        "{error}"
    );
    let source = std::error::Error::source(&error).expect("the driver's error as the source");
    assert_eq!(source.to_string(), *message);
}
