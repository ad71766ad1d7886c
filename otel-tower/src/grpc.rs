//! gRPC detection and status handling, following the RPC semantic conventions of
//! semconv 1.42.0 (the version pinned by `opentelemetry-semantic-conventions` 0.33):
//! `rpc.system.name = "grpc"`, a fully qualified `rpc.method` (`pkg.Service/Method`),
//! the status as a string in `rpc.response.status_code`, and the
//! `rpc.{server,client}.call.duration` histograms in seconds.
//!
//! ```
//! use otel_tower::grpc::{GrpcCode, is_grpc_health_check};
//!
//! assert_eq!(GrpcCode::from_header(b"5").as_str(), "NOT_FOUND");
//! assert!(GrpcCode::Internal.is_server_error());
//! assert!(!GrpcCode::NotFound.is_server_error()); // the caller's problem, not the server's
//! assert!(GrpcCode::NotFound.is_client_error());
//!
//! let req = http::Request::post("/grpc.health.v1.Health/Check").body(()).unwrap();
//! assert!(is_grpc_health_check(&req.into_parts().0));
//! ```

use std::borrow::Cow;

use http::header::{HeaderMap, CONTENT_TYPE};
use http::StatusCode;
use opentelemetry::trace::{SpanRef, Status};
use opentelemetry::{KeyValue, Value};
use opentelemetry_semantic_conventions::attribute::{
    ERROR_TYPE, RPC_METHOD, RPC_RESPONSE_STATUS_CODE, RPC_SYSTEM_NAME,
};

use crate::attrs::{cow_value, AttrBuf};

/// The `rpc.system.name` value for gRPC.
pub const RPC_SYSTEM_GRPC: &str = "grpc";

/// A gRPC status code (the `grpc-status` header or trailer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GrpcCode {
    /// 0
    Ok,
    /// 1
    Cancelled,
    /// 2
    Unknown,
    /// 3
    InvalidArgument,
    /// 4
    DeadlineExceeded,
    /// 5
    NotFound,
    /// 6
    AlreadyExists,
    /// 7
    PermissionDenied,
    /// 8
    ResourceExhausted,
    /// 9
    FailedPrecondition,
    /// 10
    Aborted,
    /// 11
    OutOfRange,
    /// 12
    Unimplemented,
    /// 13
    Internal,
    /// 14
    Unavailable,
    /// 15
    DataLoss,
    /// 16
    Unauthenticated,
}

impl GrpcCode {
    /// Parses a `grpc-status` value; anything that is not a known code is `UNKNOWN`,
    /// as the gRPC specification tells clients to treat it.
    pub fn from_header(value: &[u8]) -> Self {
        let code = std::str::from_utf8(value)
            .ok()
            .and_then(|s| s.trim().parse::<u8>().ok());
        match code {
            Some(0) => Self::Ok,
            Some(1) => Self::Cancelled,
            Some(3) => Self::InvalidArgument,
            Some(4) => Self::DeadlineExceeded,
            Some(5) => Self::NotFound,
            Some(6) => Self::AlreadyExists,
            Some(7) => Self::PermissionDenied,
            Some(8) => Self::ResourceExhausted,
            Some(9) => Self::FailedPrecondition,
            Some(10) => Self::Aborted,
            Some(11) => Self::OutOfRange,
            Some(12) => Self::Unimplemented,
            Some(13) => Self::Internal,
            Some(14) => Self::Unavailable,
            Some(15) => Self::DataLoss,
            Some(16) => Self::Unauthenticated,
            _ => Self::Unknown,
        }
    }

    /// The status carried in `grpc-status` of a header or trailer map, if any.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        headers
            .get("grpc-status")
            .map(|v| Self::from_header(v.as_bytes()))
    }

    /// The code implied by an HTTP status when a response carries no `grpc-status`
    /// (the gRPC "HTTP to gRPC status code mapping").
    pub fn from_http_status(status: StatusCode) -> Self {
        match status.as_u16() {
            200 => Self::Unknown,
            400 => Self::Internal,
            401 => Self::Unauthenticated,
            403 => Self::PermissionDenied,
            404 => Self::Unimplemented,
            429 | 502 | 503 | 504 => Self::Unavailable,
            _ => Self::Unknown,
        }
    }

    /// The name used for `rpc.response.status_code` and `error.type`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Cancelled => "CANCELLED",
            Self::Unknown => "UNKNOWN",
            Self::InvalidArgument => "INVALID_ARGUMENT",
            Self::DeadlineExceeded => "DEADLINE_EXCEEDED",
            Self::NotFound => "NOT_FOUND",
            Self::AlreadyExists => "ALREADY_EXISTS",
            Self::PermissionDenied => "PERMISSION_DENIED",
            Self::ResourceExhausted => "RESOURCE_EXHAUSTED",
            Self::FailedPrecondition => "FAILED_PRECONDITION",
            Self::Aborted => "ABORTED",
            Self::OutOfRange => "OUT_OF_RANGE",
            Self::Unimplemented => "UNIMPLEMENTED",
            Self::Internal => "INTERNAL",
            Self::Unavailable => "UNAVAILABLE",
            Self::DataLoss => "DATA_LOSS",
            Self::Unauthenticated => "UNAUTHENTICATED",
        }
    }

    /// Whether a SERVER span with this status is an error: the conventions list
    /// UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE and DATA_LOSS.
    pub fn is_server_error(self) -> bool {
        matches!(
            self,
            Self::Unknown
                | Self::DeadlineExceeded
                | Self::Unimplemented
                | Self::Internal
                | Self::Unavailable
                | Self::DataLoss
        )
    }

    /// Whether a CLIENT span with this status is an error: every code but OK.
    pub fn is_client_error(self) -> bool {
        self != Self::Ok
    }
}

