//! Reads `.proto` files into the facts the compatibility rules compare, with `protox`, a
//! protobuf compiler: imports, options, comments and the well-known types all work, in the
//! files this crate writes and in trees written elsewhere.
//!
//! An event's facts are read from its message and from every message and enum it reaches
//! through its fields, wherever they are declared: this crate nests them in the event's
//! message, a central repository may share them from another file or package. The wire
//! format does not depend on where a type is declared, so each is known by its own name
//! (`OrderPlaced.LineItem`, `Market`), and well-known types by their full names
//! (`google.protobuf.Timestamp`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use miette::Diagnostic;
use protox::file::{ChainFileResolver, File, FileResolver, GoogleFileResolver};
use protox::prost_reflect::{
    Cardinality, DescriptorPool, EnumDescriptor, FieldDescriptor, Kind, MessageDescriptor,
};

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
    /// The protobuf package of the event's message.
    pub package: String,
    /// The event's message name.
    pub message: String,
    /// The Kafka topic, from the header comment.
    pub topic: String,
    /// Every message by its path from the event's: `OrderPlaced`, `OrderPlaced.LineItem`.
    pub messages: BTreeMap<String, ParsedMessage>,
    /// Enum name -> (value identifier -> number).
    pub enums: BTreeMap<String, BTreeMap<String, i32>>,
}

/// A `.proto` file that does not compile, or holds no event message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaParseError {
    /// The 1-based line, when the compiler names one.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for SchemaParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for SchemaParseError {}

/// The name one `.proto` text is compiled under.
const FILE_NAME: &str = "event.proto";

/// Resolves in-memory files by name.
struct InMemory(Vec<(String, String)>);

