//! `E::proto_schema()`: the proto3 text matches the encoding.

mod common;

use common::{KitchenSink, PaymentAttempted};
use event_runtime::Event;

#[test]
fn design_example_schema() {
    assert_eq!(
        PaymentAttempted::proto_schema(),
        r#"// Event `payment.attempted`, published to Kafka topic `payments`.
syntax = "proto3";

package events;

message PaymentAttempted {
  enum Market {
    MARKET_UNSPECIFIED = 0;
    MARKET_UK = 1;
    MARKET_FR = 2;
    MARKET_IT = 3;
  }
  enum Platform {
    PLATFORM_UNSPECIFIED = 0;
    PLATFORM_ANDROID = 1;
    PLATFORM_IOS = 2;
    PLATFORM_WEB = 3;
  }
  string order_id = 1;
  string user_id = 2;
  Market market = 3;
  Platform platform = 4;
  bool first_order = 5;
  uint64 amount_pence = 6;
}
"#
    );
}

#[test]
fn labels_imports_and_pinned_numbers() {
    let schema = KitchenSink::proto_schema();
    for line in [
        "import \"google/protobuf/duration.proto\";",
        "import \"google/protobuf/timestamp.proto\";",
        "    METHOD_APPLE_PAY = 2;",
        "  float ratio = 20;",
        "  double precise = 21;",
        "  optional Market market = 25;",
        "  optional bool retried = 26;",
        "  repeated bytes many_blobs = 34;",
        "  repeated Method many_methods = 35;",
        "  google.protobuf.Timestamp at = 36;",
        "  optional google.protobuf.Timestamp maybe_at = 38;",
        "  repeated google.protobuf.Duration durations = 39;",
    ] {
        assert!(schema.contains(line), "missing {line:?} in\n{schema}");
    }
    // One definition per enum, even when two fields use it.
    assert_eq!(schema.matches("enum Method {").count(), 1);
}
