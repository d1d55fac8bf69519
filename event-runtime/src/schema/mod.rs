//! Schemas: the `.proto` text of each event, exported to a folder for consumers in other
//! languages, and checked against a committed snapshot so that a change that would break
//! those consumers fails a test instead of a pipeline.
//!
//! The rules are the protobuf topic rules of the warehouse teams: field numbers, types and
//! names never change; a removed field is reserved, by name and number; each message is
//! tied to one topic; enum values are never removed or renumbered. Files are read with
//! `protox`, a protobuf compiler, so [`SchemaSet::check_against_tree`] also checks events
//! against a tree of `.proto` files written elsewhere, and
//! [`SchemaSet::file_descriptor_set`] gives the compiled descriptors.
//!
//! ```
//! use event_runtime::{schema::SchemaSet, Event, Tag};
//!
//! #[derive(Event)]
//! #[event(topic = "orders")]
//! struct OrderPlaced {
//!     #[event(key)]
//!     order_id: String,
//!     basket_pence: u64,
//! }
//!
//! let dir = std::env::temp_dir().join(format!("schemas-doc-{}", std::process::id()));
//! let schemas = SchemaSet::new().event::<OrderPlaced>();
//! schemas.export(&dir)?;                 // writes order_placed.proto
//! schemas.check_against(&dir).unwrap();  // the snapshot you commit; fails on a breaking change
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), std::io::Error>(())
//! ```

mod compat;
mod read;
mod render;
mod set;

pub use crate::description::{EnumDef, FieldDef, Kind, Label, MessageDef, MessageRef};
pub use compat::{check_compatible, Violation};
pub use read::{ParsedField, ParsedMessage, ParsedSchema, SchemaParseError};
pub use render::{enum_value_ident, render_event, PACKAGE};
pub use set::{SchemaCheckError, SchemaSet};
