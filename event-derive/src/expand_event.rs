//! Phase 3, expand: the `Event` impl of a checked struct.
//!
//! Field code names the field's type (`<T as Trait>::...`) under `quote_spanned!` at the
//! type, so a trait-bound error (a type that is not a `Tag`, cannot be encoded, cannot be
//! a key) lands on the field that caused it.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use crate::attr::MetricKind;
use crate::check::{at, type_span, Event, Field};
use crate::{expand_body, expand_message, generics};

fn metric_kind(kind: MetricKind) -> TokenStream {
    let variant = match kind {
        MetricKind::Count => quote!(Count),
        MetricKind::Gauge => quote!(Gauge),
        MetricKind::Histogram => quote!(Histogram),
        MetricKind::Distribution => quote!(Distribution),
        MetricKind::Timing => quote!(Timing),
    };
    quote!(::event_runtime::__private::MetricKind::#variant)
}

/// Series one tag combination creates for a metric kind, matching the runtime's
/// `MetricKind::series_per_combination`.
fn series_weight(kind: MetricKind) -> usize {
    match kind {
        MetricKind::Count | MetricKind::Gauge => 1,
        MetricKind::Histogram | MetricKind::Distribution | MetricKind::Timing => 5,
    }
}

pub fn expand(event: &Event<'_>) -> TokenStream {
    let ident = event.ident;
    let rt = quote!(::event_runtime);
    let p = quote!(::event_runtime::__private);
    let tags: Vec<&Field<'_>> = event.fields.iter().filter(|f| f.tag.is_some()).collect();
    let metrics: Vec<&Field<'_>> = event.fields.iter().filter(|f| f.metric.is_some()).collect();

    let name = &event.name;
    let topic = &event.topic;
    let package = &event.package;
    let message_name = format!("{package}.{ident}");
    // Read by rustc, so cargo rebuilds the events when the crate-wide package changes.
    let watch_manifest = event.manifest.as_ref().map(|path| {
        let path = path.display().to_string();
        quote!(
            const _: &[u8] = ::core::include_bytes!(#path);
        )
    });
    let message = ident.to_string();
    let sample_rate = event.sample_rate;

    let tag_keys: Vec<&str> = tags
        .iter()
        .filter_map(|f| f.tag.as_ref())
        .map(|t| t.key.as_str())
        .collect();
    let cardinalities: Vec<TokenStream> = tags
        .iter()
        .map(|f| {
            let ty = f.ty;
            quote_spanned!(type_span(ty)=> <#ty as #rt::Tag>::CARDINALITY)
        })
        .collect();
    let tag_types: Vec<_> = tags.iter().map(|f| f.ty).collect();
    let tag_visits = tags.iter().zip(&tag_keys).map(|(f, key)| {
        let (field, ty) = (f.ident, f.ty);
        quote_spanned!(type_span(ty)=> visit(#key, <#ty as #rt::Tag>::value(&self.#field));)
    });
    let tag_indexes = tags.iter().zip(&cardinalities).map(|(f, cardinality)| {
        let (field, ty) = (f.ident, f.ty);
        quote_spanned!(type_span(ty)=> .wrapping_mul(#cardinality).wrapping_add(<#ty as #rt::Tag>::index(&self.#field)))
    });
    let digits: Vec<_> = (0..tags.len())
        .map(|i| format_ident!("__event_digit_{}", i))
        .collect();
    // Mixed-radix digits are peeled off from the last tag, then visited in declaration order.
    let digits_rev: Vec<_> = digits.iter().rev().collect();
    let moduli_rev: Vec<_> = cardinalities.iter().rev().collect();

    let metric_entries = metrics.iter().filter_map(|f| f.metric.as_ref()).map(|m| {
        let metric_name = &m.name;
        let kind = metric_kind(m.kind);
        quote!(#p::ValueMetric { name: #metric_name, kind: #kind })
    });
    let metric_visits = metrics.iter().enumerate().map(|(i, f)| {
        let field = f.ident;
        let ty = f.ty;
        let span = f.metric.as_ref().map_or(type_span(ty), |m| at(m.span));
        quote_spanned! {span=>
            if let #p::Option::Some(number) = <#ty as #p::MetricValue>::metric_number(&self.#field) {
                visit(&Self::VALUE_METRICS[#i], number);
            }
        }
    });
    let series_per_combination: usize = 1 + metrics
        .iter()
        .filter_map(|f| f.metric.as_ref())
        .map(|m| series_weight(m.kind))
        .sum::<usize>();

    let key = match event.fields.iter().find(|f| f.is_key) {
        Some(f) => {
            let field = f.ident;
            let ty = f.ty;
            quote_spanned!(type_span(ty)=> <#ty as #p::RecordKey>::key_bytes(&self.#field))
        }
        None => quote!(#p::Option::None),
    };

    let (impl_generics, ty_generics, where_clause) = generics::for_impl(event.generics);
    let static_generics = generics::static_ty_generics(event.generics);
    let body = expand_body::of_self(&event.fields);
    let message_impl = expand_message::message_impl(
        ident,
        event.generics,
        expand_body::def(
            &message,
            &event.fields,
            None,
            &event.reserved_numbers,
            &event.reserved_names,
        ),
        expand_body::encode(&body),
        expand_body::len(&body),
        expand_body::decode(&body, &message, quote!(Self)),
        expand_body::visit(&body),
    );

    let budget = Literal::usize_unsuffixed(usize::try_from(event.max_series).unwrap_or(usize::MAX));
    let budget_check = quote_spanned! {at(event.budget_span)=>
        const _: () = {
            let series = <#ident #static_generics as #rt::Event>::SERIES;
            if series > #budget {
                let message = #p::ConstMessage::new()
                    .text("event `")
                    .text(#name)
                    .text("` can create ")
                    .number(series)
                    .text(" metric series, over its budget of ")
                    .number(#budget)
                    .text(" (one counter per combination of tag values, plus 1 per count or gauge metric and 5 per histogram, distribution or timing metric on each)\n\
                           help: remove a tag, give a Tag enum fewer values, or raise the budget with `#[event(max_series = N)]`");
                ::core::panic!("{}", message.as_str());
            }
        };
    };
    let tag_length_checks = tags.iter().filter_map(|f| f.tag.as_ref().map(|t| (f, t))).map(|(f, tag)| {
        let ty = f.ty;
        let key = &tag.key;
        quote_spanned! {at(tag.span)=>
            const _: () = {
                if #key.len() + 1 + <#ty as #rt::Tag>::MAX_VALUE_LEN > 200 {
                    ::core::panic!(::core::concat!("tag `", #key, "`: key:value can exceed DogStatsD's 200-character limit; shorten the key or the longest value"));
                }
            };
        }
    });

    // The non-generic methods are `#[inline]`, which also defers their compiling to the
    // crates that call them, as serde's generic impls are: a crate that only defines events
    // compiles none of it, and a service that publishes them compiles no decoder. For a
    // crate of 100 events (scripts/bench-compile-time), cargo-llvm-lines counts 89,600
    // lines of LLVM IR without it and 2,700 with it.
    quote! {
        const _: () = {
            #[automatically_derived]
            impl #impl_generics #rt::Event for #ident #ty_generics #where_clause {
                const NAME: &'static str = #name;
                const TOPIC: &'static str = #topic;
                const MESSAGE_NAME: &'static str = #message_name;
                const PACKAGE: &'static str = #package;
                const TAG_KEYS: &'static [&'static str] = &[#(#tag_keys),*];
                const TAG_COMBINATIONS: usize = 1usize #(* #cardinalities)*;
                const VALUE_METRICS: &'static [#p::ValueMetric] = &[#(#metric_entries),*];
                const SERIES: usize = #p::series_product(Self::TAG_COMBINATIONS, #series_per_combination);
                const SAMPLE_RATE: f64 = #sample_rate;

                #[inline]
                fn type_id() -> #p::TypeId {
                    #p::TypeId::of::<#ident #static_generics>()
                }

                #[allow(unused_mut, unused_variables)]
                fn for_each_tag(&self, mut visit: impl ::core::ops::FnMut(&'static str, &'static str)) {
                    #(#tag_visits)*
                }

                #[inline]
                fn tag_combination(&self) -> usize {
                    0usize #(#tag_indexes)*
                }

                #[allow(unused_mut, unused_variables)]
                fn for_each_tag_of_combination(combination: usize, mut visit: impl ::core::ops::FnMut(&'static str, &'static str)) {
                    if combination >= Self::TAG_COMBINATIONS {
                        return;
                    }
                    let rest = combination;
                    #(
                        let (#digits_rev, rest) = #p::split_digit(rest, #moduli_rev);
                    )*
                    let _ = rest;
                    #(
                        visit(#tag_keys, #p::tag_value_at::<#tag_types>(#digits));
                    )*
                }

                #[allow(unused_mut, unused_variables)]
                fn for_each_value_metric(&self, mut visit: impl ::core::ops::FnMut(&'static #p::ValueMetric, #p::MetricNumber)) {
                    #(#metric_visits)*
                }

                #[inline]
                fn key(&self) -> #p::Option<&[u8]> {
                    #key
                }

            }

            #message_impl

            #watch_manifest

            #budget_check
            #(#tag_length_checks)*
        };
    }
}
