use otel_macros::instrumented;

#[instrumented(kind = sideways)]
fn f() {}

#[instrumented(metrics = "no")]
fn g() {}

#[instrumented(name = "")]
fn h() {}

#[instrumented(err(Json))]
fn i() -> Result<(), String> {
    Ok(())
}

#[instrumented(parent = None, new_root)]
fn j() {}

#[instrumented(metrics = false, in_flight)]
fn k() {}

fn main() {}