impl FileResolver for InMemory {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        match self.0.iter().find(|(n, _)| n == name) {
            Some((_, text)) => File::from_source(name, text),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

/// A compiler over the `(file name, .proto text)` of `files` and the well-known types.
pub(crate) fn compiler_for(files: &[(String, String)]) -> protox::Compiler {
    let mut resolver = ChainFileResolver::new();
    resolver.add(InMemory(files.to_vec()));
    resolver.add(GoogleFileResolver::new());
    protox::Compiler::with_file_resolver(resolver)
}

pub(crate) fn compile_error(error: &protox::Error, text: Option<&str>) -> SchemaParseError {
    let line = error
        .labels()
        .and_then(|mut labels| labels.next())
        .zip(text)
        .map_or(1, |(label, text)| {
            let offset = label.offset().min(text.len());
            text[..offset].matches('\n').count() + 1
        });
    SchemaParseError {
        line,
        message: error.to_string(),
    }
}

/// The event's message in a compiled tree, by the full name of `schema`'s, with the
/// topic its file's header comment names (a file this crate did not write names none),
/// and the file that declares it.
pub(crate) fn tree_message(
    pool: &DescriptorPool,
    dir: &Path,
    schema: &ParsedSchema,
) -> Option<(ParsedSchema, std::path::PathBuf)> {
    let full_name = schema.full_name();
    let message = pool.get_message_by_name(&full_name)?;
    let path = dir.join(message.parent_file().name());
    let text = std::fs::read_to_string(&path).ok();
    Some((
        ParsedSchema::of_message(&message, text.as_deref().and_then(header_topic)),
        path,
    ))
}

/// The topic this crate writes in a file's header comment:
/// `// Event `name`, published to Kafka topic `topic`.`
fn header_topic(text: &str) -> Option<String> {
    text.lines()
        .find_map(|line| line.trim().strip_prefix("// Event `"))
        .and_then(|rest| rest.split("topic `").nth(1))
        .and_then(|topic| topic.split('`').next())
        .map(str::to_owned)
}

/// Compiles every `.proto` file under `dir` (recursively, imports resolved from `dir` and
/// the well-known types) into one pool.
pub(crate) fn compile_tree(dir: &Path) -> Result<DescriptorPool, (String, SchemaParseError)> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(at) = pending.pop() {
        let entries = std::fs::read_dir(&at).map_err(|e| {
            (
                at.display().to_string(),
                SchemaParseError {
                    line: 1,
                    message: e.to_string(),
                },
            )
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "proto") {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut resolver = ChainFileResolver::new();
    resolver.add(protox::file::IncludeFileResolver::new(dir.to_path_buf()));
    resolver.add(GoogleFileResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    for file in &files {
        let name = file.strip_prefix(dir).unwrap_or(file);
        compiler.open_file(name).map_err(|e| {
            let text = std::fs::read_to_string(file).ok();
            (
                file.display().to_string(),
                compile_error(&e, text.as_deref()),
            )
        })?;
    }
    Ok(compiler.descriptor_pool())
}

impl ParsedSchema {
    /// Reads one event's `.proto` text: its first message is the event's, and its header
    /// comment, when this crate wrote it, names the topic.
    pub fn parse(text: &str) -> Result<Self, SchemaParseError> {
        let mut compiler = compiler_for(&[(FILE_NAME.to_owned(), text.to_owned())]);
        compiler
            .open_file(FILE_NAME)
            .map_err(|e| compile_error(&e, Some(text)))?;
        let pool = compiler.descriptor_pool();
        let event = pool
            .get_file_by_name(FILE_NAME)
            .and_then(|file| file.messages().next())
            .ok_or_else(|| SchemaParseError {
                line: 1,
                message: "no `message` found".into(),
            })?;
        Ok(ParsedSchema::of_message(&event, header_topic(text)))
    }

    /// The message's full name: `events.OrderPlaced`.
    pub fn full_name(&self) -> String {
        if self.package.is_empty() {
            self.message.clone()
        } else {
            format!("{}.{}", self.package, self.message)
        }
    }

    /// Reads an event's facts from its compiled message. `topic` is the one its file
    /// names, if any.
    pub(crate) fn of_message(event: &MessageDescriptor, topic: Option<String>) -> Self {
        let mut schema = ParsedSchema {
            package: event.package_name().to_owned(),
            message: event.name().to_owned(),
            topic: topic.unwrap_or_default(),
            ..ParsedSchema::default()
        };
        let mut seen = BTreeSet::new();
        let mut pending = vec![(event.name().to_owned(), event.clone())];
        while let Some((path, message)) = pending.pop() {
            if !seen.insert(message.full_name().to_owned()) {
                continue;
            }
            let facts = schema.messages.entry(path).or_default();
            let proto = message.descriptor_proto();
            for range in &proto.reserved_range {
                facts
                    .reserved_numbers
                    .extend((range.start()..range.end()).filter_map(|n| u32::try_from(n).ok()));
            }
            facts
                .reserved_names
                .extend(proto.reserved_name.iter().cloned());
            for field in message.fields() {
                let mut reached = Vec::new();
                facts.fields.push(parsed_field(&field, &mut reached));
                for kind in reached {
                    match kind {
                        Kind::Message(m) if !is_well_known(m.full_name()) => {
                            pending.push((format!("{}.{}", event.name(), m.name()), m));
                        }
                        Kind::Enum(e) => add_enum(&mut schema.enums, &e),
                        _ => {}
                    }
                }
            }
        }
        schema
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

fn is_well_known(full_name: &str) -> bool {
    full_name.starts_with("google.protobuf.")
}

fn add_enum(enums: &mut BTreeMap<String, BTreeMap<String, i32>>, e: &EnumDescriptor) {
    enums.entry(e.name().to_owned()).or_insert_with(|| {
        e.values()
            .map(|v| (v.name().to_owned(), v.number()))
            .collect()
    });
}

/// A field type by the name the rules compare: scalars as written, well-known types by
/// their full names, the event's own messages and enums by their names.
fn type_name(kind: &Kind, reached: &mut Vec<Kind>) -> String {
    let name = match kind {
        Kind::Double => "double",
        Kind::Float => "float",
        Kind::Int32 => "int32",
        Kind::Int64 => "int64",
        Kind::Uint32 => "uint32",
        Kind::Uint64 => "uint64",
        Kind::Sint32 => "sint32",
        Kind::Sint64 => "sint64",
        Kind::Fixed32 => "fixed32",
        Kind::Fixed64 => "fixed64",
        Kind::Sfixed32 => "sfixed32",
        Kind::Sfixed64 => "sfixed64",
        Kind::Bool => "bool",
        Kind::String => "string",
        Kind::Bytes => "bytes",
        Kind::Message(m) => {
            reached.push(kind.clone());
            return if is_well_known(m.full_name()) {
                m.full_name().to_owned()
            } else {
                m.name().to_owned()
            };
        }
        Kind::Enum(e) => {
            reached.push(kind.clone());
            return e.name().to_owned();
        }
    };
    name.to_owned()
}

fn parsed_field(field: &FieldDescriptor, reached: &mut Vec<Kind>) -> ParsedField {
    let oneof = field
        .containing_oneof()
        .filter(|oneof| !oneof.is_synthetic())
        .map(|oneof| oneof.name().to_owned());
    let (label, ty) = match field.kind() {
        Kind::Message(entry) if field.is_map() => {
            let key = type_name(&entry.map_entry_key_field().kind(), reached);
            let value = type_name(&entry.map_entry_value_field().kind(), reached);
            ("map", format!("map<{key}, {value}>"))
        }
        kind => {
            let label = if field.cardinality() == Cardinality::Repeated {
                "repeated"
            } else if field.field_descriptor_proto().proto3_optional() {
                "optional"
            } else {
                ""
            };
            (label, type_name(&kind, reached))
        }
    };
    ParsedField {
        label: label.to_owned(),
        ty,
        name: field.name().to_owned(),
        number: field.number(),
        oneof,
    }
}
