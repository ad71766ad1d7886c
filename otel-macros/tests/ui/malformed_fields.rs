use otel_macros::instrumented;

#[instrumented(fields(db.system))]
fn f() {}

#[instrumented(fields(= 3))]
fn g() {}

#[instrumented(fields(a. = 1))]
fn h() {}

#[instrumented(fields(a = 1, a = 2))]
fn i() {}

#[instrumented(fields(a = 1 b = 2))]
fn j() {}

fn main() {}
