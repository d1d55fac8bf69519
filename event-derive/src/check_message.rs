//! Phase 2 for `#[derive(Message)]`: the rules of a nested message, a oneof enum and a
//! newtype. Fields are numbered as an event's are; the event-only roles (`key`, `tag`,
//! `metric`) and container attributes are refused at the attribute.

use event_names::snake_case;
use syn::{Ident, Type};

use crate::ast::{EventField, MessageInput, MessageShape, VariantShape};
use crate::attr::{ContainerAttrs, FieldAttrs};
use crate::check::{refuse_unsupported, type_name, Field, Numbering};
use crate::errors::Errors;

/// A checked `Message` type.
pub struct Message<'a> {
    pub ident: &'a Ident,
    /// Lifetimes only.
    pub generics: &'a syn::Generics,
    pub shape: Shape<'a>,
    pub reserved_numbers: Vec<u32>,
    pub reserved_names: Vec<String>,
}

/// What a checked `Message` type is.
pub enum Shape<'a> {
    Struct(Vec<Field<'a>>),
    Newtype(&'a Type),
    Oneof(Vec<Variant<'a>>),
}

/// One member of a oneof.
pub struct Variant<'a> {
    pub ident: &'a Ident,
    /// The member's field name: the snake_case variant name.
    pub name: String,
    pub number: u32,
    pub member: Member<'a>,
}

/// What a oneof member holds.
pub enum Member<'a> {
    Unit,
    Single(&'a Type),
    /// A struct variant's fields, a nested message of its own.
    Struct(Vec<Field<'a>>),
}

/// Refuses what only an event's own fields can be.
fn refuse_event_roles(attrs: &FieldAttrs, errors: &mut Errors) {
    let why = "only an event's own fields become metrics; a nested message goes to Kafka only";
    if let Some(span) = attrs.key {
        errors.at_span(span, "`key` belongs on a field of the event itself: the Kafka key is read from the event, not from a message nested in it");
    }
    if let Some(tag) = &attrs.tag {
        errors.at_span(tag.span, format!("`tag` cannot be used inside a `#[derive(Message)]` type: {why}; move the field to the event to tag by it"));
    }
    if let Some(metric) = &attrs.metric {
        errors.at_span(metric.span, format!("`metric` cannot be used inside a `#[derive(Message)]` type: {why}; move the field to the event to measure it"));
    }
}

fn refuse_event_container(attrs: &ContainerAttrs, errors: &mut Errors) {
    let spans = [
        attrs.name.as_ref().map(|a| ("name", a.span)),
        attrs.topic.as_ref().map(|a| ("topic", a.span)),
        attrs.package.as_ref().map(|a| ("package", a.span)),
        attrs.max_series.as_ref().map(|a| ("max_series", a.span)),
        attrs.sample_rate.as_ref().map(|a| ("sample_rate", a.span)),
    ];
    for (key, span) in spans.into_iter().flatten() {
        errors.at_span(span, format!("`{key}` belongs on an event; a `#[derive(Message)]` type takes only `reserved(...)`, and `id = N` on its fields"));
    }
}

fn check_fields<'a>(
    fields: Vec<EventField<'a>>,
    numbering: &mut Numbering,
    errors: &mut Errors,
) -> Vec<Field<'a>> {
    fields
        .into_iter()
        .map(|field| {
            refuse_event_roles(&field.attrs, errors);
            let name = field.ident.to_string().trim_start_matches("r#").to_owned();
            refuse_unsupported(field.ty, &name, errors);
            let number = numbering.assign(&name, field.ident, field.attrs.id.as_ref(), errors);
            Field {
                ident: field.ident,
                ty: field.ty,
                name,
                number,
                is_key: false,
                tag: None,
                metric: None,
            }
        })
        .collect()
}

pub fn check_message(input: MessageInput<'_>) -> syn::Result<Message<'_>> {
    let MessageInput {
        ident,
        input: derive_input,
        attrs,
        shape,
        mut errors,
    } = input;
    crate::generics::refuse_non_lifetimes(
        &derive_input.generics,
        "a `#[derive(Message)]` type",
        &mut errors,
    );
    refuse_event_container(&attrs, &mut errors);
    let mut numbering = Numbering::new(&attrs, &mut errors);
    let shape = match shape {
        MessageShape::Struct(fields) => {
            Shape::Struct(check_fields(fields, &mut numbering, &mut errors))
        }
        MessageShape::Newtype(ty) => {
            if !attrs.reserved_numbers.is_empty() || !attrs.reserved_names.is_empty() {
                errors.at(ident, "a newtype is encoded as its inner value and has no fields to reserve; remove `reserved(...)`");
            }
            Shape::Newtype(ty)
        }
        MessageShape::Oneof(variants) => {
            if variants.is_empty() {
                errors.at(ident, format!("`{ident}` has no variants, so a value of it could hold nothing; add at least one"));
            }
            let variants = variants
                .into_iter()
                .map(|variant| {
                    refuse_event_roles(&variant.attrs, &mut errors);
                    let name = snake_case(&variant.ident.to_string());
                    let number = numbering.assign(&name, variant.ident, variant.attrs.id.as_ref(), &mut errors);
                    let member = match variant.shape {
                        VariantShape::Unit => Member::Unit,
                        VariantShape::Single(ty) => {
                            if let Some(outer) = type_name(ty).filter(|n| matches!(n.as_str(), "Vec" | "Option" | "HashMap" | "BTreeMap")) {
                                errors.at(ty, format!("a oneof member holds exactly one value, so it cannot be a `{outer}`; use a struct variant, e.g. `{}{{ items: {outer}<...> }}`", variant.ident));
                            }
                            Member::Single(ty)
                        }
                        VariantShape::Struct(fields) => {
                            // A struct variant's fields are numbered within its own message.
                            let mut inner = Numbering::new(&ContainerAttrs::default(), &mut errors);
                            Member::Struct(check_fields(fields, &mut inner, &mut errors))
                        }
                        VariantShape::Tuple(fields) => {
                            errors.at(fields, format!("a oneof member holds one value, but `{}` has several; name them in a struct variant: `{} {{ a: A, b: B }}`", variant.ident, variant.ident));
                            Member::Unit
                        }
                    };
                    Variant { ident: variant.ident, name, number, member }
                })
                .collect();
            Shape::Oneof(variants)
        }
    };
    errors.finish(Message {
        ident,
        generics: &derive_input.generics,
        shape,
        reserved_numbers: numbering.reserved_numbers,
        reserved_names: numbering.reserved_names,
    })
}
