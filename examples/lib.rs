//! Runnable examples: the quick start and the seed systems rebuilt. Each program's code
//! lives in a module here (`NAME/mod.rs`), so the integration tests in `tests/` run the
//! very code that `cargo run --example NAME` runs (`NAME/main.rs`, a thin `main`).

#[path = "flashcards/mod.rs"]
pub mod flashcards;
pub mod local_ai;
pub mod logging;
#[path = "microservices/mod.rs"]
pub mod microservices;
#[path = "quickstart/mod.rs"]
pub mod quickstart;
#[path = "search_backend/mod.rs"]
pub mod search_backend;
pub mod serve;
#[path = "text_analysis/mod.rs"]
pub mod text_analysis;
