//! The one kind of generics an event or a message may have: lifetimes, for fields that
//! borrow (`&'a str`, `Cow<'a, [u8]>`). Types and constants are refused by `check`, since
//! the schema and the metric series are fixed at compile time.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{GenericParam, Generics, Lifetime};

use crate::errors::Errors;

/// Refuses type and const parameters, each at its tokens.
pub fn refuse_non_lifetimes(generics: &Generics, what: &str, errors: &mut Errors) {
    for param in &generics.params {
        match param {
            GenericParam::Lifetime(_) => {}
            GenericParam::Type(_) | GenericParam::Const(_) => errors.at(
                param,
                format!("{what} cannot be generic over types or constants: its protobuf schema must be fixed at compile time; a lifetime (`<'a>`, for borrowed fields) is fine"),
            ),
        }
    }
}

/// The lifetime a derived decoder reads from: its payload's.
pub fn decode_lifetime() -> Lifetime {
    Lifetime::new("'__event_de", proc_macro2::Span::call_site())
}

/// `impl<...> Trait for Type<...> where ...`'s three parts for an encode-side impl.
pub fn for_impl(generics: &Generics) -> (TokenStream, TokenStream, TokenStream) {
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    (
        quote!(#impl_generics),
        quote!(#ty_generics),
        quote!(#where_clause),
    )
}

/// The impl generics and where clause of a decode impl: the type's lifetimes plus the
/// payload's, which outlives each of them, so borrowed fields can point into it.
pub fn for_decode_impl(generics: &Generics) -> (TokenStream, TokenStream) {
    let de = decode_lifetime();
    let lifetimes: Vec<&Lifetime> = generics.lifetimes().map(|l| &l.lifetime).collect();
    let params = generics.params.iter();
    let predicates = generics
        .where_clause
        .iter()
        .flat_map(|w| w.predicates.iter());
    (
        quote!(<#de, #(#params),*>),
        quote!(where #(#de: #lifetimes,)* #(#predicates,)*),
    )
}

/// The type's generics with every lifetime `'static`: `<'static>` for `OrderPlaced<'a>`.
pub fn static_ty_generics(generics: &Generics) -> TokenStream {
    if generics.params.is_empty() {
        return quote!();
    }
    let statics = generics.lifetimes().map(|_| quote!('static));
    quote!(<#(#statics),*>)
}

/// `ty` with every lifetime `'static`, for code outside the type's impls (a struct
/// variant's description), where the type's own lifetimes are not in scope. A field's kind
/// does not depend on its lifetimes.
pub fn with_static_lifetimes(ty: &syn::Type) -> syn::Type {
    struct Statics;
    impl syn::visit_mut::VisitMut for Statics {
        fn visit_lifetime_mut(&mut self, lifetime: &mut Lifetime) {
            *lifetime = Lifetime::new("'static", lifetime.span());
        }
    }
    let mut ty = ty.clone();
    syn::visit_mut::VisitMut::visit_type_mut(&mut Statics, &mut ty);
    ty
}
