//! The split every call makes first: a gRPC request follows the RPC conventions, any
//! other request the HTTP ones. [`Protocol`] holds either the side's own HTTP state or
//! the gRPC state both sides share, so each call matches on it once per event.

use std::borrow::Cow;

use http::header::HeaderMap;
use http::request::Parts;
use opentelemetry::{KeyValue, Value};
use opentelemetry_semantic_conventions::attribute::{RPC_METHOD, RPC_METHOD_ORIGINAL};

use crate::call::ERROR_TYPE_CANCELLED;
use crate::grpc::{self, CallStatus, GrpcCode, RPC_SYSTEM_GRPC};
use crate::method::OTHER;

/// Which conventions a call follows; `H` is the side's HTTP state.
pub(crate) enum Protocol<H> {
    Http(H),
    Grpc(RpcCall),
}

impl<H> Protocol<H> {
    /// gRPC for a gRPC content type (see [`grpc::is_grpc`]), else HTTP with the state
    /// `http` builds.
    pub(crate) fn of(parts: &Parts, http: impl FnOnce() -> H) -> Self {
        if grpc::is_grpc(&parts.headers) {
            Self::Grpc(RpcCall::of(parts.uri.path()))
        } else {
            Self::Http(http())
        }
    }

    pub(crate) fn is_grpc(&self) -> bool {
        matches!(self, Self::Grpc(_))
    }

    /// The gRPC status so far, for a gRPC call.
    pub(crate) fn grpc_status(&mut self) -> Option<&mut CallStatus> {
        match self {
            Self::Http(_) => None,
            Self::Grpc(rpc) => Some(&mut rpc.status),
        }
    }

    /// The response trailers, where a gRPC call's status normally is.
    pub(crate) fn on_trailers(&mut self, trailers: &HeaderMap) {
        if let Some(status) = self.grpc_status() {
            status.on_trailers(trailers);
        }
    }

    /// Records a call abandoned before its end (its response future or body was
    /// dropped). HTTP: `error.type = "cancelled"` unless an error is already known.
    /// gRPC: status CANCELLED unless a failure is already known; an OK from the head
    /// that the body never confirmed does not count.
    pub(crate) fn cancel(&mut self, error_type: &mut Option<Cow<'static, str>>) {
        match self.grpc_status() {
            None => {
                error_type.get_or_insert(Cow::Borrowed(ERROR_TYPE_CANCELLED));
            }
            Some(status) => {
                if status.code.is_none_or(|c| c == GrpcCode::Ok) {
                    status.code = Some(GrpcCode::Cancelled);
                }
            }
        }
    }
}

/// A gRPC call's method and status.
pub(crate) struct RpcCall {
    /// `rpc.method`: `pkg.Service/Method`, or `_OTHER` when the path has another shape
    /// or the server does not implement the method.
    pub(crate) method: Value,
    /// `rpc.method_original`: set exactly when `method` is `_OTHER`.
    pub(crate) original: Option<Value>,
    pub(crate) status: CallStatus,
    /// The response was a gRPC one (a gRPC content type or a `grpc-status`): a plain
    /// HTTP answer (an axum 404, a proxy error page) means the path named no method.
    pub(crate) answered_as_grpc: bool,
}

impl RpcCall {
    fn of(path: &str) -> Self {
        let (method, original) = match grpc::method_of(path) {
            Some(method) => (Value::from(method.to_owned()), None),
            None => (Value::from(OTHER), Some(Value::from(path.to_owned()))),
        };
        Self {
            method,
            original,
            status: CallStatus::default(),
            answered_as_grpc: false,
        }
    }

    /// Reads the response head: its status, and whether it is a gRPC response.
    pub(crate) fn on_head(&mut self, status: http::StatusCode, headers: &HeaderMap) {
        self.answered_as_grpc = grpc::is_grpc(headers) || GrpcCode::from_headers(headers).is_some();
        self.status.on_head(status, headers);
    }

    /// The span name: the method, or `grpc` when it is `_OTHER`.
    pub(crate) fn span_name(&self) -> Cow<'static, str> {
        match self.original {
            Some(_) => Cow::Borrowed(RPC_SYSTEM_GRPC),
            None => Cow::Owned(self.method.as_str().into_owned()),
        }
    }

    /// `rpc.method`, and `rpc.method_original` for `_OTHER`.
    pub(crate) fn method_attributes(&self) -> impl Iterator<Item = KeyValue> {
        let original = self
            .original
            .clone()
            .map(|original| KeyValue::new(RPC_METHOD_ORIGINAL, original));
        std::iter::once(KeyValue::new(RPC_METHOD, self.method.clone())).chain(original)
    }

    /// The server answered UNIMPLEMENTED: the conventions then record `rpc.method` as
    /// `_OTHER`, with the method asked for as `rpc.method_original`. Returns whether
    /// the method changed (it was not `_OTHER` already).
    pub(crate) fn unimplemented(&mut self) -> bool {
        if self.original.is_some() {
            return false;
        }
        self.original = Some(std::mem::replace(&mut self.method, Value::from(OTHER)));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(rpc: &RpcCall) -> Vec<(String, String)> {
        rpc.method_attributes()
            .map(|kv| (kv.key.to_string(), kv.value.to_string()))
            .collect()
    }

    #[test]
    fn method_names_and_unimplemented() {
        let mut rpc = RpcCall::of("/pkg.Svc/Get");
        assert_eq!(rpc.span_name(), "pkg.Svc/Get");
        assert_eq!(keys(&rpc), [("rpc.method".into(), "pkg.Svc/Get".into())]);
        assert!(rpc.unimplemented());
        assert!(!rpc.unimplemented());
        assert_eq!(rpc.span_name(), "grpc");
        assert_eq!(
            keys(&rpc),
            [
                ("rpc.method".into(), "_OTHER".into()),
                ("rpc.method_original".into(), "pkg.Svc/Get".into())
            ]
        );

        let odd = RpcCall::of("/no-method");
        assert_eq!(odd.span_name(), "grpc");
        assert_eq!(
            odd.original.as_ref().map(Value::as_str).as_deref(),
            Some("/no-method")
        );
    }

    #[test]
    fn cancellation_keeps_a_known_failure() {
        let mut http: Protocol<()> = Protocol::Http(());
        let mut error_type = None;
        http.cancel(&mut error_type);
        assert_eq!(error_type.as_deref(), Some("cancelled"));
        let mut error_type = Some(Cow::Borrowed("503"));
        http.cancel(&mut error_type);
        assert_eq!(error_type.as_deref(), Some("503"));

        let mut grpc: Protocol<()> = Protocol::Grpc(RpcCall::of("/pkg.Svc/Get"));
        let code = |p: &mut Protocol<()>| p.grpc_status().and_then(|s| s.code);
        grpc.cancel(&mut None);
        assert_eq!(code(&mut grpc), Some(GrpcCode::Cancelled));
        if let Some(status) = grpc.grpc_status() {
            status.code = Some(GrpcCode::Ok);
        }
        grpc.cancel(&mut None);
        assert_eq!(code(&mut grpc), Some(GrpcCode::Cancelled));
        if let Some(status) = grpc.grpc_status() {
            status.code = Some(GrpcCode::Internal);
        }
        grpc.cancel(&mut None);
        assert_eq!(code(&mut grpc), Some(GrpcCode::Internal));
    }
}
