//! The proto3 `.proto` text of an event, as returned by `E::proto_schema()`.
//!
//! The enums and nested messages an event uses are declared inside its message, so that
//! two events using the same Tag enum or `#[derive(Message)]` type can be loaded into one
//! descriptor pool without their names colliding.

use std::fmt::Write;

use crate::description::{EnumDef, FieldDef, Kind, Label, MessageDef};

/// The package an event's message is declared in unless `#[event(package = "...")]`
/// names another.
pub const PACKAGE: &str = event_names::DEFAULT_PACKAGE;

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

/// What an event's file declares besides its own message, found by walking every field.
#[derive(Default)]
struct Declarations {
    imports: Vec<&'static str>,
    enums: Vec<&'static EnumDef>,
    messages: Vec<&'static MessageDef>,
}

impl Declarations {
    fn of(event: &'static MessageDef) -> Self {
        let mut found = Declarations::default();
        found.walk(event);
        found.imports.sort_unstable();
        found
    }

    fn walk(&mut self, message: &'static MessageDef) {
        for field in message.fields {
            let kinds = match field.label {
                Label::Map(key) => [Some(key), Some(field.kind)],
                Label::Implicit | Label::Optional | Label::Repeated => [Some(field.kind), None],
            };
            for kind in kinds.into_iter().flatten() {
                self.add(kind);
            }
        }
    }

    fn add(&mut self, kind: Kind) {
        if let Some(import) = kind.import() {
            if !self.imports.contains(&import) {
                self.imports.push(import);
            }
        }
        match kind {
            Kind::Enum(e) if !self.enums.iter().any(|known| known.name == e.name) => {
                self.enums.push(e);
            }
            Kind::Message(message) => {
                let def = message.def();
                // Seen already: a shared message, or a message that contains itself.
                if !self.messages.iter().any(|known| known.name == def.name) {
                    self.messages.push(def);
                    self.walk(def);
                }
            }
            _ => {}
        }
    }
}

fn field_line(out: &mut String, indent: &str, field: &FieldDef) {
    let ty = field.kind.proto_name();
    let _ = match field.label {
        Label::Implicit => writeln!(out, "{indent}{ty} {} = {};", field.name, field.number),
        Label::Optional => writeln!(
            out,
            "{indent}optional {ty} {} = {};",
            field.name, field.number
        ),
        Label::Repeated => writeln!(
            out,
            "{indent}repeated {ty} {} = {};",
            field.name, field.number
        ),
        Label::Map(key) => writeln!(
            out,
            "{indent}map<{}, {ty}> {} = {};",
            key.proto_name(),
            field.name,
            field.number
        ),
    };
}

fn reserved_lines(out: &mut String, indent: &str, message: &MessageDef) {
    if !message.reserved_numbers.is_empty() {
        let numbers: Vec<String> = message
            .reserved_numbers
            .iter()
            .map(u32::to_string)
            .collect();
        let _ = writeln!(out, "{indent}reserved {};", numbers.join(", "));
    }
    if !message.reserved_names.is_empty() {
        let names: Vec<String> = message
            .reserved_names
            .iter()
            .map(|n| format!("\"{n}\""))
            .collect();
        let _ = writeln!(out, "{indent}reserved {};", names.join(", "));
    }
}

fn nested_message(out: &mut String, message: &MessageDef) {
    let _ = writeln!(out, "  message {} {{", message.name);
    match message.oneof {
        Some(oneof) => {
            let _ = writeln!(out, "    oneof {oneof} {{");
            for field in message.fields {
                field_line(out, "      ", field);
            }
            out.push_str("    }\n");
        }
        None => {
            for field in message.fields {
                field_line(out, "    ", field);
            }
        }
    }
    reserved_lines(out, "    ", message);
    out.push_str("  }\n");
}

/// Renders the `.proto` file of one event: `event` is its name, `topic` its Kafka topic,
/// `package` its message's protobuf package.
pub fn render_event(
    event: &str,
    topic: &str,
    package: &str,
    message: &'static MessageDef,
) -> String {
    let found = Declarations::of(message);
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "// Event `{event}`, published to Kafka topic `{topic}`.\nsyntax = \"proto3\";\n\npackage {package};\n"
    );
    for import in &found.imports {
        let _ = writeln!(out, "import \"{import}\";");
    }
    if !found.imports.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(out, "message {} {{", message.name);
    for e in &found.enums {
        let _ = writeln!(out, "  enum {} {{", e.name);
        let _ = writeln!(out, "    {} = 0;", enum_value_ident(e.name, "UNSPECIFIED"));
        for (i, value) in e.values.iter().enumerate() {
            let _ = writeln!(out, "    {} = {};", enum_value_ident(e.name, value), i + 1);
        }
        out.push_str("  }\n");
    }
    for nested in &found.messages {
        nested_message(&mut out, nested);
    }
    for field in message.fields {
        field_line(&mut out, "  ", field);
    }
    reserved_lines(&mut out, "  ", message);
    out.push_str("}\n");
    out
}
