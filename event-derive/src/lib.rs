//! `#[derive(Event)]`, `#[derive(Message)]` and `#[derive(Tag)]` for `event-runtime`.
//!
//! Each derive is a pipeline: `ast` reads the `syn` input into our own AST with typed,
//! spanned attributes (`attr`); `check` validates it, collecting every mistake;
//! only then does `expand_*` generate code, so expansion never sees bad input. On error,
//! `fallback` emits stub impls beside the errors so one mistake does not cascade.
//! Use these derives through `event_runtime`, which re-exports them.

mod ast;
mod attr;
mod check;
mod check_message;
mod crate_package;
mod errors;
mod expand_body;
mod expand_event;
mod expand_message;
mod expand_tag;
mod fallback;
mod generics;

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

/// Derives `event_runtime::Event`. See the `event_runtime` crate docs.
#[proc_macro_derive(Event, attributes(event))]
pub fn derive_event(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    ast::EventInput::parse(&input)
        .and_then(check::check_event)
        .map(|event| expand_event::expand(&event))
        .unwrap_or_else(|error| fallback::event(&input, error))
        .into()
}

/// Derives `event_runtime::Message` for a struct, an enum with data or a newtype. See the
/// `event_runtime` crate docs.
#[proc_macro_derive(Message, attributes(event))]
pub fn derive_message(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    ast::MessageInput::parse(&input)
        .and_then(check_message::check_message)
        .map(|message| expand_message::expand(&message))
        .unwrap_or_else(|error| fallback::message(&input, error))
        .into()
}

/// Derives `event_runtime::Tag` for a fieldless enum. See the `event_runtime` crate docs.
#[proc_macro_derive(Tag, attributes(tag))]
pub fn derive_tag(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    ast::TagInput::parse(&input)
        .and_then(check::check_tag)
        .map(|tag| expand_tag::expand(&tag))
        .unwrap_or_else(|error| fallback::tag(&input, error))
        .into()
}
