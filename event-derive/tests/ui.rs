//! Compile-time rules: every mistake in `ui/fail` must fail with the message in its
//! `.stderr` snapshot, and everything in `ui/pass` must compile and run.
//!
//! Snapshots depend on the compiler version (see `rust-toolchain.toml`); regenerate with
//! `TRYBUILD=overwrite cargo test -p event-derive --test ui` and read the diff: messages are product surface.

#[test]
fn compile_fail() {
    trybuild::TestCases::new().compile_fail("tests/ui/fail/*.rs");
}

#[test]
fn pass() {
    trybuild::TestCases::new().pass("tests/ui/pass/*.rs");
}
