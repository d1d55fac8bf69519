//! The compatibility rules between a committed snapshot and the current definition.

use std::fmt;

use super::read::{ParsedMessage, ParsedSchema, SchemaParseError};

/// One change that would break consumers of the topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    /// A field kept its name but changed its number.
    Renumbered {
        /// The field.
        field: String,
        /// Its number in the snapshot.
        old: u32,
        /// Its number now.
        new: u32,
    },
    /// A field kept its number but changed its type or label.
    Retyped {
        /// The field.
        field: String,
        /// Its type in the snapshot.
        old: String,
        /// Its type now.
        new: String,
    },
    /// A field number is now used under another name.
    Renamed {
        /// The field number.
        number: u32,
        /// The name in the snapshot.
        old: String,
        /// The name now.
        new: String,
    },
    /// A field was removed, but its number or name is not reserved.
    RemovedWithoutReservation {
        /// The field.
        field: String,
        /// Its number.
        number: u32,
    },
    /// A field was removed without being reserved, and automatic numbering moved the
    /// fields after it down into its number.
    RemovedAndShifted {
        /// The removed field.
        field: String,
        /// Its number.
        number: u32,
        /// The fields that moved, with their numbers in the snapshot and now.
        shifted: Vec<(String, u32, u32)>,
    },
    /// A field now uses a number or name the snapshot reserved.
    ReusedReserved {
        /// The field.
        field: String,
        /// Its number.
        number: u32,
    },
    /// A field moved into a `oneof`, out of one, or to another: old readers would keep two
    /// members set, or none.
    OneofChanged {
        /// The field.
        field: String,
        /// Its `oneof` in the snapshot, if any.
        old: Option<String>,
        /// Its `oneof` now, if any.
        new: Option<String>,
    },
    /// The message moved to another topic.
    TopicChanged {
        /// The topic in the snapshot.
        old: String,
        /// The topic now.
        new: String,
    },
    /// A value of a Tag enum was removed.
    EnumValueRemoved {
        /// The enum.
        r#enum: String,
        /// The value identifier, e.g. `MARKET_IT`.
        value: String,
    },
    /// A value of a Tag enum changed its number (it moved in the Rust enum).
    EnumValueRenumbered {
        /// The enum.
        r#enum: String,
        /// The value identifier.
        value: String,
        /// Its number in the snapshot.
        old: i32,
        /// Its number now.
        new: i32,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::Renumbered { field, old, new } => write!(
                f,
                "field `{field}` was renumbered from {old} to {new}: pin it back with `#[event(id = {old})]`"
            ),
            Violation::Retyped { field, old, new } => write!(
                f,
                "field `{field}` changed type from `{old}` to `{new}`: add a new field with a new number instead, and reserve this one"
            ),
            Violation::Renamed { number, old, new } => write!(
                f,
                "field number {number} was renamed from `{old}` to `{new}`: keep the name, or reserve {number} and \"{old}\" and add `{new}` with a new number"
            ),
            Violation::RemovedWithoutReservation { field, number } => write!(
                f,
                "field `{field}` ({number}) was removed without being reserved: add `#[event(reserved({number}, \"{field}\"))]` to the struct"
            ),
            Violation::RemovedAndShifted {
                field,
                number,
                shifted,
            } => {
                write!(
                    f,
                    "field `{field}` ({number}) was removed without being reserved, so automatic numbering moved the fields after it ("
                )?;
                for (i, (name, old, new)) in shifted.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}`{name}` {old} -> {new}")?;
                }
                write!(
                    f,
                    "): add `#[event(reserved({number}, \"{field}\"))]` to the struct, which also puts them back"
                )
            }
            Violation::ReusedReserved { field, number } => write!(
                f,
                "field `{field}` ({number}) reuses a reserved name or number: old consumers would misread it; pick a new name and number"
            ),
            Violation::OneofChanged { field, old, new } => {
                let place = |oneof: &Option<String>| match oneof {
                    Some(name) => format!("in oneof `{name}`"),
                    None => "outside any oneof".to_owned(),
                };
                write!(
                    f,
                    "field `{field}` moved from {} to {}: readers of the snapshot would misread which member is set; add a new field instead, and reserve this one",
                    place(old),
                    place(new)
                )
            }
            Violation::TopicChanged { old, new } => write!(
                f,
                "the topic changed from `{old}` to `{new}`: a message is tied to one topic; define a new event for the new topic"
            ),
            Violation::EnumValueRemoved { r#enum, value } => write!(
                f,
                "enum `{enum}` lost its value `{value}`: old records carrying it would no longer decode; keep the variant",
                r#enum = r#enum
            ),
            Violation::EnumValueRenumbered { r#enum, value, old, new } => write!(
                f,
                "enum `{enum}` value `{value}` moved from {old} to {new}: protobuf numbers follow declaration order, so add new variants at the end",
                r#enum = r#enum
            ),
        }
    }
}

/// Compares the snapshot `old` with the current `new` `.proto` text of one event.
/// `Ok(())` when every consumer of `old` can read what `new` writes.
pub fn check_compatible(old: &str, new: &str) -> Result<Vec<Violation>, SchemaParseError> {
    let (old, new) = (ParsedSchema::parse(old)?, ParsedSchema::parse(new)?);
    Ok(violations(&old, &new))
}

