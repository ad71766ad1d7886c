//! Exporters: OTLP (gRPC and HTTP/protobuf), the console waterfall for development,
//! Prometheus text exposition, and in-memory capture for tests; plus the bounded batch
//! processor and the counters behind [`crate::status()`].

pub(crate) mod batch;
pub mod console;
pub mod memory;
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
pub(crate) mod otlp;
pub mod prometheus;
mod shared_reader;
pub(crate) mod stats;

pub use shared_reader::SharedReader;
