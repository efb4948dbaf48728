//! The compile-fail catalogue: every way of closing (or taking back) a value that
//! the cache does not own alone must fail to compile, with a message that says
//! what to do instead. Each `tests/ui/*.rs` case has its expected diagnostics in
//! the `.stderr` beside it; each `tests/ui_pass/*.rs` case is the legitimate
//! counterpart and must compile and run.
//!
//! Regenerate the expected output after an intended diagnostic change with
//! `TRYBUILD=overwrite cargo test --test compile_fail`, then read the diff: the
//! messages are part of the API.
//!
//! Run it with the default features. rustc names a type by its shortest unique
//! path among all linked crates, so linking the adapters (features `http`,
//! `redis`, whose dependencies have their own `Shared` types) turns `Shared<T>`
//! into `tenure::Shared<T>` in every message; under those features the test is
//! ignored rather than compared with the wrong expectations.
//!
//! No case reaches into the standard library's source (for example through
//! `Owned::from(x)`, whose "defined here" note would quote `core`'s `From`):
//! rustc prints those lines only where the `rust-src` component is installed,
//! and the expected output must not depend on the machine.

#[test]
#[cfg_attr(
    any(feature = "http", feature = "redis"),
    ignore = "the expected diagnostics are recorded without the adapters: run `cargo test --test compile_fail` with default features"
)]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui_pass/*.rs");
}
