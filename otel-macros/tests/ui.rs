//! Compile errors: each points at the offending token, and all are reported at once.
// `unrecordable_field` fails in generated code, which a `--cfg otel_noop` build drops.
#![cfg(not(otel_noop))]

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
