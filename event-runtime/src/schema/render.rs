//! The proto3 `.proto` text of an event, as returned by `E::proto_schema()`.
//!
//! Enums are nested in the message so that two events using the same Tag enum can be
//! loaded into one descriptor pool without their values colliding.

use std::fmt::Write;

use crate::proto::{EnumDef, Label, ProtoType};

/// The package every event message is declared in.
pub const PACKAGE: &str = "events";

/// One field of an event message.
#[derive(Clone, Copy, Debug)]
pub struct FieldDef {
    /// The Rust field name, used as the protobuf field name.
    pub name: &'static str,
    /// The protobuf field number.
    pub number: u32,
    /// Implicit, `optional` or `repeated`.
    pub label: Label,
    /// The element type.
    pub ty: ProtoType,
}

/// An event message: enough to write its `.proto` file.
#[derive(Clone, Copy, Debug)]
pub struct MessageDef<'a> {
    /// The message name (the Rust struct name).
    pub message: &'static str,
    /// The event name.
    pub event: &'static str,
    /// The Kafka topic.
    pub topic: &'static str,
    /// The fields, in declaration order.
    pub fields: &'a [FieldDef],
    /// Field numbers of removed fields, never to be used again.
    pub reserved_numbers: &'a [u32],
    /// Names of removed fields, never to be used again.
    pub reserved_names: &'a [&'a str],
}

/// The identifier protobuf code generators expect for an enum value:
/// `MARKET_UK` for value `uk` of enum `Market`.
pub fn enum_value_ident(enum_name: &str, value: &str) -> String {
    let mut ident = screaming_snake(enum_name);
    ident.push('_');
    ident.extend(value.chars().map(|c| {
        if c.is_ascii_alphanumeric() {
            c.to_ascii_uppercase()
        } else {
            '_'
        }
    }));
    ident
}

fn screaming_snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// Renders the `.proto` file of one event.
pub fn render(def: &MessageDef<'_>) -> String {
    let mut imports: Vec<&str> = Vec::new();
    let mut enums: Vec<&EnumDef> = Vec::new();
    for field in def.fields {
        match field.ty {
            ProtoType::Message { import, .. } if !imports.contains(&import) => imports.push(import),
            ProtoType::Enum(e) if !enums.iter().any(|known| known.name == e.name) => enums.push(e),
            _ => {}
        }
    }
    imports.sort_unstable();

    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "// Event `{}`, published to Kafka topic `{}`.\nsyntax = \"proto3\";\n\npackage {PACKAGE};\n",
        def.event, def.topic
    );
    for import in &imports {
        let _ = writeln!(out, "import \"{import}\";");
    }
    if !imports.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(out, "message {} {{", def.message);
    for e in &enums {
        let _ = writeln!(out, "  enum {} {{", e.name);
        let _ = writeln!(out, "    {} = 0;", enum_value_ident(e.name, "UNSPECIFIED"));
        for (i, value) in e.values.iter().enumerate() {
            let _ = writeln!(out, "    {} = {};", enum_value_ident(e.name, value), i + 1);
        }
        out.push_str("  }\n");
    }
    for field in def.fields {
        let label = match field.label {
            Label::Implicit => "",
            Label::Optional => "optional ",
            Label::Repeated => "repeated ",
        };
        let ty = match field.ty {
            ProtoType::Scalar(name) | ProtoType::Message { name, .. } => name,
            ProtoType::Enum(e) => e.name,
        };
        let _ = writeln!(out, "  {label}{ty} {} = {};", field.name, field.number);
    }
    if !def.reserved_numbers.is_empty() {
        let numbers: Vec<String> = def.reserved_numbers.iter().map(u32::to_string).collect();
        let _ = writeln!(out, "  reserved {};", numbers.join(", "));
    }
    if !def.reserved_names.is_empty() {
        let names: Vec<String> = def
            .reserved_names
            .iter()
            .map(|n| format!("\"{n}\""))
            .collect();
        let _ = writeln!(out, "  reserved {};", names.join(", "));
    }
    out.push_str("}\n");
    out
}
