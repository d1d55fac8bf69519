//! Reads back the `.proto` files this crate writes (a snapshot committed by the user), into
//! the facts the compatibility rules compare. It understands the canonical layout
//! [`render_event`](super::render_event) produces (nested messages, `oneof` blocks and
//! maps included), not arbitrary protobuf.

use std::collections::BTreeMap;
use std::fmt;

/// One field as declared in a `.proto` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedField {
    /// `""`, `"optional"`, `"repeated"` or `"map"`.
    pub label: String,
    /// The type as written, e.g. `string`, `Market` or `map<string, Money>`.
    pub ty: String,
    /// The field name.
    pub name: String,
    /// The field number.
    pub number: u32,
    /// The `oneof` the field belongs to, if any.
    pub oneof: Option<String>,
}

/// The facts of one message: the event's own, or one nested in it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedMessage {
    /// The fields, in file order.
    pub fields: Vec<ParsedField>,
    /// Reserved field numbers.
    pub reserved_numbers: Vec<u32>,
    /// Reserved field names.
    pub reserved_names: Vec<String>,
}

/// The facts of one event's file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedSchema {
    /// The event's message name.
    pub message: String,
    /// The Kafka topic, from the header comment.
    pub topic: String,
    /// Every message by its path from the event's: `OrderPlaced`, `OrderPlaced.LineItem`.
    pub messages: BTreeMap<String, ParsedMessage>,
    /// Enum name -> (value identifier -> number).
    pub enums: BTreeMap<String, BTreeMap<String, i32>>,
}

/// Where a line of the file is.
enum Scope {
    Message(String),
    Enum(String),
    Oneof(String),
}

/// A snapshot that is not in the layout this crate writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaParseError {
    /// The 1-based line.
    pub line: usize,
    /// What was expected.
    pub message: String,
}

impl fmt::Display for SchemaParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}: {}; re-export the snapshot with SchemaSet::export",
            self.line, self.message
        )
    }
}

impl std::error::Error for SchemaParseError {}

impl ParsedSchema {
    /// Parses a `.proto` file written by [`render_event`](super::render_event).
    pub fn parse(text: &str) -> Result<Self, SchemaParseError> {
        let mut schema = ParsedSchema::default();
        let mut scopes: Vec<Scope> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let error = |message: &str| SchemaParseError {
                line: i + 1,
                message: message.to_owned(),
            };
            let line = raw.trim();
            if let Some(rest) = line.strip_prefix("// Event `") {
                // "// Event `name`, published to Kafka topic `topic`."
                schema.topic = rest
                    .split("topic `")
                    .nth(1)
                    .and_then(|t| t.split('`').next())
                    .ok_or_else(|| error("the header comment names no topic"))?
                    .to_owned();
                continue;
            }
            if line.is_empty()
                || line.starts_with("//")
                || line.starts_with("syntax")
                || line.starts_with("package")
                || line.starts_with("import")
            {
                continue;
            }
            let message_path = scopes.iter().rev().find_map(|scope| match scope {
                Scope::Message(path) => Some(path.clone()),
                Scope::Enum(_) | Scope::Oneof(_) => None,
            });
            if let Some(rest) = line.strip_prefix("message ") {
                let name = rest.trim_end_matches('{').trim();
                let path = match &message_path {
                    Some(parent) => format!("{parent}.{name}"),
                    None => {
                        schema.message = name.to_owned();
                        name.to_owned()
                    }
                };
                schema.messages.entry(path.clone()).or_default();
                scopes.push(Scope::Message(path));
            } else if let Some(rest) = line.strip_prefix("enum ") {
                let name = rest.trim_end_matches('{').trim().to_owned();
                schema.enums.insert(name.clone(), BTreeMap::new());
                scopes.push(Scope::Enum(name));
            } else if let Some(rest) = line.strip_prefix("oneof ") {
                scopes.push(Scope::Oneof(rest.trim_end_matches('{').trim().to_owned()));
            } else if line == "}" {
                scopes.pop().ok_or_else(|| error("a `}` closes nothing"))?;
            } else if let Some(Scope::Enum(enum_name)) = scopes.last() {
                let (ident, number) = line
                    .trim_end_matches(';')
                    .split_once(" = ")
                    .ok_or_else(|| error("expected `IDENT = N;` in an enum"))?;
                let number = number
                    .parse()
                    .map_err(|_| error("an enum number is not a number"))?;
                if let Some(values) = schema.enums.get_mut(enum_name) {
                    values.insert(ident.to_owned(), number);
                }
            } else {
                let path = message_path.ok_or_else(|| error("a field outside any message"))?;
                let message = schema.messages.entry(path).or_default();
                if let Some(rest) = line.strip_prefix("reserved ") {
                    for item in rest.trim_end_matches(';').split(',').map(str::trim) {
                        if let Some(name) = item.strip_prefix('"').and_then(|n| n.strip_suffix('"'))
                        {
                            message.reserved_names.push(name.to_owned());
                        } else {
                            message.reserved_numbers.push(
                                item.parse()
                                    .map_err(|_| error("a reserved number is not a number"))?,
                            );
                        }
                    }
                    continue;
                }
                let oneof = match scopes.last() {
                    Some(Scope::Oneof(name)) => Some(name.clone()),
                    _ => None,
                };
                let (declaration, number) = line
                    .trim_end_matches(';')
                    .rsplit_once(" = ")
                    .ok_or_else(|| error("expected `[label] type name = N;`"))?;
                let (label, ty, name) = if let Some(map) = declaration.strip_prefix("map<") {
                    let (types, name) = map
                        .split_once('>')
                        .ok_or_else(|| error("expected `map<K, V> name = N;`"))?;
                    ("map", format!("map<{types}>"), name.trim())
                } else {
                    let words: Vec<&str> = declaration.split_whitespace().collect();
                    match words.as_slice() {
                        [ty, name] => ("", (*ty).to_owned(), *name),
                        [label, ty, name] => (*label, (*ty).to_owned(), *name),
                        _ => return Err(error("expected `[label] type name = N;`")),
                    }
                };
                message.fields.push(ParsedField {
                    label: label.to_owned(),
                    ty,
                    name: name.to_owned(),
                    number: number
                        .parse()
                        .map_err(|_| error("a field number is not a number"))?,
                    oneof,
                });
            }
        }
        if schema.message.is_empty() {
            return Err(SchemaParseError {
                line: 1,
                message: "no `message` found".into(),
            });
        }
        Ok(schema)
    }

    /// The type of a field with its label, as compared by the rules: `optional string`.
    pub(crate) fn full_type(field: &ParsedField) -> String {
        if field.label.is_empty() || field.label == "map" {
            field.ty.clone()
        } else {
            format!("{} {}", field.label, field.ty)
        }
    }
}
