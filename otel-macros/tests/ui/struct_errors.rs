use otel_macros::instrument_struct;

struct Repo;

#[instrument_struct(name = "repo", kind = clint)]
impl Repo {
    #[instrumented(skip(idd))]
    fn find(&self, id: u64) -> u64 {
        id
    }

    #[no_instrument]
    #[instrumented]
    fn both(&self) {}

    #[instrumented(unknown)]
    fn bad(&self) {}
}

fn main() {}
