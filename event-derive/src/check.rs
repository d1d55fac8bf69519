//! Phase 2, check: every rule that can be decided from the source, each mistake reported
//! at its tokens and all of them at once. What passes is a model `expand_*` can trust.
//!
//! Rules that depend on other types (a tag type's cardinality, whether a field type can be
//! encoded) are left to the compiler through trait bounds in the generated code, with
//! `#[diagnostic::on_unimplemented]` messages in the runtime.

use std::collections::HashMap;

use event_names::{
    check_metric_name, check_package, check_tag_key, check_tag_value, check_topic,
    is_reserved_tag_key, snake_case, DEFAULT_PACKAGE,
};
use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens as _};
use syn::spanned::Spanned as _;
use syn::{Ident, Type};

use crate::ast::{EventInput, TagInput};
use crate::attr::{ContainerAttrs, MetricKind, Spanned};
use crate::crate_package::crate_package;
use crate::errors::Errors;

/// Protobuf's largest field number.
const MAX_FIELD_NUMBER: u32 = (1 << 29) - 1;
/// Field numbers protobuf reserves for its own implementation.
const RESERVED_FIELD_NUMBERS: std::ops::RangeInclusive<u32> = 19_000..=19_999;

/// Gives fields their protobuf numbers, in declaration order unless pinned, skipping the
/// reserved ones, and reports numbers and names that are used twice or reserved.
pub struct Numbering {
    previous: u32,
    used: HashMap<u32, String>,
    pub reserved_numbers: Vec<u32>,
    pub reserved_names: Vec<String>,
}

impl Numbering {
    pub fn new(attrs: &ContainerAttrs, errors: &mut Errors) -> Self {
        for number in &attrs.reserved_numbers {
            if number.value == 0 || number.value > MAX_FIELD_NUMBER {
                errors.at_span(
                    number.span,
                    "a reserved field number is from 1 to 536870911",
                );
            }
        }
        Numbering {
            previous: 0,
            used: HashMap::new(),
            reserved_numbers: attrs.reserved_numbers.iter().map(|n| n.value).collect(),
            reserved_names: attrs
                .reserved_names
                .iter()
                .map(|n| n.value.clone())
                .collect(),
        }
    }

    /// The number of the next field, `name`, declared at `ident`.
    pub fn assign(
        &mut self,
        name: &str,
        ident: &Ident,
        id: Option<&Spanned<u32>>,
        errors: &mut Errors,
    ) -> u32 {
        let number = match id {
            Some(id) => {
                if id.value == 0
                    || id.value > MAX_FIELD_NUMBER
                    || RESERVED_FIELD_NUMBERS.contains(&id.value)
                {
                    errors.at_span(
                        id.span,
                        format!("`id = {}` is not a usable protobuf field number: use 1 to 536870911, except 19000 to 19999", id.value),
                    );
                }
                id.value
            }
            // Skip reserved numbers, so that removing and reserving a field does not
            // renumber the fields after it.
            None => {
                let mut next = self.previous.saturating_add(1);
                while self.reserved_numbers.contains(&next) {
                    next = next.saturating_add(1);
                }
                next
            }
        };
        let span = id.map_or(ident.span(), |id| id.span);
        if self.reserved_numbers.contains(&number) {
            errors.at_span(span, format!("`{name}` uses field number {number}, which is reserved: a removed field had it, and old records would be misread; pick another number"));
        }
        if self.reserved_names.iter().any(|reserved| reserved == name) {
            errors.at(
                ident,
                format!(
                    "`{name}` is a reserved field name: a removed field had it; pick another name"
                ),
            );
        }
        if let Some(first) = self.used.get(&number) {
            errors.at_span(
                span,
                format!("protobuf field number {number} is already used by `{first}`; pin distinct numbers with `#[event(id = N)]`"),
            );
        } else {
            self.used.insert(number, name.to_owned());
        }
        self.previous = number;
        number
    }
}

