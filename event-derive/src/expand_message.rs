//! Phase 3, expand: `#[derive(Message)]`. A struct and an enum become messages (the enum's
//! fields all in one `oneof`) and are then values of a field through `message::*`; a
//! newtype is its inner value on the wire, and a key, a tag or a map key when that is.

use event_names::snake_case;
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};

use crate::check::type_span;
use crate::check_message::{Member, Message, Shape, Variant};
use crate::expand_body;

pub fn expand(message: &Message<'_>) -> TokenStream {
    match &message.shape {
        Shape::Struct(fields) => {
            let name = message.ident.to_string();
            let body = expand_body::of_self(fields);
            let def = expand_body::def(
                &name,
                fields,
                None,
                &message.reserved_numbers,
                &message.reserved_names,
            );
            let message_impl = message_impl(
                message.ident,
                def,
                expand_body::encode(&body),
                expand_body::len(&body),
                expand_body::decode(&body, &name, quote!(Self)),
                expand_body::visit(&body),
            );
            let singular = message_singular(message);
            quote!(const _: () = { #message_impl #singular };)
        }
        Shape::Oneof(variants) => oneof(message, variants),
        Shape::Newtype(inner) => newtype(message, inner),
    }
}

/// The `Message` impl of an event or a `#[derive(Message)]` type, from its parts.
pub fn message_impl(
    ident: &syn::Ident,
    def: TokenStream,
    encode: TokenStream,
    len: TokenStream,
    decode: TokenStream,
    visit: TokenStream,
) -> TokenStream {
    let p = quote!(::event_runtime::__private);
    quote! {
        #[automatically_derived]
        impl #p::Message for #ident {
            const DEF: &'static #p::MessageDef = #def;

            #[allow(unused_variables)]
            #[inline]
            fn encode_fields(&self, buf: &mut #p::Vec<u8>) {
                #encode
            }

            #[inline]
            fn fields_len(&self) -> usize {
                #len
            }

            #[inline]
            fn decode_fields(bytes: &[u8], ctx: #p::DecodeContext) -> #p::Result<Self, #p::DecodeError> {
                #decode
            }

            #[allow(unused_variables)]
            fn visit_fields<'__event>(&'__event self, visit: &mut dyn ::core::ops::FnMut(&'static str, #p::FieldValue<'__event>)) {
                #visit
            }
        }
    }
}

/// `Singular` for a type that is a message: a length-delimited field of its own.
fn message_singular(message: &Message<'_>) -> TokenStream {
    let ident = message.ident;
    let p = quote!(::event_runtime::__private);
    quote! {
        #[automatically_derived]
        impl #p::Repeatable for #ident {}

        #[automatically_derived]
        impl #p::Singular for #ident {
            const KIND: #p::Kind = #p::Kind::Message(#p::MessageRef(#p::message::def::<Self>));

            // A message has explicit presence: it is written even when its fields are not.
            fn is_default(&self) -> bool {
                false
            }

            fn absent() -> #p::Option<Self> {
                #p::message::absent::<Self>()
            }

            fn value(&self) -> #p::Value<'_> {
                #p::message::value(self)
            }

            fn encode(&self, number: u32, buf: &mut #p::Vec<u8>) {
                #p::message::encode(self, number, buf)
            }

            fn encoded_len(&self, number: u32) -> usize {
                #p::message::encoded_len(self, number)
            }

            fn merge(
                slot: &mut #p::Option<Self>,
                wire_type: #p::WireType,
                buf: &mut &[u8],
                ctx: #p::DecodeContext,
            ) -> #p::Result<(), #p::DecodeError> {
                #p::message::merge(slot, wire_type, buf, ctx)
            }

            fn encode_repeated(values: &[Self], number: u32, buf: &mut #p::Vec<u8>) {
                #p::message::encode_repeated(values, number, buf)
            }

            fn encoded_len_repeated(values: &[Self], number: u32) -> usize {
                #p::message::encoded_len_repeated(values, number)
            }

            fn merge_repeated(
                values: &mut #p::Vec<Self>,
                wire_type: #p::WireType,
                buf: &mut &[u8],
                ctx: #p::DecodeContext,
            ) -> #p::Result<(), #p::DecodeError> {
                #p::message::merge_repeated(values, wire_type, buf, ctx)
            }
        }
    }
}

/// The name of the nested message a struct variant becomes: `PaymentMethodCard`.
fn variant_message_name(message: &Message<'_>, variant: &Variant<'_>) -> String {
    format!("{}{}", message.ident, variant.ident)
}

