//! The `#[event(...)]` and `#[tag(...)]` attributes, parsed into typed values that keep
//! their spans. Parsing goes on after a bad entry so that every mistake is reported.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::parse::Parse as _;
use syn::spanned::Spanned as _;
use syn::{Attribute, LitFloat, LitInt, LitStr};

use crate::errors::Errors;

/// A value and where it was written.
#[derive(Clone, Debug)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

/// `#[event(...)]` on the struct.
#[derive(Default)]
pub struct ContainerAttrs {
    pub name: Option<Spanned<String>>,
    pub topic: Option<Spanned<String>>,
    /// `package = "acme.payments.v1"`: the protobuf package of the event's message.
    pub package: Option<Spanned<String>>,
    pub max_series: Option<Spanned<u64>>,
    pub sample_rate: Option<Spanned<f64>>,
    /// `reserved(7, "coupon_code")`: numbers and names of removed fields.
    pub reserved_numbers: Vec<Spanned<u32>>,
    pub reserved_names: Vec<Spanned<String>>,
}

/// A DogStatsD value metric type, as written in `metric = "..."`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricKind {
    Count,
    Gauge,
    Histogram,
    Distribution,
    Timing,
}

impl MetricKind {
    const NAMES: &'static str =
        "\"count\", \"gauge\", \"histogram\", \"distribution\" or \"timing\"";

    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "count" => MetricKind::Count,
            "gauge" => MetricKind::Gauge,
            "histogram" => MetricKind::Histogram,
            "distribution" => MetricKind::Distribution,
            "timing" => MetricKind::Timing,
            _ => return None,
        })
    }
}

/// `#[event(...)]` on a field.
#[derive(Default)]
pub struct FieldAttrs {
    /// `key`.
    pub key: Option<Span>,
    /// `tag`, or `tag = "renamed"`.
    pub tag: Option<Spanned<Option<String>>>,
    /// `metric = "kind"`.
    pub metric: Option<Spanned<MetricKind>>,
    /// `id = N`.
    pub id: Option<Spanned<u32>>,
}

/// `#[tag(...)]` on a variant.
#[derive(Default)]
pub struct VariantAttrs {
    pub rename: Option<Spanned<String>>,
}

const CONTAINER_KEYS: &str =
    "`name`, `topic`, `package`, `max_series`, `sample_rate` or `reserved`";
const FIELD_KEYS: &str = "`key`, `tag`, `metric` or `id`";

/// Runs `parse_entry` on each entry of every `#[<path>(...)]` attribute, recording
/// errors instead of stopping at the first.
fn each_entry(
    attrs: &[Attribute],
    path: &str,
    errors: &mut Errors,
    mut parse_entry: impl FnMut(&str, &ParseNestedMeta<'_>, &mut Errors) -> syn::Result<()>,
) {
    for attr in attrs.iter().filter(|a| a.path().is_ident(path)) {
        let result = attr.parse_nested_meta(|meta| {
            let key = meta
                .path
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            parse_entry(&key, &meta, errors)
        });
        if let Err(error) = result {
            errors.push(error);
        }
    }
}

/// Consumes `= value` of an entry that was rejected, so parsing can go on after it.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) {
        meta.value()?.parse::<syn::Expr>()?;
    }
    Ok(())
}

/// Stores an entry's value with the span errors about it should point at, unless the
/// entry was already given.
fn set_once<T>(
    slot: &mut Option<Spanned<T>>,
    value: T,
    span: Span,
    meta: &ParseNestedMeta<'_>,
    key: &str,
    errors: &mut Errors,
) {
    if slot.is_some() {
        errors.at(&meta.path, format!("`{key}` is given twice"));
    } else {
        *slot = Some(Spanned { value, span });
    }
}

