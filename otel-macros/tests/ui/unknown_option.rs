use otel_macros::instrumented;

#[instrumented(nme = "typo")]
fn f() {}

#[instrumented(skip(a), 42)]
fn g(a: u32) {}

fn main() {}
