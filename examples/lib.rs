//! Runnable examples live beside this file: each seed system is a module here (its
//! code) and an example target (`NAME/main.rs`, a thin `main`).

#[path = "flashcards/mod.rs"]
pub mod flashcards;
pub mod local_ai;
pub mod logging;
#[path = "microservices/mod.rs"]
pub mod microservices;
#[path = "text_analysis/mod.rs"]
pub mod text_analysis;
