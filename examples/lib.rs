//! Runnable examples live beside this file.

#[path = "microservices/mod.rs"]
pub mod microservices;
