//! `SchemaSet::file_descriptor_set()`: one `FileDescriptorSet` for every event and the
//! well-known files they import. prost-reflect loads it, and for every event, decoding our
//! bytes with it gives what our own decode gives (the order flow's seven events, and the
//! test events with nested messages, lists, maps, oneofs and every scalar).

mod common;

use event_runtime::schema::SchemaSet;
use event_runtime::{DecodeOwned, Event};
use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage};

use multi_dispatch_events::order_flow::events::*;

fn pool(set: &SchemaSet) -> DescriptorPool {
    DescriptorPool::decode(set.file_descriptor_set().unwrap().as_slice()).unwrap()
}

/// Decodes `event`'s bytes with the descriptor of its message in `pool`, and checks that
/// what prost-reflect read is what our decode reads: its encoding decodes, with ours, to
/// the same value, and it names every field our event sets.
fn decodes_the_same<E: Event + DecodeOwned + PartialEq + std::fmt::Debug>(
    pool: &DescriptorPool,
    event: &E,
) {
    let mut ours = Vec::new();
    event.encode(&mut ours);
    let descriptor = pool
        .get_message_by_name(E::MESSAGE_NAME)
        .unwrap_or_else(|| panic!("{} is in the set", E::MESSAGE_NAME));
    let dynamic = DynamicMessage::decode(descriptor, ours.as_slice()).unwrap();
    let theirs = dynamic.encode_to_vec();
    assert_eq!(&E::decode(&theirs).unwrap(), event, "{}", E::MESSAGE_NAME);
    assert_eq!(&E::decode(&ours).unwrap(), event, "{}", E::MESSAGE_NAME);
    assert_eq!(
        theirs.len(),
        ours.len(),
        "{}: nothing lost or added",
        E::MESSAGE_NAME
    );
}

#[test]
fn the_order_flow_events_decode_with_the_descriptor_set() {
    use event_runtime::{Dispatcher, RecordingSink};
    use multi_dispatch_events::order_flow::simulate::{self, Scenario};

    let pool = pool(&multi_dispatch_events::order_flow::events::schemas());
    let files: Vec<String> = pool.files().map(|f| f.name().to_owned()).collect();
    assert!(
        files.contains(&"order_placed.proto".to_owned()),
        "{files:?}"
    );
    assert!(
        files.contains(&"google/protobuf/timestamp.proto".to_owned()),
        "imports are in the set: {files:?}"
    );

    let recording = RecordingSink::new();
    let events = Dispatcher::builder().recording(&recording).build().unwrap();
    simulate::run(
        &events,
        Scenario {
            orders: 200,
            seed: 3,
            run_id: 0,
        },
        |_, _| {},
    );
    let mut checked = 0;
    macro_rules! each {
        ($($event:ty),*) => {$(
            for event in recording.events::<$event>() {
                decodes_the_same(&pool, &event);
                checked += 1;
            }
        )*};
    }
    each!(
        OrderPlaced,
        PaymentAttempted,
        PaymentSucceeded,
        PaymentFailed,
        OrderSentToRestaurant,
        OrderCollected,
        OrderDelivered
    );
    assert_eq!(checked, recording.records().len());
}

#[test]
fn nested_messages_lists_maps_oneofs_and_scalars_decode_with_the_descriptor_set() {
    let set = SchemaSet::new()
        .event::<common::KitchenSink>()
        .event::<common::PaymentAttempted>()
        .event::<common::food::FoodOrderPlaced>();
    let pool = pool(&set);
    decodes_the_same(&pool, &common::kitchen_sink_example());
    decodes_the_same(&pool, &common::design_example());
    decodes_the_same(&pool, &common::food::sample());
}

#[test]
fn export_writes_the_code_generators_file_options() {
    let set = multi_dispatch_events::order_flow::events::schemas()
        .java_package("com.acme.events")
        .java_multiple_files(true)
        .go_package("github.com/acme/events/gen/go;eventspb");
    let files =
        prost_types::FileDescriptorSet::decode(set.file_descriptor_set().unwrap().as_slice())
            .unwrap();
    let ours: Vec<_> = files
        .file
        .iter()
        .filter(|f| !f.name().starts_with("google/"))
        .collect();
    assert_eq!(ours.len(), 7);
    for file in ours {
        let options = file.options.as_ref().unwrap();
        assert_eq!(options.java_package(), "com.acme.events", "{}", file.name());
        assert!(options.java_multiple_files(), "{}", file.name());
        assert_eq!(
            options.go_package(),
            "github.com/acme/events/gen/go;eventspb",
            "{}",
            file.name()
        );
    }
    // Options change no rule: the committed snapshot (without them) still passes.
    set.check_against(concat!(env!("CARGO_MANIFEST_DIR"), "/schemas"))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    set.export(dir.path()).unwrap();
    let text = std::fs::read_to_string(dir.path().join("order_placed.proto")).unwrap();
    assert!(
        text.contains("package events;\n\noption java_package = \"com.acme.events\";\n"),
        "{text}"
    );
}
