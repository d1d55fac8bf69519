//! Phase 3, expand: `#[derive(Message)]`. A struct and an enum become messages (the enum's
//! fields all in one `oneof`) and are then values of a field through `message::*`; a
//! newtype is its inner value on the wire, and a key, a tag or a map key when that is.

use event_names::snake_case;
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};

use crate::check::{decoder_item, type_span};
use crate::check_message::{Member, Message, Shape, Variant};
use crate::{expand_body, generics};

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
                message.generics,
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

/// The `Message` and `DecodeMessage` impls of an event or a `#[derive(Message)]` type,
/// from their parts.
pub fn message_impl(
    ident: &syn::Ident,
    generics: &syn::Generics,
    def: TokenStream,
    encode: TokenStream,
    len: TokenStream,
    decode: TokenStream,
    visit: TokenStream,
) -> TokenStream {
    let p = quote!(::event_runtime::__private);
    let (impl_generics, ty_generics, where_clause) = generics::for_impl(generics);
    let (decode_generics, decode_where) = generics::for_decode_impl(generics);
    let de = generics::decode_lifetime();
    quote! {
        #[automatically_derived]
        impl #impl_generics #p::Message for #ident #ty_generics #where_clause {
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

            #[allow(unused_variables)]
            fn visit_fields<'__event>(&'__event self, visit: &mut dyn ::core::ops::FnMut(&'static str, #p::FieldValue<'__event>)) {
                #visit
            }
        }

        #[automatically_derived]
        impl #decode_generics #p::DecodeMessage<#de> for #ident #ty_generics #decode_where {
            #[inline]
            fn decode_fields(bytes: &#de [u8], ctx: #p::DecodeContext) -> #p::Result<Self, #p::DecodeError> {
                #decode
            }
        }
    }
}

/// `ProtoField` for a type used as a plain field (the runtime has no blanket impl over
/// `Singular`, so that a type that is not one is reported once).
pub fn implicit_field(ident: &syn::Ident, generics: &syn::Generics) -> TokenStream {
    let p = quote!(::event_runtime::__private);
    let (impl_generics, ty_generics, where_clause) = generics::for_impl(generics);
    quote! {
        #[automatically_derived]
        impl #impl_generics #p::ProtoField for #ident #ty_generics #where_clause {
            const LABEL: #p::Label = #p::Label::Implicit;
            const KIND: #p::Kind = <Self as #p::Singular>::KIND;
            type Decoder = #p::ImplicitDecoder;

            #[inline]
            fn encode(&self, number: u32, buf: &mut #p::Vec<u8>) {
                #p::implicit::encode(self, number, buf)
            }

            fn encoded_len(&self, number: u32) -> usize {
                #p::implicit::encoded_len(self, number)
            }

            fn field_value(&self) -> #p::FieldValue<'_> {
                #p::implicit::field_value(self)
            }
        }
    }
}