fn oneof(message: &Message<'_>, variants: &[Variant<'_>]) -> TokenStream {
    let p = quote!(::event_runtime::__private);
    let name = message.ident.to_string();
    let oneof_name = snake_case(&name);

    let mut variant_defs = Vec::new();
    let mut field_defs = Vec::new();
    let mut encodes = Vec::new();
    let mut lens = Vec::new();
    let mut merges = Vec::new();
    let mut visits = Vec::new();
    for variant in variants {
        let (ident, number, member_name) = (variant.ident, variant.number, &variant.name);
        match &variant.member {
            Member::Unit => {
                field_defs.push(quote! {
                    #p::FieldDef { name: #member_name, number: #number, label: #p::Label::Implicit, kind: #p::Kind::Empty }
                });
                encodes.push(quote!(Self::#ident => #p::message::encode_empty(#number, buf),));
                lens.push(quote!(Self::#ident => #p::message::empty_len(#number),));
                merges.push(quote! {
                    #number => {
                        #p::message::merge_empty(wire_type, buf)?;
                        __event_variant = #p::Option::Some(Self::#ident);
                        #p::Result::Ok(true)
                    }
                });
                visits.push(quote! {
                    Self::#ident => visit(#member_name, #p::FieldValue::Single(#p::Value::Message(#p::Vec::new()))),
                });
            }
            Member::Single(ty) => {
                field_defs.push(quote_spanned! {type_span(ty)=>
                    #p::FieldDef { name: #member_name, number: #number, label: #p::Label::Implicit, kind: <#ty as #p::Singular>::KIND }
                });
                // A member is written even at its default: being set is what it says.
                encodes.push(quote_spanned!(type_span(ty)=> Self::#ident(value) => <#ty as #p::Singular>::encode(value, #number, buf),));
                lens.push(quote_spanned!(type_span(ty)=> Self::#ident(value) => <#ty as #p::Singular>::encoded_len(value, #number),));
                merges.push(quote_spanned! {type_span(ty)=>
                    #number => {
                        let mut slot = #p::Option::None;
                        #p::merge_field(<#ty as #p::Singular>::merge, &mut slot, wire_type, buf, ctx, #name, #member_name)?;
                        __event_variant = slot.map(Self::#ident);
                        #p::Result::Ok(true)
                    }
                });
                visits.push(quote_spanned! {type_span(ty)=>
                    Self::#ident(value) => visit(#member_name, #p::FieldValue::Single(<#ty as #p::Singular>::value(value))),
                });
            }
            Member::Struct(fields) => {
                let nested_name = variant_message_name(message, variant);
                let def_fn = format_ident!("__event_def_{}", member_name);
                let def = expand_body::def(&nested_name, fields, None, &[], &[]);
                variant_defs.push(quote! {
                    fn #def_fn() -> &'static #p::MessageDef {
                        #def
                    }
                });
                field_defs.push(quote! {
                    #p::FieldDef { name: #member_name, number: #number, label: #p::Label::Implicit, kind: #p::Kind::Message(#p::MessageRef(#def_fn)) }
                });
                let body = expand_body::of_bindings(fields);
                let bindings: Vec<_> = fields.iter().map(|f| f.ident).collect();
                let encode = expand_body::encode(&body);
                let len = expand_body::len(&body);
                let decode = expand_body::decode(&body, &nested_name, quote!(Self::#ident));
                let visit = expand_body::visit(&body);
                encodes.push(quote! {
                    Self::#ident { #(#bindings),* } => #p::message::encode_nested(#number, #len, buf, |buf| { #encode }),
                });
                lens.push(quote! {
                    Self::#ident { #(#bindings),* } => #p::message::nested_len(#number, #len),
                });
                merges.push(quote! {
                    #number => {
                        let bytes = #p::message::take_body(wire_type, buf)?;
                        let ctx = ctx.enter()?;
                        let read: #p::Result<Self, #p::DecodeError> = #decode;
                        __event_variant = #p::Option::Some(read?);
                        #p::Result::Ok(true)
                    }
                });
                visits.push(quote! {
                    Self::#ident { #(#bindings),* } => {
                        let mut fields = #p::Vec::new();
                        {
                            let mut visit = |name: &'static str, value| fields.push((name, value));
                            #visit
                        }
                        visit(#member_name, #p::FieldValue::Single(#p::Value::Message(fields)));
                    }
                });
            }
        }
    }

    let def = {
        let reserved_numbers = &message.reserved_numbers;
        let reserved_names = &message.reserved_names;
        quote! {
            &#p::MessageDef {
                name: #name,
                fields: &[#(#field_defs),*],
                oneof: #p::Option::Some(#oneof_name),
                reserved_numbers: &[#(#reserved_numbers),*],
                reserved_names: &[#(#reserved_names),*],
            }
        }
    };
    let decode = quote! {{
        let mut __event_variant: #p::Option<Self> = #p::Option::None;
        #p::decode_fields(bytes, ctx, &mut |number, wire_type, buf, ctx| match number {
            #(#merges)*
            _ => #p::Result::Ok(false),
        })?;
        __event_variant.ok_or_else(#p::message::no_variant)
    }};
    let message_impl = message_impl(
        message.ident,
        def,
        quote!(match self { #(#encodes)* }),
        quote!(match self { #(#lens)* }),
        decode,
        quote!(match self { #(#visits)* }),
    );
    let singular = message_singular(message);
    quote! {
        const _: () = {
            #(#variant_defs)*
            #message_impl
            #singular
        };
    }
}

fn newtype(message: &Message<'_>, inner: &syn::Type) -> TokenStream {
    let ident = message.ident;
    let rt = quote!(::event_runtime);
    let p = quote!(::event_runtime::__private);
    let span = type_span(inner);
    // `for<'__event>` makes each bound a real condition on the impl rather than a fact
    // checked at the definition: the newtype is a key, a tag or a map key exactly when
    // its inner type is one, and using it as one otherwise is the error.
    let conditional = quote_spanned! {span=>
        #[automatically_derived]
        impl #p::Repeatable for #ident where for<'__event> #inner: #p::Repeatable {}

        #[automatically_derived]
        impl #rt::MapKey for #ident where for<'__event> #inner: #rt::MapKey {}

        #[automatically_derived]
        impl #p::RecordKey for #ident where for<'__event> #inner: #p::RecordKey {
            fn key_bytes(&self) -> #p::Option<&[u8]> {
                <#inner as #p::RecordKey>::key_bytes(&self.0)
            }
        }

        #[automatically_derived]
        impl #rt::Tag for #ident where for<'__event> #inner: #rt::Tag {
            const CARDINALITY: usize = <#inner as #rt::Tag>::CARDINALITY;
            const MAX_VALUE_LEN: usize = <#inner as #rt::Tag>::MAX_VALUE_LEN;

            fn index(&self) -> usize {
                <#inner as #rt::Tag>::index(&self.0)
            }

            fn from_index(index: usize) -> #p::Option<Self> {
                <#inner as #rt::Tag>::from_index(index).map(Self)
            }

            fn value(&self) -> &'static str {
                <#inner as #rt::Tag>::value(&self.0)
            }
        }
    };
    quote_spanned! {span=>
        const _: () = {
            #[automatically_derived]
            impl #p::Singular for #ident {
                const KIND: #p::Kind = <#inner as #p::Singular>::KIND;

                fn is_default(&self) -> bool {
                    <#inner as #p::Singular>::is_default(&self.0)
                }

                fn absent() -> #p::Option<Self> {
                    <#inner as #p::Singular>::absent().map(Self)
                }

                fn value(&self) -> #p::Value<'_> {
                    <#inner as #p::Singular>::value(&self.0)
                }

                #[inline]
                fn encode(&self, number: u32, buf: &mut #p::Vec<u8>) {
                    <#inner as #p::Singular>::encode(&self.0, number, buf)
                }

                fn encoded_len(&self, number: u32) -> usize {
                    <#inner as #p::Singular>::encoded_len(&self.0, number)
                }

                fn merge(
                    slot: &mut #p::Option<Self>,
                    wire_type: #p::WireType,
                    buf: &mut &[u8],
                    ctx: #p::DecodeContext,
                ) -> #p::Result<(), #p::DecodeError> {
                    let mut inner = #p::Option::None;
                    <#inner as #p::Singular>::merge(&mut inner, wire_type, buf, ctx)?;
                    *slot = inner.map(Self);
                    #p::Result::Ok(())
                }

                // One field per value: protobuf readers accept a number list unpacked too.
                fn encode_repeated(values: &[Self], number: u32, buf: &mut #p::Vec<u8>) {
                    for value in values {
                        <#inner as #p::Singular>::encode(&value.0, number, buf);
                    }
                }

                fn encoded_len_repeated(values: &[Self], number: u32) -> usize {
                    values.iter().map(|value| <#inner as #p::Singular>::encoded_len(&value.0, number)).sum()
                }

                fn merge_repeated(
                    values: &mut #p::Vec<Self>,
                    wire_type: #p::WireType,
                    buf: &mut &[u8],
                    ctx: #p::DecodeContext,
                ) -> #p::Result<(), #p::DecodeError> {
                    let mut inner = #p::Vec::new();
                    <#inner as #p::Singular>::merge_repeated(&mut inner, wire_type, buf, ctx)?;
                    values.extend(inner.into_iter().map(Self));
                    #p::Result::Ok(())
                }
            }

            #conditional
        };
    }
}
