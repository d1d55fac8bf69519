//! Phase 3, shared: the code of a message body (an event's payload, a nested message, a
//! struct variant of a oneof) from its checked fields. Each field's code names its type
//! (`<T as ProtoField>::...`) under `quote_spanned!` at the type, so an unsupported type is
//! reported on the field.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};

use crate::check::{decoder_item, type_span, Field};

/// A field and the expression that borrows it (`&self.amount`, or a binding of a match).
pub struct BodyField<'a> {
    pub field: &'a Field<'a>,
    pub access: TokenStream,
}

/// The fields of `self`.
pub fn of_self<'a>(fields: &'a [Field<'a>]) -> Vec<BodyField<'a>> {
    fields
        .iter()
        .map(|field| {
            let ident = field.ident;
            BodyField {
                field,
                access: quote!(&self.#ident),
            }
        })
        .collect()
}

/// The fields bound by name in a pattern (`Self::Card { last4, brand }`).
pub fn of_bindings<'a>(fields: &'a [Field<'a>]) -> Vec<BodyField<'a>> {
    fields
        .iter()
        .map(|field| {
            let ident = field.ident;
            BodyField {
                field,
                access: quote!(#ident),
            }
        })
        .collect()
}

/// Statements appending every field to `buf`.
pub fn encode(fields: &[BodyField<'_>]) -> TokenStream {
    let p = quote!(::event_runtime::__private);
    let stmts = fields.iter().map(|f| {
        let (ty, number, access) = (f.field.ty, f.field.number, &f.access);
        quote_spanned!(type_span(ty)=> <#ty as #p::ProtoField>::encode(#access, #number, buf);)
    });
    quote!(#(#stmts)*)
}

/// An expression: the length [`encode`]'s statements append.
pub fn len(fields: &[BodyField<'_>]) -> TokenStream {
    let p = quote!(::event_runtime::__private);
    let lens = fields.iter().map(|f| {
        let (ty, number, access) = (f.field.ty, f.field.number, &f.access);
        quote_spanned!(type_span(ty)=> + <#ty as #p::ProtoField>::encoded_len(#access, #number))
    });
    quote!(0usize #(#lens)*)
}

/// An expression of type `Result<_, DecodeError>` reading the fields from `bytes` (with
/// `ctx` in scope) and building `construct { field: value, .. }`.
pub fn decode(fields: &[BodyField<'_>], message: &str, construct: TokenStream) -> TokenStream {
    let p = quote!(::event_runtime::__private);
    let slots: Vec<_> = fields
        .iter()
        .map(|f| format_ident!("__event_slot_{}", f.field.ident))
        .collect();
    let values: Vec<_> = fields
        .iter()
        .map(|f| format_ident!("__event_value_{}", f.field.ident))
        .collect();
    let slot_inits = fields.iter().zip(&slots).map(|(f, slot)| {
        let ty = f.field.ty;
        let slot_type = decoder_item(ty, "Slot");
        quote_spanned!(type_span(ty)=> let mut #slot: #slot_type = ::core::default::Default::default();)
    });
    let merges = fields.iter().zip(&slots).map(|(f, slot)| {
        let (ty, number, name) = (f.field.ty, f.field.number, &f.field.name);
        let merge = decoder_item(ty, "merge");
        quote_spanned!(type_span(ty)=> #number => #p::merge_field(#merge, &mut #slot, wire_type, buf, ctx, #message, #name),)
    });
    let finishes = fields.iter().zip(&slots).map(|(f, slot)| {
        let (ty, name) = (f.field.ty, &f.field.name);
        let finish = decoder_item(ty, "finish");
        quote_spanned!(type_span(ty)=> #p::finish_field(#finish, #slot, #message, #name, &mut __event_error),)
    });
    let idents = fields.iter().map(|f| f.field.ident);
    let reader = if fields.is_empty() {
        quote!(&mut |_, _, _, _| #p::Result::Ok(false))
    } else {
        quote! {
            &mut |number, wire_type, buf, ctx| match number {
                #(#merges)*
                _ => #p::Result::Ok(false),
            }
        }
    };
    // Every field is finished before any is checked, so all errors leave by one exit. A
    // `?` per field gave each exit its own drops of the fields finished and the slots not
    // yet: a quarter of the decoder.
    quote! {{
        #(#slot_inits)*
        #p::decode_fields(bytes, ctx, #reader)?;
        #[allow(unused_mut, unused_variables)]
        let mut __event_error = #p::Option::None;
        match (#(#finishes)*) {
            (#(#p::Option::Some(#values),)*) => #p::Result::Ok(#construct { #(#idents: #values,)* }),
            #[allow(unreachable_patterns)]
            _ => #p::Result::Err(#p::decode_failed(__event_error)),
        }
    }}
}

/// Statements calling `visit(name, value)` for every field.
pub fn visit(fields: &[BodyField<'_>]) -> TokenStream {
    let p = quote!(::event_runtime::__private);
    let stmts = fields.iter().map(|f| {
        let (ty, name, access) = (f.field.ty, &f.field.name, &f.access);
        quote_spanned!(type_span(ty)=> visit(#name, <#ty as #p::ProtoField>::field_value(#access));)
    });
    quote!(#(#stmts)*)
}

/// A `&'static MessageDef` expression for a message of these fields.
pub fn def(
    message: &str,
    fields: &[Field<'_>],
    oneof: Option<&str>,
    reserved_numbers: &[u32],
    reserved_names: &[String],
) -> TokenStream {
    let p = quote!(::event_runtime::__private);
    let defs = fields.iter().map(|f| {
        let (number, name) = (f.number, &f.name);
        let ty = &f.ty;
        quote_spanned!(type_span(ty)=> #p::FieldDef {
            name: #name,
            number: #number,
            label: <#ty as #p::ProtoField>::LABEL,
            kind: <#ty as #p::ProtoField>::KIND,
        })
    });
    let oneof = match oneof {
        Some(name) => quote!(#p::Option::Some(#name)),
        None => quote!(#p::Option::None),
    };
    quote! {
        &#p::MessageDef {
            name: #message,
            fields: &[#(#defs),*],
            oneof: #oneof,
            reserved_numbers: &[#(#reserved_numbers),*],
            reserved_names: &[#(#reserved_names),*],
        }
    }
}