/// Whether a request or response is gRPC: `content-type: application/grpc`, optionally
/// followed by `+proto`, `+json`, … (gRPC-Web, whose status travels in the body, is not).
pub fn is_grpc(headers: &HeaderMap) -> bool {
    headers.get(CONTENT_TYPE).is_some_and(|v| {
        let v = v.as_bytes();
        v.strip_prefix(b"application/grpc")
            .is_some_and(|rest| matches!(rest.first(), None | Some(b'+' | b';')))
    })
}

/// The fully qualified method (`pkg.Service/Method`) of a gRPC request path, or `None`
/// when the path does not have that shape.
pub(crate) fn method_of(path: &str) -> Option<&str> {
    let method = path.strip_prefix('/')?;
    let (service, name) = method.split_once('/')?;
    (!service.is_empty() && !name.is_empty() && !name.contains('/')).then_some(method)
}

/// A ready-made filter predicate: `true` for the standard gRPC health-check RPCs
/// (`grpc.health.v1.Health/Check` and `/Watch`), so a layer can skip them with
/// `.filter(|parts| !is_grpc_health_check(parts))`.
pub fn is_grpc_health_check(parts: &http::request::Parts) -> bool {
    parts.uri.path().starts_with("/grpc.health.v1.Health/")
}

/// The `grpc-message` of a header map, percent-decoded, for a span status description.
pub(crate) fn message(headers: &HeaderMap) -> Option<String> {
    let raw = headers.get("grpc-message")?;
    Some(
        percent_encoding::percent_decode(raw.as_bytes())
            .decode_utf8_lossy()
            .into_owned(),
    )
}

/// The status of one call as it becomes known: in the response head for
/// Trailers-Only responses and HTTP-level failures, else in the trailers.
#[derive(Debug, Default)]
pub(crate) struct CallStatus {
    pub(crate) code: Option<GrpcCode>,
    pub(crate) message: Option<String>,
}

impl CallStatus {
    /// Reads the response head; returns whether the status is known now.
    pub(crate) fn on_head(&mut self, status: StatusCode, headers: &HeaderMap) -> bool {
        if let Some(code) = GrpcCode::from_headers(headers) {
            self.code = Some(code);
            self.message = message(headers);
            true
        } else if !status.is_success() {
            self.code = Some(GrpcCode::from_http_status(status));
            true
        } else {
            false
        }
    }

    /// Reads the trailers, unless the head already carried the status.
    pub(crate) fn on_trailers(&mut self, trailers: &HeaderMap) {
        if self.code.is_none() {
            self.code = GrpcCode::from_headers(trailers);
            self.message = message(trailers);
        }
    }
}

/// The attributes of the `rpc.{server,client}.call.duration` point: system, method,
/// status and `error.type`, with room for the client's server address and port.
pub(crate) fn duration_attributes(
    method: &Value,
    code: GrpcCode,
    error_type: Option<&Cow<'static, str>>,
) -> AttrBuf<6> {
    let mut attrs = AttrBuf::new();
    attrs.push(KeyValue::new(RPC_SYSTEM_NAME, RPC_SYSTEM_GRPC));
    attrs.push(KeyValue::new(RPC_METHOD, method.clone()));
    attrs.push(KeyValue::new(RPC_RESPONSE_STATUS_CODE, code.as_str()));
    attrs.push_opt(error_type.map(|e| KeyValue::new(ERROR_TYPE, cow_value(e.clone()))));
    attrs
}

/// Sets the final status attributes of an RPC span, and Error status when the side's
/// rules make `code` an error (`error_type` is then set).
pub(crate) fn set_final_status(
    span: &SpanRef<'_>,
    code: GrpcCode,
    error_type: Option<Cow<'static, str>>,
    message: Option<String>,
) {
    span.set_attribute(KeyValue::new(RPC_RESPONSE_STATUS_CODE, code.as_str()));
    if let Some(error_type) = error_type {
        span.set_attribute(KeyValue::new(ERROR_TYPE, cow_value(error_type)));
        span.set_status(Status::error(message.unwrap_or_default()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection() {
        let mut h = HeaderMap::new();
        assert!(!is_grpc(&h));
        for (ct, expected) in [
            ("application/grpc", true),
            ("application/grpc+proto", true),
            ("application/grpc;charset=utf-8", true),
            ("application/grpc-web", false),
            ("application/grpc-web+proto", false),
            ("application/json", false),
        ] {
            h.insert(CONTENT_TYPE, ct.parse().unwrap());
            assert_eq!(is_grpc(&h), expected, "{ct}");
        }
    }

    #[test]
    fn methods_and_codes() {
        assert_eq!(method_of("/pkg.Svc/Get"), Some("pkg.Svc/Get"));
        assert_eq!(method_of("/Get"), None);
        assert_eq!(method_of("/a/b/c"), None);
        assert_eq!(method_of("//x"), None);
        assert_eq!(GrpcCode::from_header(b"13"), GrpcCode::Internal);
        assert_eq!(GrpcCode::from_header(b"99"), GrpcCode::Unknown);
        assert_eq!(GrpcCode::from_header(b"x"), GrpcCode::Unknown);
        assert_eq!(
            GrpcCode::from_http_status(StatusCode::NOT_FOUND),
            GrpcCode::Unimplemented
        );
        assert_eq!(
            GrpcCode::from_http_status(StatusCode::SERVICE_UNAVAILABLE),
            GrpcCode::Unavailable
        );
        let mut h = HeaderMap::new();
        h.insert("grpc-message", "not%20here".parse().unwrap());
        assert_eq!(message(&h).as_deref(), Some("not here"));
    }
}
