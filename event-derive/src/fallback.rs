//! On error: the errors, plus stub impls so that code using the type (`publish(&e)`,
//! `E::NAME`, a tag field of this enum type) does not add a page of follow-on errors.

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

pub fn event(input: &DeriveInput, error: syn::Error) -> TokenStream {
    let errors = error.into_compile_error();
    if !input.generics.params.is_empty() {
        return errors;
    }
    let ident = &input.ident;
    let p = quote!(::event_runtime::__private);
    let message = message_stub(ident);
    quote! {
        #errors
        const _: () = {
            impl ::event_runtime::Event for #ident {
                const NAME: &'static str = "";
                const TOPIC: &'static str = "";
                const MESSAGE_NAME: &'static str = "";
                const TAG_KEYS: &'static [&'static str] = &[];
                const TAG_COMBINATIONS: usize = 1;
                const VALUE_METRICS: &'static [#p::ValueMetric] = &[];
                const SERIES: usize = 1;
                const SAMPLE_RATE: f64 = 1.0;
                fn type_id() -> #p::TypeId { #p::TypeId::of::<#ident>() }
                fn for_each_tag(&self, _: impl ::core::ops::FnMut(&'static str, &'static str)) {}
                fn tag_combination(&self) -> usize { 0 }
                fn for_each_tag_of_combination(_: usize, _: impl ::core::ops::FnMut(&'static str, &'static str)) {}
                fn for_each_value_metric(&self, _: impl ::core::ops::FnMut(&'static #p::ValueMetric, #p::MetricNumber)) {}
                fn key(&self) -> #p::Option<&[u8]> { #p::Option::None }
            }
            #message
        };
    }
}

/// A stub `Message` impl, which an event needs as much as a `#[derive(Message)]` type.
fn message_stub(ident: &syn::Ident) -> TokenStream {
    let p = quote!(::event_runtime::__private);
    quote! {
        impl #p::Message for #ident {
            const DEF: &'static #p::MessageDef = &#p::MessageDef {
                name: "", fields: &[], oneof: #p::Option::None, reserved_numbers: &[], reserved_names: &[],
            };
            fn encode_fields(&self, _: &mut #p::Vec<u8>) {}
            fn fields_len(&self) -> usize { 0 }
            fn visit_fields<'__event>(&'__event self, _: &mut dyn ::core::ops::FnMut(&'static str, #p::FieldValue<'__event>)) {}
        }
        impl<'__event_de> #p::DecodeMessage<'__event_de> for #ident {
            fn decode_fields(_: &'__event_de [u8], _: #p::DecodeContext) -> #p::Result<Self, #p::DecodeError> { ::core::unreachable!() }
        }
    }
}

/// A stub `Singular` impl, so a field of the type raises no errors of its own.
fn singular_stub(ident: &syn::Ident) -> TokenStream {
    let p = quote!(::event_runtime::__private);
    let implicit = crate::expand_message::implicit_field(ident, &syn::Generics::default());
    quote! {
        #implicit
        impl #p::Repeatable for #ident {}
        impl #p::Singular for #ident {
            const KIND: #p::Kind = #p::Kind::Empty;
            fn is_default(&self) -> bool { false }
            fn value(&self) -> #p::Value<'_> { #p::Value::Tag("") }
            fn encode(&self, _: u32, _: &mut #p::Vec<u8>) {}
            fn encoded_len(&self, _: u32) -> usize { 0 }
            fn encode_repeated(_: &[Self], _: u32, _: &mut #p::Vec<u8>) {}
            fn encoded_len_repeated(_: &[Self], _: u32) -> usize { 0 }
        }

        impl<'__event_de> #p::DecodeSingular<'__event_de> for #ident {
            fn absent() -> #p::Option<Self> { #p::Option::None }
            fn merge(_: &mut #p::Option<Self>, _: #p::WireType, _: &mut &'__event_de [u8], _: #p::DecodeContext) -> #p::Result<(), #p::DecodeError> { ::core::unreachable!() }
            fn merge_repeated(_: &mut #p::Vec<Self>, _: #p::WireType, _: &mut &'__event_de [u8], _: #p::DecodeContext) -> #p::Result<(), #p::DecodeError> { ::core::unreachable!() }
        }
    }
}

pub fn message(input: &DeriveInput, error: syn::Error) -> TokenStream {
    let errors = error.into_compile_error();
    if !input.generics.params.is_empty() {
        return errors;
    }
    let message = message_stub(&input.ident);
    let singular = singular_stub(&input.ident);
    quote! {
        #errors
        const _: () = {
            #message
            #singular
        };
    }
}

pub fn tag(input: &DeriveInput, error: syn::Error) -> TokenStream {
    let errors = error.into_compile_error();
    if !input.generics.params.is_empty() {
        return errors;
    }
    let ident = &input.ident;
    let p = quote!(::event_runtime::__private);
    let singular = singular_stub(ident);
    quote! {
        #errors
        const _: () = {
            impl ::event_runtime::Tag for #ident {
                const CARDINALITY: usize = 1;
                const MAX_VALUE_LEN: usize = 0;
                fn index(&self) -> usize { 0 }
                fn from_index(_: usize) -> #p::Option<Self> { #p::Option::None }
                fn value(&self) -> &'static str { "" }
            }
            #singular
        };
    }
}
