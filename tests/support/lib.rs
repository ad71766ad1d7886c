//! Shared helpers for the integration tests (collector harness).
