//! Runnable examples live beside this file: each seed system is a module here (its
//! code) and an example target (`NAME/main.rs`, a thin `main`).

pub mod local_ai;
#[path = "text_analysis/mod.rs"]
pub mod text_analysis;
