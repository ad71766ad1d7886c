//! What can go wrong on the way to the model.

use std::fmt;

/// An LLM call failed; which variant decides whether it is retried and whether it
/// counts against the circuit breaker.
#[derive(Debug, Clone)]
pub enum LlmError {
    /// A `5xx` or a transport error: worth retrying, counts as a failure.
    Unavailable(String),
    /// A `4xx` or an unreadable answer: retrying will not help.
    Rejected(String),
    /// The circuit breaker is open: the call was not sent.
    CircuitOpen,
}

impl LlmError {
    /// Whether another attempt may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, LlmError::Unavailable(_))
    }

    /// A short, low-cardinality name (`unavailable`, `rejected`, `circuit_open`).
    pub fn kind(&self) -> &'static str {
        match self {
            LlmError::Unavailable(_) => "unavailable",
            LlmError::Rejected(_) => "rejected",
            LlmError::CircuitOpen => "circuit_open",
        }
    }
}

impl fmt::Display for LlmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LlmError::Unavailable(why) => write!(f, "model unavailable: {why}"),
            LlmError::Rejected(why) => write!(f, "request rejected: {why}"),
            LlmError::CircuitOpen => f.write_str("circuit open: call not sent"),
        }
    }
}

impl std::error::Error for LlmError {}
