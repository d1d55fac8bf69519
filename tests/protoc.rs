//! The exported `.proto` files compile with `protoc` itself (Debian's protobuf-compiler),
//! and `protoc --decode` reads our payloads back. Feature `protoc`; `scripts/test` installs it.
#![cfg(feature = "protoc")]

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use event_runtime::schema::SchemaSet;
use event_runtime::Event;
use multi_dispatch_events::order_flow::events::*;

fn protoc() -> Command {
    if Command::new("protoc").arg("--version").output().is_err() {
        panic!(
            "protoc is not installed: `apt-get install protobuf-compiler`, or run `scripts/test`"
        );
    }
    Command::new("protoc")
}

#[test]
fn exported_schemas_compile_with_protoc_and_decode_our_payloads() {
    let dir = std::env::temp_dir().join(format!("protoc-{}", std::process::id()));
    let schemas = SchemaSet::new()
        .event::<OrderPlaced>()
        .event::<PaymentFailed>()
        .event::<OrderDelivered>()
        .event::<common::KitchenSink>()
        .event::<common::PaymentAttempted>()
        .event::<common::food::FoodOrderPlaced>();
    let paths = schemas.export(&dir).unwrap();
    let status = protoc()
        .arg(format!("--proto_path={}", dir.display()))
        .arg(format!(
            "--descriptor_set_out={}",
            dir.join("all.pb").display()
        ))
        .args(paths.iter().map(|p| p.file_name().unwrap().to_owned()))
        .status()
        .unwrap();
    assert!(
        status.success(),
        "protoc rejected the exported files in {}",
        dir.display()
    );

    let mut payload = Vec::new();
    common::design_example().encode(&mut payload);
    let mut child = protoc()
        .arg(format!("--proto_path={}", dir.display()))
        .args([
            "--decode=events.PaymentAttempted",
            "payment_attempted.proto",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&payload).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "order_id: \"order-1\"\nuser_id: \"user-42\"\nmarket: MARKET_UK\nplatform: PLATFORM_IOS\nfirst_order: true\namount_pence: 1250\n"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn protoc_decodes_nested_messages_lists_maps_and_oneofs() {
    let dir = std::env::temp_dir().join(format!("protoc-food-{}", std::process::id()));
    SchemaSet::new()
        .event::<common::food::FoodOrderPlaced>()
        .export(&dir)
        .unwrap();
    let mut payload = Vec::new();
    common::food::sample().encode(&mut payload);
    let mut child = protoc()
        .arg(format!("--proto_path={}", dir.display()))
        .args(["--decode=events.FoodOrderPlaced", "food_order_placed.proto"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&payload).unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "protoc --decode failed: {stderr}");
    let text = String::from_utf8(output.stdout).unwrap();
    // Decoded with protoc's own field names: no field is unknown to it.
    for expected in [
        "order_id: \"o-1\"",
        "market: MARKET_FR",
        "sku: \"pizza-margherita\"",
        "quantity: 2",
        "floor: -1",
        "card {\n    last4: \"4242\"",
        "fallback_payment {\n  cash {\n  }",
        "attributes {\n  key: \"utm_source\"\n  value: \"newsletter\"\n}",
        "stock_left {\n  key: 8\n  value: 255\n}",
        "parent {\n    name: \"all\"",
        "http_status: 201",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} not in protoc's output:\n{text}"
        );
    }
    assert!(
        !text.contains("\n1:") && !text.contains(" 1: "),
        "unknown fields:\n{text}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Runs `protoc --decode` of `message` in the exported `file` over `payload`.
fn protoc_decode(dir: &std::path::Path, file: &str, message: &str, payload: &[u8]) -> String {
    let mut child = protoc()
        .arg(format!("--proto_path={}", dir.display()))
        .args([format!("--decode={message}"), file.to_owned()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(payload).unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "protoc --decode failed: {stderr}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn protoc_decodes_borrowed_fields_as_their_owned_twins() {
    let dir = std::env::temp_dir().join(format!("protoc-borrowed-{}", std::process::id()));
    SchemaSet::new()
        .event::<common::borrowed::OrderPlaced<'_>>()
        .export(&dir)
        .unwrap();
    let order = common::borrowed::sample("o-1u-9skuRueP0123A4242", &[1, 2, 3, 4, 5, 6]);
    let mut payload = Vec::new();
    order.encode(&mut payload);
    let text = protoc_decode(&dir, "order_placed.proto", "events.OrderPlaced", &payload);
    for expected in [
        "order_id: \"o-1\"",
        "user_id: \"u-9\"",
        "sku: \"sku\"",
        "delivery {\n  street: \"Rue\"\n  postcode: \"P01\"\n  floor: \"2\"\n}",
        "payment {\n  card {\n    last4: \"3A42\"\n  }\n}",
        "token: \"\\001\\002\\003\\004\"",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} not in protoc's output:\n{text}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[cfg(all(
    feature = "uuid",
    feature = "chrono",
    feature = "time",
    feature = "rust_decimal"
))]
#[test]
fn protoc_decodes_the_common_rust_types() {
    let dir = std::env::temp_dir().join(format!("protoc-types-{}", std::process::id()));
    SchemaSet::new()
        .event::<common::common_types::InvoicePaid>()
        .export(&dir)
        .unwrap();
    let mut payload = Vec::new();
    common::common_types::sample().encode(&mut payload);
    let text = protoc_decode(&dir, "invoice_paid.proto", "events.InvoicePaid", &payload);
    for expected in [
        "invoice_id: \"01a217fe-9be3-7000-9139-59794b914441\"",
        "paid_at {\n  seconds: 1764000000\n  nanos: 123456789\n}",
        "clock_skew {\n  nanos: -250000000\n}",
        "amount: \"-12.50\"",
        "line_amounts: \"79228162514264337593543950335\"",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} not in protoc's output:\n{text}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn protoc_reads_the_descriptor_set_instead_of_the_proto_files() {
    let dir = std::env::temp_dir().join(format!("protoc-set-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let set = SchemaSet::new()
        .event::<common::PaymentAttempted>()
        .event::<OrderPlaced>()
        .file_descriptor_set()
        .unwrap();
    let path = dir.join("events.pb");
    std::fs::write(&path, set).unwrap();
    let mut payload = Vec::new();
    common::design_example().encode(&mut payload);
    // No --proto_path and no .proto file: protoc knows the message from the set alone.
    let mut child = protoc()
        .arg(format!("--descriptor_set_in={}", path.display()))
        .args([
            "--decode=events.PaymentAttempted",
            "payment_attempted.proto",
        ])
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&payload).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "order_id: \"order-1\"\nuser_id: \"user-42\"\nmarket: MARKET_UK\nplatform: PLATFORM_IOS\nfirst_order: true\namount_pence: 1250\n"
    );
    std::fs::remove_dir_all(&dir).ok();
}