/// A checked event.
pub struct Event<'a> {
    pub ident: &'a Ident,
    /// Lifetimes only.
    pub generics: &'a syn::Generics,
    pub name: String,
    pub topic: String,
    /// The protobuf package of the event's message.
    pub package: String,
    /// The crate's manifest, where the default package is read: the derived code makes
    /// rustc watch it, so changing the default rebuilds the events.
    pub manifest: Option<std::path::PathBuf>,
    pub max_series: u64,
    /// Where a budget error points: `max_series` if given, else the struct name.
    pub budget_span: Span,
    pub sample_rate: f64,
    pub fields: Vec<Field<'a>>,
    pub reserved_numbers: Vec<u32>,
    pub reserved_names: Vec<String>,
}

/// A checked field.
pub struct Field<'a> {
    pub ident: &'a Ident,
    pub ty: &'a Type,
    /// The field name without `r#`: the protobuf field name.
    pub name: String,
    pub number: u32,
    pub is_key: bool,
    pub tag: Option<TagRole>,
    pub metric: Option<MetricRole>,
}

/// The field is a DogStatsD tag.
pub struct TagRole {
    pub key: String,
    pub span: Span,
}

/// The field is a DogStatsD value metric.
pub struct MetricRole {
    pub kind: MetricKind,
    pub name: String,
    pub span: Span,
}

/// A checked Tag enum.
pub struct TagEnum<'a> {
    pub ident: &'a Ident,
    pub variants: Vec<(&'a Ident, String)>,
}

/// The last path segment of a type, e.g. `String` for `std::string::String`, or `&str`.
pub fn type_name(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(path) if path.qself.is_none() => {
            path.path.segments.last().map(|s| s.ident.to_string())
        }
        Type::Reference(reference) => type_name(&reference.elem).map(|inner| format!("&{inner}")),
        Type::Group(group) => type_name(&group.elem),
        _ => None,
    }
}

/// The first type argument of a path type: `T` of `Vec<T>`.
fn first_type_argument(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else {
        return None;
    };
    let syn::PathArguments::AngleBracketed(arguments) = &path.path.segments.last()?.arguments
    else {
        return None;
    };
    arguments.args.iter().find_map(|argument| match argument {
        syn::GenericArgument::Type(ty) => Some(ty),
        _ => None,
    })
}

/// Types that can never be tags, caught here so the error can name the field.
fn unbounded_reason(type_name: &str) -> Option<&'static str> {
    Some(match type_name {
        "String" | "str" | "&str" | "Cow" | "char" => "text can hold any value",
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "i8" | "i16" | "i32" | "i64" | "i128"
        | "isize" => "a number can take millions of values",
        "f32" | "f64" => "a float can take countless values",
        "Uuid" | "Ulid" => "an id is unique per entity",
        "Vec" | "HashSet" | "BTreeSet" | "HashMap" => "a collection is not a single value",
        "SystemTime" | "Instant" | "Duration" => "a time can take countless values",
        _ => return None,
    })
}

/// Rust types with no protobuf encoding, caught here so that the error names a
/// replacement (the trait's message cannot say one per type) and is the field's only one.
pub fn refuse_unsupported(ty: &Type, field_name: &str, errors: &mut Errors) -> bool {
    let Some(name) = type_name(ty) else {
        return false;
    };
    if name == "Vec" {
        let element = first_type_argument(ty).and_then(type_name);
        if let Some(inner @ ("HashMap" | "BTreeMap" | "Option" | "Vec")) = element.as_deref() {
            if inner != "Vec"
                || first_type_argument(ty)
                    .and_then(first_type_argument)
                    .and_then(type_name)
                    .as_deref()
                    != Some("u8")
            {
                errors.at(ty, format!("`{field_name}` cannot be a payload field: protobuf has no list of `{inner}`s\nhelp: put the inner value in a `#[derive(Message)]` struct, e.g. `struct Entry {{ values: {inner}<..> }}`, and use a `Vec` of that"));
                return true;
            }
        }
        return false;
    }
    let help = match name.as_str() {
        "u128" | "i128" => "protobuf has no 128-bit integer: carry it as a `String` of its digits, or as two `u64` fields (high and low)",
        "usize" | "isize" => "its width depends on the platform: use `u64` or `i64`",
        "char" => "use a `String`, or a `u32` holding the code point",
        "HashSet" | "BTreeSet" => "protobuf has no set: use a `Vec<T>`, or a map to `bool`",
        "Rc" | "Arc" => "an event is encoded by value: use the inner type, or `Box<T>` for a recursive message",
        _ => return false,
    };
    errors.at(ty, format!("`{field_name}` cannot be a payload field: `{name}` has no protobuf encoding\nhelp: {help}"));
    true
}

