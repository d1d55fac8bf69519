//! Reads back the `.proto` files this crate writes (a snapshot committed by the user), into
//! the facts the compatibility rules compare. It understands the canonical layout
//! [`render`](super::render) produces, not arbitrary protobuf.

use std::collections::BTreeMap;
use std::fmt;

/// One field as declared in a `.proto` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedField {
    /// `""`, `"optional"` or `"repeated"`.
    pub label: String,
    /// The type as written, e.g. `string` or `Market`.
    pub ty: String,
    /// The field name.
    pub name: String,
    /// The field number.
    pub number: u32,
}

/// The facts of one event message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedSchema {
    /// The message name.
    pub message: String,
    /// The Kafka topic, from the header comment.
    pub topic: String,
    /// The fields, in file order.
    pub fields: Vec<ParsedField>,
    /// Enum name -> (value identifier -> number).
    pub enums: BTreeMap<String, BTreeMap<String, i32>>,
    /// Reserved field numbers.
    pub reserved_numbers: Vec<u32>,
    /// Reserved field names.
    pub reserved_names: Vec<String>,
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
    /// Parses a `.proto` file written by [`render`](super::render).
    pub fn parse(text: &str) -> Result<Self, SchemaParseError> {
        let mut schema = ParsedSchema::default();
        let mut current_enum: Option<String> = None;
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
            if let Some(rest) = line.strip_prefix("message ") {
                schema.message = rest.trim_end_matches('{').trim().to_owned();
            } else if let Some(rest) = line.strip_prefix("enum ") {
                let name = rest.trim_end_matches('{').trim().to_owned();
                schema.enums.insert(name.clone(), BTreeMap::new());
                current_enum = Some(name);
            } else if line == "}" {
                current_enum = None;
            } else if let Some(rest) = line.strip_prefix("reserved ") {
                for item in rest.trim_end_matches(';').split(',').map(str::trim) {
                    if let Some(name) = item.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
                        schema.reserved_names.push(name.to_owned());
                    } else {
                        schema.reserved_numbers.push(
                            item.parse()
                                .map_err(|_| error("a reserved number is not a number"))?,
                        );
                    }
                }
            } else if let Some(enum_name) = &current_enum {
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
                let (declaration, number) = line
                    .trim_end_matches(';')
                    .split_once(" = ")
                    .ok_or_else(|| error("expected `[label] type name = N;`"))?;
                let words: Vec<&str> = declaration.split_whitespace().collect();
                let (label, ty, name) = match words.as_slice() {
                    [ty, name] => ("", *ty, *name),
                    [label, ty, name] => (*label, *ty, *name),
                    _ => return Err(error("expected `[label] type name = N;`")),
                };
                schema.fields.push(ParsedField {
                    label: label.to_owned(),
                    ty: ty.to_owned(),
                    name: name.to_owned(),
                    number: number
                        .parse()
                        .map_err(|_| error("a field number is not a number"))?,
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
        if field.label.is_empty() {
            field.ty.clone()
        } else {
            format!("{} {}", field.label, field.ty)
        }
    }
}
