use otel_macros::instrumented;

#[instrumented(skip(usr))]
fn f(user: u32) {}

#[instrumented(skip(self))]
fn g(user: u32) {}

#[instrumented(skip(a), skip_all)]
fn h(a: u32) {}

#[instrumented(skip())]
fn i(a: u32) {}

fn main() {}
