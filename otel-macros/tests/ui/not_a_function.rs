use otel_macros::{instrument_struct, instrumented};

#[instrumented]
struct Config;

#[instrument_struct]
fn free() {}

fn main() {}
