//! The error type returned by every fallible function of the toolkit.

use std::fmt;

/// What went wrong, as a category a caller can match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A configuration value given to the builder is invalid.
    InvalidConfig,
    /// An exporter could not be built (bad endpoint, missing feature, ...).
    Exporter,
    /// Flushing or shutting down a provider failed or timed out.
    Shutdown,
    /// An I/O operation failed (for example binding the Prometheus listener).
    Io,
}

/// The toolkit's error: a kind plus a message that says what was wrong and how to fix it.
///
/// ```
/// let err = otel_core::Telemetry::builder().sampler_ratio(2.0).init().unwrap_err();
/// assert_eq!(err.kind(), otel_core::ErrorKind::InvalidConfig);
/// assert!(err.to_string().contains("between 0.0 and 1.0"));
/// ```
#[derive(Debug, Clone)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    /// Creates an error of `kind` with a message for humans.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    #[cfg(feature = "pipeline")]
    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidConfig, message)
    }

    /// The category of the error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without the category prefix.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            ErrorKind::InvalidConfig => "invalid telemetry configuration",
            ErrorKind::Exporter => "telemetry exporter error",
            ErrorKind::Shutdown => "telemetry shutdown error",
            ErrorKind::Io => "telemetry I/O error",
        };
        write!(f, "{what}: {}", self.message)
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        Self::new(ErrorKind::Io, err.to_string())
    }
}

/// `Result` with the toolkit's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
