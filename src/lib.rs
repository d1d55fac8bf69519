//! The food-delivery order flow that the examples run and the integration tests check.
//!
//! [`order_flow::events`] defines the events once; [`order_flow::simulate`] publishes a
//! seeded stream of orders through a `Dispatcher`; [`order_flow::views`] reads what was
//! sent back in two ways (DogStatsD counters, Kafka payloads) and checks they agree.

#![warn(missing_docs)]

#[cfg(feature = "service")]
pub mod checkout_service;
pub mod env;
pub mod order_flow;
#[cfg(feature = "kafka")]
pub mod readback;

/// The README's Rust examples, compiled and run as doctests so they cannot rot. They use
/// every sink, so they build with features `statsd` and `warehouse` (`scripts/test` builds
/// with every feature).
#[doc = include_str!("../README.md")]
#[cfg(all(doctest, feature = "statsd", feature = "warehouse"))]
pub struct ReadmeDoctests;
