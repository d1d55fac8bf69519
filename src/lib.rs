//! The food-delivery order flow that the examples run and the integration tests check.