/// `Singular` for a type that is a message: a length-delimited field of its own.
fn message_singular(message: &Message<'_>) -> TokenStream {
    let ident = message.ident;
    let p = quote!(::event_runtime::__private);
    let (impl_generics, ty_generics, where_clause) = generics::for_impl(message.generics);
    let de = generics::decode_lifetime();
    let (decode_generics, decode_where) = generics::for_decode_impl(message.generics);
    let implicit = implicit_field(ident, message.generics);
    quote! {
        #implicit

        #[automatically_derived]
        impl #impl_generics #p::Repeatable for #ident #ty_generics #where_clause {}

        #[automatically_derived]
        impl #impl_generics #p::Singular for #ident #ty_generics #where_clause {
            const KIND: #p::Kind = #p::Kind::Message(#p::MessageRef(#p::message::def::<Self>));

            // A message has explicit presence: it is written even when its fields are not.
            fn is_default(&self) -> bool {
                false
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

            fn encode_repeated(values: &[Self], number: u32, buf: &mut #p::Vec<u8>) {
                #p::message::encode_repeated(values, number, buf)
            }

            fn encoded_len_repeated(values: &[Self], number: u32) -> usize {
                #p::message::encoded_len_repeated(values, number)
            }
        }

        impl #decode_generics #p::DecodeSingular<#de> for #ident #ty_generics #decode_where {

            fn absent() -> #p::Option<Self> {
                #p::message::absent::<Self>()
            }

            fn merge(
                slot: &mut #p::Option<Self>,
                wire_type: #p::WireType,
                buf: &mut &#de [u8],
                ctx: #p::DecodeContext,
            ) -> #p::Result<(), #p::DecodeError> {
                #p::message::merge(slot, wire_type, buf, ctx)
            }

            fn merge_repeated(
                values: &mut #p::Vec<Self>,
                wire_type: #p::WireType,
                buf: &mut &#de [u8],
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
                let merge = decoder_item(ty, "merge");
                merges.push(quote_spanned! {type_span(ty)=>
                    #number => {
                        let mut slot = #p::Option::None;
                        #p::merge_field(#merge, &mut slot, wire_type, buf, ctx, #name, #member_name)?;
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
                // The description lives outside the impls, where the enum's lifetimes are
                // not in scope: its types are named with `'static` lifetimes.
                let static_types: Vec<syn::Type> = fields
                    .iter()
                    .map(|f| generics::with_static_lifetimes(f.ty))
                    .collect();
                let static_fields: Vec<crate::check::Field<'_>> = fields
                    .iter()
                    .zip(&static_types)
                    .map(|(f, ty)| crate::check::Field {
                        ident: f.ident,
                        ty,
                        name: f.name.clone(),
                        number: f.number,
                        is_key: false,
                        tag: None,
                        metric: None,
                    })
                    .collect();
                let def = expand_body::def(&nested_name, &static_fields, None, &[], &[]);
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
        message.generics,
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
    let (impl_generics, ty_generics, where_clause) = generics::for_impl(message.generics);
    let de = generics::decode_lifetime();
    let (decode_generics, decode_where) = generics::for_decode_impl(message.generics);
    // A tag is `'static` (its values are constants), so a newtype that borrows is not one.
    let tag = message.generics.params.is_empty().then(|| {
        quote_spanned! {span=>
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
        }
    });
    // `for<'__event>` makes each bound a real condition on the impl rather than a fact
    // checked at the definition: the newtype is a key, a tag or a map key exactly when
    // its inner type is one, and using it as one otherwise is the error.
    let conditional = quote_spanned! {span=>
        #[automatically_derived]
        impl #impl_generics #p::Repeatable for #ident #ty_generics where for<'__event> #inner: #p::Repeatable {}

        #[automatically_derived]
        impl #impl_generics #rt::MapKey for #ident #ty_generics where for<'__event> #inner: #rt::MapKey {}

        #[automatically_derived]
        impl #impl_generics #p::RecordKey for #ident #ty_generics where for<'__event> #inner: #p::RecordKey {
            fn key_bytes(&self) -> #p::Option<&[u8]> {
                <#inner as #p::RecordKey>::key_bytes(&self.0)
            }
        }

        #tag
    };
    let implicit = implicit_field(ident, message.generics);
    quote_spanned! {span=>
        const _: () = {
            #implicit

            #[automatically_derived]
            impl #impl_generics #p::Singular for #ident #ty_generics #where_clause {
                const KIND: #p::Kind = <#inner as #p::Singular>::KIND;

                fn is_default(&self) -> bool {
                    <#inner as #p::Singular>::is_default(&self.0)
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

                // One field per value: protobuf readers accept a number list unpacked too.
                fn encode_repeated(values: &[Self], number: u32, buf: &mut #p::Vec<u8>) {
                    for value in values {
                        <#inner as #p::Singular>::encode(&value.0, number, buf);
                    }
                }

                fn encoded_len_repeated(values: &[Self], number: u32) -> usize {
                    values.iter().map(|value| <#inner as #p::Singular>::encoded_len(&value.0, number)).sum()
                }
            }

            impl #decode_generics #p::DecodeSingular<#de> for #ident #ty_generics #decode_where {

                fn absent() -> #p::Option<Self> {
                    <#inner as #p::DecodeSingular<#de>>::absent().map(Self)
                }

                fn merge(
                    slot: &mut #p::Option<Self>,
                    wire_type: #p::WireType,
                    buf: &mut &#de [u8],
                    ctx: #p::DecodeContext,
                ) -> #p::Result<(), #p::DecodeError> {
                    let mut inner = #p::Option::None;
                    <#inner as #p::DecodeSingular<#de>>::merge(&mut inner, wire_type, buf, ctx)?;
                    *slot = inner.map(Self);
                    #p::Result::Ok(())
                }

                fn merge_repeated(
                    values: &mut #p::Vec<Self>,
                    wire_type: #p::WireType,
                    buf: &mut &#de [u8],
                    ctx: #p::DecodeContext,
                ) -> #p::Result<(), #p::DecodeError> {
                    let mut inner = #p::Vec::new();
                    <#inner as #p::DecodeSingular<#de>>::merge_repeated(&mut inner, wire_type, buf, ctx)?;
                    values.extend(inner.into_iter().map(Self));
                    #p::Result::Ok(())
                }
            }

            #conditional
        };
    }
}
