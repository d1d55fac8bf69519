//! Phase 3, expand: the `Tag` impl of a checked enum, and its protobuf enum encoding.

use proc_macro2::TokenStream;
use quote::quote;

use crate::check::TagEnum;

pub fn expand(tag: &TagEnum<'_>) -> TokenStream {
    let ident = tag.ident;
    let rt = quote!(::event_runtime);
    let p = quote!(::event_runtime::__private);
    let variants: Vec<_> = tag.variants.iter().map(|(v, _)| *v).collect();
    let values: Vec<&str> = tag
        .variants
        .iter()
        .map(|(_, value)| value.as_str())
        .collect();
    let indexes: Vec<usize> = (0..variants.len()).collect();
    let cardinality = variants.len();
    let max_len = values.iter().map(|v| v.len()).max().unwrap_or(0);
    let enum_name = ident.to_string();

    let implicit = crate::expand_message::implicit_field(ident, &syn::Generics::default());
    quote! {
        const _: () = {
            #implicit

            #[automatically_derived]
            impl #rt::Tag for #ident {
                const CARDINALITY: usize = #cardinality;
                const MAX_VALUE_LEN: usize = #max_len;

                fn index(&self) -> usize {
                    match self {
                        #(Self::#variants => #indexes,)*
                    }
                }

                fn from_index(index: usize) -> #p::Option<Self> {
                    match index {
                        #(#indexes => #p::Option::Some(Self::#variants),)*
                        _ => #p::Option::None,
                    }
                }

                fn value(&self) -> &'static str {
                    match self {
                        #(Self::#variants => #values,)*
                    }
                }
            }

            #[automatically_derived]
            impl #p::Repeatable for #ident {}

            #[automatically_derived]
            impl #p::Singular for #ident {
                const KIND: #p::Kind = #p::Kind::Enum(&#p::EnumDef { name: #enum_name, values: &[#(#values),*] });

                // Every value is numbered from 1, so none is protobuf's omitted default.
                fn is_default(&self) -> bool {
                    false
                }

                fn value(&self) -> #p::Value<'_> {
                    #p::Value::Tag(<Self as #rt::Tag>::value(self))
                }

                fn encode(&self, number: u32, buf: &mut #p::Vec<u8>) {
                    #p::tag_enum::encode(self, number, buf)
                }

                fn encoded_len(&self, number: u32) -> usize {
                    #p::tag_enum::encoded_len(self, number)
                }

                fn encode_repeated(values: &[Self], number: u32, buf: &mut #p::Vec<u8>) {
                    #p::tag_enum::encode_repeated(values, number, buf)
                }

                fn encoded_len_repeated(values: &[Self], number: u32) -> usize {
                    #p::tag_enum::encoded_len_repeated(values, number)
                }
            }

            impl<'__event_de> #p::DecodeSingular<'__event_de> for #ident {

                fn absent() -> #p::Option<Self> {
                    #p::Option::None
                }

                fn merge(
                    slot: &mut #p::Option<Self>,
                    wire_type: #p::WireType,
                    buf: &mut &'__event_de [u8],
                    ctx: #p::DecodeContext,
                ) -> #p::Result<(), #p::DecodeError> {
                    #p::tag_enum::merge(slot, wire_type, buf, ctx)
                }

                fn merge_repeated(
                    values: &mut #p::Vec<Self>,
                    wire_type: #p::WireType,
                    buf: &mut &'__event_de [u8],
                    ctx: #p::DecodeContext,
                ) -> #p::Result<(), #p::DecodeError> {
                    #p::tag_enum::merge_repeated(values, wire_type, buf, ctx)
                }
            }
        };
    }
}