/// The rules between two read schemas. A snapshot whose file names no topic (one this
/// crate did not write) has no topic to keep.
pub(crate) fn violations(old: &ParsedSchema, new: &ParsedSchema) -> Vec<Violation> {
    let mut found = Vec::new();
    if !old.topic.is_empty() && old.topic != new.topic {
        found.push(Violation::TopicChanged {
            old: old.topic.clone(),
            new: new.topic.clone(),
        });
    }
    // A nested message the event no longer uses has no readers to break.
    for (path, was) in &old.messages {
        if let Some(is) = new.messages.get(path) {
            // The event's own fields by their names; a nested message's as `Address.street`.
            let prefix = path
                .strip_prefix(old.message.as_str())
                .and_then(|rest| rest.strip_prefix('.'))
                .map(|rest| format!("{rest}."))
                .unwrap_or_default();
            message_violations(&prefix, was, is, &mut found);
        }
    }
    for (name, values) in &old.enums {
        let Some(now) = new.enums.get(name) else {
            continue;
        };
        for (value, number) in values {
            match now.get(value) {
                None => found.push(Violation::EnumValueRemoved {
                    r#enum: name.clone(),
                    value: value.clone(),
                }),
                Some(n) if n != number => found.push(Violation::EnumValueRenumbered {
                    r#enum: name.clone(),
                    value: value.clone(),
                    old: *number,
                    new: *n,
                }),
                Some(_) => {}
            }
        }
    }
    found
}

/// The field rules within one message; `prefix` names nested messages' fields.
fn message_violations(
    prefix: &str,
    old: &ParsedMessage,
    new: &ParsedMessage,
    found: &mut Vec<Violation>,
) {
    let named = |name: &str| format!("{prefix}{name}");
    // Fields kept by name under another number. When a removed field's number went to one
    // of them, automatic numbering shifted the fields after the removal: one mistake, said
    // once, rather than a rename and a renumbering each.
    let moved: Vec<(&str, u32, u32)> = old
        .fields
        .iter()
        .filter_map(|field| {
            let now = new.fields.iter().find(|f| f.name == field.name)?;
            (now.number != field.number).then_some((field.name.as_str(), field.number, now.number))
        })
        .collect();
    let shifted_names = |number: u32| {
        moved
            .iter()
            .filter(move |(_, was, _)| *was > number)
            .map(|(name, _, _)| *name)
    };
    let mut explained: Vec<&str> = Vec::new();
    for field in &old.fields {
        if new.fields.iter().any(|f| f.name == field.name) {
            continue;
        }
        let taken_by_moved = moved.iter().any(|(_, _, now)| *now == field.number);
        if taken_by_moved {
            let shifted: Vec<(String, u32, u32)> = moved
                .iter()
                .filter(|(_, was, _)| *was > field.number)
                .map(|(name, was, now)| (named(name), *was, *now))
                .collect();
            explained.extend(shifted_names(field.number));
            found.push(if shifted.is_empty() {
                Violation::RemovedWithoutReservation {
                    field: named(&field.name),
                    number: field.number,
                }
            } else {
                Violation::RemovedAndShifted {
                    field: named(&field.name),
                    number: field.number,
                    shifted,
                }
            });
        }
    }
    for field in &old.fields {
        let by_name = new.fields.iter().find(|f| f.name == field.name);
        let by_number = new.fields.iter().find(|f| f.number == field.number);
        match (by_name, by_number) {
            (Some(same), _) if same.number != field.number => {
                if !explained.contains(&field.name.as_str()) {
                    found.push(Violation::Renumbered {
                        field: named(&field.name),
                        old: field.number,
                        new: same.number,
                    });
                }
            }
            (Some(same), _) => {
                let (was, is) = (
                    ParsedSchema::full_type(field),
                    ParsedSchema::full_type(same),
                );
                if was != is {
                    found.push(Violation::Retyped {
                        field: named(&field.name),
                        old: was,
                        new: is,
                    });
                } else if field.oneof != same.oneof {
                    found.push(Violation::OneofChanged {
                        field: named(&field.name),
                        old: field.oneof.clone(),
                        new: same.oneof.clone(),
                    });
                }
            }
            // Said above, as a removal that shifted the fields after it.
            (None, Some(other)) if old.fields.iter().any(|f| f.name == other.name) => {}
            (None, Some(other)) => found.push(Violation::Renamed {
                number: field.number,
                old: named(&field.name),
                new: named(&other.name),
            }),
            (None, None) => {
                let reserved = new.reserved_numbers.contains(&field.number)
                    && new.reserved_names.contains(&field.name);
                if !reserved {
                    found.push(Violation::RemovedWithoutReservation {
                        field: named(&field.name),
                        number: field.number,
                    });
                }
            }
        }
    }
    for field in &new.fields {
        if old.reserved_numbers.contains(&field.number) || old.reserved_names.contains(&field.name)
        {
            found.push(Violation::ReusedReserved {
                field: named(&field.name),
                number: field.number,
            });
        }
    }
}
