//! Exporters: OTLP (gRPC and HTTP/protobuf), the console waterfall for development and
//! Prometheus text exposition; plus the bounded batch processor and the counters behind
//! [`crate::telemetry_status()`]. The in-memory recorders for tests are in
//! `crate::testing` (feature `testing`).

pub(crate) mod batch;
pub mod console;
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
pub(crate) mod otlp;
pub mod prometheus;
mod shared_reader;
pub(crate) mod stats;
pub(crate) mod tail;
#[cfg(feature = "tls")]
pub(crate) mod tls;

pub use shared_reader::SharedReader;
