//! Procedural macros for `otel-core`: `#[instrumented]` and `#[instrument_struct]`.
#![deny(missing_docs)]
