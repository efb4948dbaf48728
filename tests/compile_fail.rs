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

/// A case that names a positive control (`// control: tests/ui_pass/...`) must
/// have it: the control is the same code with the refused line replaced by what
/// is allowed, so the case cannot pass by failing for an unrelated reason.
#[test]
fn every_named_control_exists() {
    let mut named = 0;
    for entry in std::fs::read_dir("tests/ui").expect("tests/ui exists") {
        let path = entry.expect("readable directory entry").path();
        if path.extension().is_none_or(|ext| ext != "rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("readable case");
        for line in source.lines() {
            if let Some(control) = line.strip_prefix("// control: ") {
                named += 1;
                assert!(
                    std::path::Path::new(control.trim()).is_file(),
                    "{} names the control {control}, which does not exist",
                    path.display()
                );
            }
        }
    }
    assert!(
        named >= 14,
        "the controlled cases lost their `// control:` lines ({named} found)"
    );
}

/// Compiler output quoted in the docs is what the compiler prints today: each
/// block after a `<!-- quote: PATH -->` marker must equal the recorded `.stderr`.
#[test]
fn quoted_compiler_output_matches_the_recording() {
    let mut quotes = 0;
    for doc in ["docs/adopting.md", "docs/design.md", "docs/incident.md", "README.md"] {
        let text = std::fs::read_to_string(doc).expect("the doc exists");
        let mut rest = text.as_str();
        while let Some(at) = rest.find("<!-- quote: ") {
            let after = &rest[at + "<!-- quote: ".len()..];
            let (path, after) = after.split_once(" -->").expect("a closed quote marker");
            let block = after
                .split_once("```text\n")
                .and_then(|(_, b)| b.split_once("\n```"))
                .map(|(quoted, _)| quoted)
                .expect("a ```text block follows the marker");
            let recorded = std::fs::read_to_string(path).expect("the quoted recording exists");
            assert_eq!(
                block.trim_end(),
                recorded.trim_end(),
                "{doc} quotes {path}, which has changed"
            );
            quotes += 1;
            rest = after;
        }
    }
    assert!(
        quotes >= 1,
        "docs/adopting.md quotes the compiler's output at least once"
    );
}
