//! Phase 1, parse: the `syn` input read into our own AST, borrowing from it, with the
//! attributes typed. Shape errors that leave nothing to check (an event that is not a
//! struct) stop here; attribute mistakes are carried on to `check` to be reported with
//! the rest.

use syn::{Data, DeriveInput, Fields, Ident, Type};

use crate::attr::{self, ContainerAttrs, FieldAttrs, VariantAttrs};
use crate::errors::Errors;

/// A struct deriving `Event`.
pub struct EventInput<'a> {
    pub ident: &'a Ident,
    pub input: &'a DeriveInput,
    pub attrs: ContainerAttrs,
    pub fields: Vec<EventField<'a>>,
    /// Mistakes found while parsing attributes.
    pub errors: Errors,
}

/// One named field of an event.
pub struct EventField<'a> {
    pub ident: &'a Ident,
    pub ty: &'a Type,
    pub attrs: FieldAttrs,
}

impl<'a> EventInput<'a> {
    pub fn parse(input: &'a DeriveInput) -> syn::Result<Self> {
        let fields = match &input.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => &named.named,
                Fields::Unnamed(_) | Fields::Unit => {
                    return Err(syn::Error::new_spanned(
                        &input.ident,
                        "`#[derive(Event)]` needs a struct with named fields: each field name becomes a protobuf field name and a tag key",
                    ))
                }
            },
            Data::Enum(_) | Data::Union(_) => {
                return Err(syn::Error::new_spanned(
                    &input.ident,
                    "`#[derive(Event)]` works on structs; to make an enum usable as a metric tag, derive `Tag` instead",
                ))
            }
        };
        let mut errors = Errors::default();
        let attrs = attr::container(&input.attrs, &mut errors);
        let fields = fields
            .iter()
            .map(|field| EventField {
                // Named fields always have an ident.
                ident: field.ident.as_ref().unwrap_or(&input.ident),
                ty: &field.ty,
                attrs: attr::field(&field.attrs, &mut errors),
            })
            .collect();
        Ok(EventInput {
            ident: &input.ident,
            input,
            attrs,
            fields,
            errors,
        })
    }
}

/// An enum deriving `Tag`.
pub struct TagInput<'a> {
    pub ident: &'a Ident,
    pub input: &'a DeriveInput,
    pub variants: Vec<TagVariant<'a>>,
    pub errors: Errors,
}

/// One variant of a Tag enum.
pub struct TagVariant<'a> {
    pub ident: &'a Ident,
    pub fields: &'a Fields,
    pub attrs: VariantAttrs,
}

impl<'a> TagInput<'a> {
    pub fn parse(input: &'a DeriveInput) -> syn::Result<Self> {
        let Data::Enum(data) = &input.data else {
            return Err(syn::Error::new_spanned(
                &input.ident,
                "`#[derive(Tag)]` works on enums whose variants carry no data, e.g. `enum Market { Uk, Fr }`",
            ));
        };
        let mut errors = Errors::default();
        let variants = data
            .variants
            .iter()
            .map(|variant| TagVariant {
                ident: &variant.ident,
                fields: &variant.fields,
                attrs: attr::variant(&variant.attrs, &mut errors),
            })
            .collect();
        Ok(TagInput {
            ident: &input.ident,
            input,
            variants,
            errors,
        })
    }
}

/// A type deriving `Message`.
pub struct MessageInput<'a> {
    pub ident: &'a Ident,
    pub input: &'a DeriveInput,
    pub attrs: ContainerAttrs,
    pub shape: MessageShape<'a>,
    pub errors: Errors,
}

/// What a `Message` type is made of.
pub enum MessageShape<'a> {
    /// A struct with named fields: a nested message.
    Struct(Vec<EventField<'a>>),
    /// A one-field tuple struct: transparent, encoded as its inner type.
    Newtype(&'a Type),
    /// An enum whose variants may carry data: a message holding one `oneof`.
    Oneof(Vec<OneofVariant<'a>>),
}

/// One variant of a `Message` enum.
pub struct OneofVariant<'a> {
    pub ident: &'a Ident,
    /// `#[event(id = N)]` on the variant.
    pub attrs: FieldAttrs,
    pub shape: VariantShape<'a>,
}

/// What one variant of a `Message` enum carries.
pub enum VariantShape<'a> {
    /// Nothing: `google.protobuf.Empty` on the wire.
    Unit,
    /// One value: `Card(CardDetails)`.
    Single(&'a Type),
    /// Named fields: a nested message of its own.
    Struct(Vec<EventField<'a>>),
    /// Several unnamed values, which a `oneof` member cannot hold.
    Tuple(&'a Fields),
}

fn named_fields<'a>(
    fields: &'a syn::punctuated::Punctuated<syn::Field, syn::Token![,]>,
    fallback: &'a Ident,
    errors: &mut Errors,
) -> Vec<EventField<'a>> {
    fields
        .iter()
        .map(|field| EventField {
            // Named fields always have an ident.
            ident: field.ident.as_ref().unwrap_or(fallback),
            ty: &field.ty,
            attrs: attr::field(&field.attrs, errors),
        })
        .collect()
}

impl<'a> MessageInput<'a> {
    pub fn parse(input: &'a DeriveInput) -> syn::Result<Self> {
        let mut errors = Errors::default();
        let attrs = attr::container(&input.attrs, &mut errors);
        let shape = match &input.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => {
                    MessageShape::Struct(named_fields(&named.named, &input.ident, &mut errors))
                }
                Fields::Unnamed(unnamed) if unnamed.unnamed.len() == 1 => {
                    for field in &unnamed.unnamed {
                        attr::field(&field.attrs, &mut errors);
                    }
                    MessageShape::Newtype(&unnamed.unnamed[0].ty)
                }
                Fields::Unnamed(_) | Fields::Unit => {
                    return Err(syn::Error::new_spanned(
                        &input.ident,
                        "`#[derive(Message)]` needs named fields (a nested message) or exactly one unnamed field (a newtype, encoded as that field): `struct UserId(String);`",
                    ))
                }
            },
            Data::Enum(data) => MessageShape::Oneof(
                data.variants
                    .iter()
                    .map(|variant| OneofVariant {
                        ident: &variant.ident,
                        attrs: attr::field(&variant.attrs, &mut errors),
                        shape: match &variant.fields {
                            Fields::Unit => VariantShape::Unit,
                            Fields::Unnamed(unnamed) if unnamed.unnamed.len() == 1 => {
                                VariantShape::Single(&unnamed.unnamed[0].ty)
                            }
                            Fields::Unnamed(_) => VariantShape::Tuple(&variant.fields),
                            Fields::Named(named) => VariantShape::Struct(named_fields(
                                &named.named,
                                &variant.ident,
                                &mut errors,
                            )),
                        },
                    })
                    .collect(),
            ),
            Data::Union(_) => {
                return Err(syn::Error::new_spanned(
                    &input.ident,
                    "`#[derive(Message)]` works on structs and enums, not unions",
                ))
            }
        };
        Ok(MessageInput {
            ident: &input.ident,
            input,
            attrs,
            shape,
            errors,
        })
    }
}
