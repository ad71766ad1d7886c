use otel_macros::instrumented;

struct Opaque;

#[instrumented(fields(thing = Opaque))]
fn f() {}

fn main() {}
