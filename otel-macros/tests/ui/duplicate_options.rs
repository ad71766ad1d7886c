use otel_macros::instrumented;

#[instrumented(name = "a", name = "b")]
fn f() {}

#[instrumented(ret, err, ret(Debug))]
fn g() -> Result<(), String> {
    Ok(())
}

#[instrumented(skip(a, a))]
fn h(a: u32) {}

fn main() {}
