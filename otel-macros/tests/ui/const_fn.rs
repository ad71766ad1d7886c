use otel_macros::instrumented;

#[instrumented]
const fn answer() -> u32 {
    42
}

fn main() {}
