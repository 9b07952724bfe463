//! Compile-fail tests of the `rules!` macro: each file in `tests/ui/` is a
//! mistake a rule author can make, with the exact error (`.stderr`) it must
//! produce, pointing at the offending token. `tests/ui-pass/` must compile.

#[test]
fn rule_author_mistakes_are_compile_errors_at_the_offending_token() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/*.rs");
    t.pass("ui-pass/*.rs");
}
