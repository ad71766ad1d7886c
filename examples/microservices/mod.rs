//! The seed "microservices" system: a web scraper, a content processor, a search engine
//! and an LLM orchestrator, each its own process reporting under its own `service.name`,
//! with one trace per scraped page across every hop.
//!
//! ```text
//! scraper ──HTTP──▶ content-processor ──gRPC──▶ search-engine ──HTTP──▶ llm-orchestrator ──HTTP──▶ LLM API
//! ```
//!
//! [`run`] starts the four services as child processes of the current executable (each
//! child finds its [`Role`] in the [`ROLE_VAR`] variable and calls [`serve_role`]),
//! waits for the scraper to finish its bounded crawl, scrapes the content processor's
//! Prometheus `/metrics`, then stops the others and collects what they printed. Every
//! service gets the standard service metrics (request count, duration and errors from
//! the otel-tower layers, a work-queue length gauge, process memory and CPU) plus its
//! own, and each one's telemetry goes wherever the `OTEL_*` variables say.

mod launcher;
mod llm;
mod orchestrator;
mod processor;
mod proto;
mod report;
mod role;
mod scraper;
mod search;
mod service;
mod web;

pub use launcher::{run, Launch};
pub use report::{Outcome, PageReport, Report, ServiceRun};
pub use role::{serve_role, serve_role_or_test, Role, NEXT_VAR, ROLE_VAR};