/// Types that can never carry a value metric, caught here to point at the attribute.
fn is_non_numeric(type_name: &str) -> bool {
    matches!(
        type_name,
        "String" | "str" | "&str" | "bool" | "char" | "Vec" | "SystemTime" | "Cow"
    )
}

pub fn check_event(input: EventInput<'_>) -> syn::Result<Event<'_>> {
    let EventInput {
        ident,
        input: derive_input,
        attrs,
        fields,
        mut errors,
    } = input;

    crate::generics::refuse_non_lifetimes(&derive_input.generics, "an event", &mut errors);

    let topic = match &attrs.topic {
        Some(topic) => {
            if let Err(reason) = check_topic(&topic.value) {
                errors.at_span(
                    topic.span,
                    format!("invalid Kafka topic {:?}: {reason}", topic.value),
                );
            }
            topic.value.clone()
        }
        None => {
            errors.at(
                ident,
                format!(
                    "`{ident}` needs a Kafka topic: add `#[event(topic = \"...\")]` to the struct"
                ),
            );
            String::new()
        }
    };

    let crate_default = crate_package();
    let package = match (&attrs.package, &crate_default.package) {
        (Some(package), _) => {
            if let Err(reason) = check_package(&package.value) {
                errors.at_span(
                    package.span,
                    format!("invalid protobuf package {:?}: {reason}", package.value),
                );
            }
            package.value.clone()
        }
        (None, Ok(Some(package))) => {
            if let Err(reason) = check_package(package) {
                errors.at(
                    ident,
                    format!(
                        "invalid protobuf package {package:?} in `[package.metadata.events] \
                         package` of this crate's Cargo.toml: {reason}"
                    ),
                );
            }
            package.clone()
        }
        (None, Ok(None)) => DEFAULT_PACKAGE.to_owned(),
        (None, Err(why)) => {
            errors.at(ident, why.clone());
            DEFAULT_PACKAGE.to_owned()
        }
    };

    let name = match &attrs.name {
        Some(name) => name.value.clone(),
        None => snake_case(&ident.to_string()),
    };
    // Value metric names extend the event name; they are checked only once it is valid.
    let name_is_valid = match check_metric_name(&name) {
        Ok(()) => true,
        Err(reason) => {
            let span = attrs.name.as_ref().map_or(ident.span(), |n| n.span);
            errors.at_span(span, format!("invalid event name {name:?}: {reason}"));
            false
        }
    };

    let mut checked = Vec::with_capacity(fields.len());
    let mut key_field: Option<&Ident> = None;
    let mut tag_keys: HashMap<String, &Ident> = HashMap::new();
    let mut numbering = Numbering::new(&attrs, &mut errors);

    for field in fields {
        let field_name = field.ident.to_string().trim_start_matches("r#").to_owned();
        let ty_name = type_name(field.ty);
        let attrs = field.attrs;
        // A tag of such a type has the tag error instead: one error per field.
        let tagged_unbounded =
            attrs.tag.is_some() && ty_name.as_deref().and_then(unbounded_reason).is_some();
        if !tagged_unbounded {
            refuse_unsupported(field.ty, &field_name, &mut errors);
        }

        if let Some(key_span) = attrs.key {
            if let Some(first) = key_field {
                errors.at_span(
                    key_span,
                    format!("only one field can be the Kafka key, and the field `{first}` already is; remove one `#[event(key)]`"),
                );
            } else {
                key_field = Some(field.ident);
            }
        }

        let tag = attrs.tag.and_then(|tag| {
            if attrs.key.is_some() {
                errors.at_span(
                    tag.span,
                    format!("`{field_name}` cannot be both the Kafka `key` and a `tag`: a key identifies one entity, while a tag must have few distinct values"),
                );
                return None;
            }
            if let Some(reason) = ty_name.as_deref().and_then(unbounded_reason) {
                let ty = ty_name.as_deref().unwrap_or_default();
                errors.at(
                    field.ty,
                    format!(
                        "`{field_name}` cannot be a metric tag: its type is `{ty}`, and {reason}, so it would create a DogStatsD series per value\n\
                         help: remove `#[event(tag)]` to keep `{field_name}` in the Kafka payload only, or use a `#[derive(Tag)]` enum, `bool` or `Option<T: Tag>`"
                    ),
                );
            }
            let key = tag.value.unwrap_or_else(|| field_name.clone());
            if let Err(reason) = check_tag_key(&key) {
                errors.at_span(tag.span, format!("invalid tag key {key:?}: {reason}; rename it with `#[event(tag = \"...\")]`"));
            } else if is_reserved_tag_key(&key) {
                errors.at_span(
                    tag.span,
                    format!("`{key}` is a reserved tag key: the Datadog agent gives it its own meaning; set it once for the process with `.constant_tag(\"{key}\", ...)` on the dispatcher, or rename this tag with `#[event(tag = \"...\")]`"),
                );
            } else if let Some(first) = tag_keys.get(&key) {
                errors.at_span(tag.span, format!("tag key `{key}` is already used by the field `{first}`; rename one with `#[event(tag = \"...\")]`"));
            } else {
                tag_keys.insert(key.clone(), field.ident);
            }
            Some(TagRole { key, span: tag.span })
        });

        let metric = attrs.metric.and_then(|metric| {
            if attrs.key.is_some() || tag.is_some() {
                let role = if attrs.key.is_some() { "the Kafka `key`" } else { "a `tag`" };
                errors.at_span(
                    metric.span,
                    format!("`{field_name}` cannot be both {role} and a `metric`: a metric's value is a number, not an identity or a label"),
                );
                return None;
            }
            if let Some(ty) = ty_name.as_deref().filter(|ty| is_non_numeric(ty)) {
                errors.at_span(
                    metric.span,
                    format!("`metric` needs a numeric or `Duration` field, but `{field_name}` is `{ty}`"),
                );
            }
            let metric_name = format!("{name}.{field_name}");
            // An invalid event name was reported already; one bad name is one error.
            if name_is_valid {
                if let Err(reason) = check_metric_name(&metric_name) {
                    errors.at_span(metric.span, format!("the metric name {metric_name:?} is invalid: {reason}"));
                }
            }
            Some(MetricRole { kind: metric.value, name: metric_name, span: metric.span })
        });

        let number = numbering.assign(&field_name, field.ident, attrs.id.as_ref(), &mut errors);

        checked.push(Field {
            ident: field.ident,
            ty: field.ty,
            name: field_name,
            number,
            is_key: attrs.key.is_some(),
            tag,
            metric,
        });
    }

    let event = Event {
        ident,
        generics: &derive_input.generics,
        name,
        topic,
        package,
        manifest: crate_default.manifest,
        max_series: attrs.max_series.as_ref().map_or(1000, |m| m.value),
        budget_span: attrs.max_series.as_ref().map_or(ident.span(), |m| m.span),
        sample_rate: attrs.sample_rate.as_ref().map_or(1.0, |r| r.value),
        fields: checked,
        reserved_numbers: numbering.reserved_numbers,
        reserved_names: numbering.reserved_names,
    };
    errors.finish(event)
}

pub fn check_tag(input: TagInput<'_>) -> syn::Result<TagEnum<'_>> {
    let TagInput {
        ident,
        input: derive_input,
        variants,
        mut errors,
    } = input;

    if !derive_input.generics.params.is_empty() {
        errors.at(
            &derive_input.generics,
            "a Tag enum cannot be generic: its values must be fixed at compile time",
        );
    }
    if variants.is_empty() {
        errors.at(
            ident,
            format!("`{ident}` has no variants, so it has no tag values; add at least one"),
        );
    }

    let mut values: HashMap<String, &Ident> = HashMap::new();
    let mut proto_idents: HashMap<String, &Ident> = HashMap::new();
    let mut checked = Vec::with_capacity(variants.len());
    for variant in variants {
        if !variant.fields.is_empty() {
            errors.at(
                variant.fields,
                format!("a Tag variant cannot carry data: `{}` would make the tag's values unbounded; use a unit variant, or derive `Message` instead of `Tag` to send the enum to Kafka as a oneof", variant.ident),
            );
        }
        let (value, span) = match variant.attrs.rename {
            Some(rename) => (rename.value, rename.span),
            None => (snake_case(&variant.ident.to_string()), variant.ident.span()),
        };
        if let Err(reason) = check_tag_value(&value) {
            errors.at_span(span, format!("invalid tag value {value:?}: {reason}; set one with `#[tag(rename = \"...\")]`"));
        }
        let proto_ident = value
            .to_ascii_uppercase()
            .replace(|c: char| !c.is_ascii_alphanumeric(), "_");
        if let Some(first) = values.get(&value) {
            errors.at_span(span, format!("tag value {value:?} is already used by the variant `{first}`; rename one with `#[tag(rename = \"...\")]`"));
        } else if let Some(first) = proto_idents.get(&proto_ident) {
            errors.at_span(
                span,
                format!("tag value {value:?} and the value of the variant `{first}` become the same protobuf enum value `{proto_ident}`; rename one with `#[tag(rename = \"...\")]`"),
            );
        } else {
            values.insert(value.clone(), variant.ident);
            proto_idents.insert(proto_ident, variant.ident);
        }
        checked.push((variant.ident, value));
    }
    errors.finish(TagEnum {
        ident,
        variants: checked,
    })
}

/// Where generated code about a type should point: at the type, but resolving names with
/// the derive's own hygiene, so that `self` and local names in that code still work when
/// the struct itself comes from a `macro_rules!` expansion.
pub fn type_span(ty: &Type) -> Span {
    at(ty.span())
}

/// `<<ty as ProtoField>::Decoder as FieldDecoder<'de, ty>>::item`, the path to a field
/// decoder's item, spanned so that the whole path covers exactly the type as written.
///
/// An unsatisfied bound of the type's `ProtoField` impl (a map's key that is no `MapKey`)
/// is then reported at the same span as on the encode side, and rustc reports it once.
/// Spanned at the derive ([`type_span`]), the path would cover only the type's first token
/// and the same error would be reported a second time there.
pub fn decoder_item(ty: &Type, item: &str) -> TokenStream {
    let mut tokens = ty.to_token_stream().into_iter();
    let first = tokens.next().map_or_else(Span::call_site, |t| t.span());
    let last = tokens.last().map_or(first, |t| t.span());
    let de = crate::generics::decode_lifetime();
    let item = Ident::new(item, last);
    // Two separate `<`: a joint `<<` is one token to rustc, and its second half would
    // start one column into the type.
    let open = quote_spanned!(first=> < <);
    let rest = quote_spanned! {last=>
        as ::event_runtime::__private::ProtoField>::Decoder
            as ::event_runtime::__private::FieldDecoder<#de, #ty>>::#item
    };
    quote!(#open #ty #rest)
}

/// `span`'s location with the derive's hygiene (see [`type_span`]).
pub fn at(span: Span) -> Span {
    Span::call_site().located_at(span)
}