pub fn container(attrs: &[Attribute], errors: &mut Errors) -> ContainerAttrs {
    let mut out = ContainerAttrs::default();
    each_entry(attrs, "event", errors, |key, meta, errors| {
        match key {
            "name" => {
                let lit: LitStr = meta.value()?.parse()?;
                set_once(&mut out.name, lit.value(), lit.span(), meta, key, errors);
            }
            "topic" => {
                let lit: LitStr = meta.value()?.parse()?;
                set_once(&mut out.topic, lit.value(), lit.span(), meta, key, errors);
            }
            "package" => {
                let lit: LitStr = meta.value()?.parse()?;
                set_once(&mut out.package, lit.value(), lit.span(), meta, key, errors);
            }
            "max_series" => {
                let lit: LitInt = meta.value()?.parse()?;
                match lit.base10_parse::<u64>() {
                    Ok(n) if n > 0 => {
                        set_once(&mut out.max_series, n, lit.span(), meta, key, errors)
                    }
                    _ => errors.at(&lit, "`max_series` must be a whole number above 0"),
                }
            }
            "sample_rate" => {
                let lit: LitFloat = meta.value()?.parse()?;
                match lit.base10_parse::<f64>() {
                    Ok(rate) if rate > 0.0 && rate <= 1.0 => {
                        set_once(&mut out.sample_rate, rate, lit.span(), meta, key, errors)
                    }
                    _ => errors.at(
                        &lit,
                        "`sample_rate` must be above 0.0 and at most 1.0, e.g. `sample_rate = 0.1`",
                    ),
                }
            }
            "reserved" => {
                let content;
                syn::parenthesized!(content in meta.input);
                let items = content.parse_terminated(syn::Lit::parse, syn::Token![,])?;
                for item in items {
                    match &item {
                        syn::Lit::Int(n) => match n.base10_parse::<u32>() {
                            Ok(number) => out.reserved_numbers.push(Spanned { value: number, span: n.span() }),
                            Err(_) => errors.at(n, "a reserved field number is a whole number"),
                        },
                        syn::Lit::Str(name) => {
                            out.reserved_names.push(Spanned { value: name.value(), span: name.span() })
                        }
                        other => errors.at(
                            other,
                            "`reserved(...)` takes field numbers and quoted field names, e.g. `reserved(7, \"coupon_code\")`",
                        ),
                    }
                }
            }
            "key" | "tag" | "metric" | "id" => {
                errors.at(
                    &meta.path,
                    format!("`{key}` belongs on a field, not on the struct"),
                );
                skip_value(meta)?;
            }
            _ => {
                errors.at(
                    &meta.path,
                    format!("unknown event attribute `{key}`; on the struct, use {CONTAINER_KEYS}"),
                );
                skip_value(meta)?;
            }
        }
        Ok(())
    });
    out
}

pub fn field(attrs: &[Attribute], errors: &mut Errors) -> FieldAttrs {
    let mut out = FieldAttrs::default();
    each_entry(attrs, "event", errors, |key, meta, errors| {
        match key {
            "key" => {
                if out.key.is_some() {
                    errors.at(&meta.path, "`key` is given twice");
                }
                out.key = Some(meta.path.span());
                skip_value(meta)?;
            }
            "tag" => {
                let rename = if meta.input.peek(syn::Token![=]) {
                    let lit: LitStr = meta.value()?.parse()?;
                    Some(lit.value())
                } else {
                    None
                };
                set_once(&mut out.tag, rename, meta.path.span(), meta, key, errors);
            }
            "metric" => {
                if !meta.input.peek(syn::Token![=]) {
                    errors.at(
                        &meta.path,
                        format!(
                            "`metric` needs a type: `metric = \"distribution\"`; one of {}",
                            MetricKind::NAMES
                        ),
                    );
                    return Ok(());
                }
                let lit: LitStr = meta.value()?.parse()?;
                match MetricKind::from_name(&lit.value()) {
                    Some(kind) => {
                        set_once(&mut out.metric, kind, meta.path.span(), meta, key, errors)
                    }
                    None => errors.at(
                        &lit,
                        format!(
                            "unknown metric type {:?}; use {}",
                            lit.value(),
                            MetricKind::NAMES
                        ),
                    ),
                }
            }
            "id" => {
                let lit: LitInt = meta.value()?.parse()?;
                match lit.base10_parse::<u32>() {
                    Ok(n) => set_once(&mut out.id, n, lit.span(), meta, key, errors),
                    Err(_) => errors.at(
                        &lit,
                        "`id` must be a protobuf field number, from 1 to 536870911",
                    ),
                }
            }
            "name" | "topic" | "package" | "max_series" | "sample_rate" | "reserved" => {
                errors.at(
                    &meta.path,
                    format!("`{key}` belongs on the struct, not on a field"),
                );
                skip_value(meta)?;
            }
            _ => {
                errors.at(
                    &meta.path,
                    format!("unknown event attribute `{key}`; on a field, use {FIELD_KEYS}"),
                );
                skip_value(meta)?;
            }
        }
        Ok(())
    });
    out
}

pub fn variant(attrs: &[Attribute], errors: &mut Errors) -> VariantAttrs {
    let mut out = VariantAttrs::default();
    each_entry(attrs, "tag", errors, |key, meta, errors| {
        match key {
            "rename" => {
                let lit: LitStr = meta.value()?.parse()?;
                set_once(&mut out.rename, lit.value(), lit.span(), meta, key, errors);
            }
            _ => {
                errors.at(
                    &meta.path,
                    format!("unknown tag attribute `{key}`; use `rename = \"value\"`"),
                );
                skip_value(meta)?;
            }
        }
        Ok(())
    });
    out
}
