//! Tower layers for HTTP and gRPC with OpenTelemetry semantic conventions.
#![deny(missing_docs)]
