//! Resource detectors: what describes the process everything it records comes from.
//!
//! [`init`](crate::init) runs them before applying `OTEL_SERVICE_NAME`,
//! `OTEL_RESOURCE_ATTRIBUTES` and the builder's attributes, so what you set explicitly
//! wins over what is detected. Each is also a `ResourceDetector` of the SDK, for a
//! provider built by hand:
//!
//! ```
//! use otel_core::opentelemetry_sdk::Resource;
//! use otel_core::resource::LambdaResourceDetector;
//!
//! let resource = Resource::builder()
//!     .with_detector(Box::new(LambdaResourceDetector::from_env()))
//!     .build();
//! # let _ = resource;
//! ```

mod lambda;

pub use lambda::LambdaResourceDetector;
