//! Runnable examples: the quick start and the seed systems rebuilt. Each program's code
//! lives in a module here, so the integration tests in `tests/` run the very code that
//! `cargo run --example NAME` runs.

#[path = "quickstart/mod.rs"]
pub mod quickstart;

#[path = "search_backend/mod.rs"]
pub mod search_backend;
