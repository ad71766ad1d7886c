//! One outgoing request's telemetry.

use std::borrow::Cow;
use std::sync::Arc;

use http::header::{HeaderMap, HOST};
use http::request::Parts;
use http::Response;
use opentelemetry::trace::{SpanBuilder, SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue, Value};
use opentelemetry_semantic_conventions::attribute::{
    ERROR_TYPE, HTTP_REQUEST_RESEND_COUNT, HTTP_RESPONSE_STATUS_CODE, NETWORK_PROTOCOL_VERSION, RPC_METHOD,
    RPC_METHOD_ORIGINAL, RPC_SYSTEM_NAME, SERVER_ADDRESS, SERVER_PORT, URL_FULL, URL_SCHEME, URL_TEMPLATE,
};

use super::layer::ClientConfig;
use super::{ResendCounter, UrlTemplate};
use crate::attrs::{cow_value, protocol_version, status_error_type, AttrBuf};
use crate::call::{content_length, Call, CallSpan, ERROR_TYPE_CANCELLED};
use crate::grpc::{self, CallStatus, GrpcCode, RPC_SYSTEM_GRPC};
use crate::method::{MethodAttrs, OTHER};
use crate::url::{default_port, full_url, split_host_port};

enum Protocol {
    Http {
        method: MethodAttrs,
        template: Option<Value>,
        request_body_size: Option<u64>,
        response_body_size: Option<u64>,
    },
    Grpc {
        method: Value,
        grpc: CallStatus,
    },
}

/// The live telemetry of one outgoing request. Dropping it before [`Call::finish`]
/// records the call as cancelled.
pub struct ClientCall {
    config: Arc<ClientConfig>,
    span: CallSpan,
    protocol: Protocol,
    server_address: Option<Value>,
    server_port: Option<i64>,
    status: Option<u16>,
    version: Option<&'static str>,
    error_type: Option<Cow<'static, str>>,
}

impl ClientCall {
    /// Starts the CLIENT span under the current context and returns the call; the
    /// caller injects [`ClientCall::context`] into the request headers.
    pub(crate) fn start(config: Arc<ClientConfig>, parts: &Parts, request_body_size: Option<u64>) -> Self {
        let span = CallSpan::begin();
        let protocol = if grpc::is_grpc(&parts.headers) {
            Protocol::Grpc {
                method: match grpc::method_of(parts.uri.path()) {
                    Some(m) => Value::from(m.to_owned()),
                    None => Value::from(OTHER),
                },
                grpc: CallStatus::default(),
            }
        } else {
            Protocol::Http {
                method: config.shared.known_methods.classify(&parts.method),
                template: parts
                    .extensions
                    .get::<UrlTemplate>()
                    .map(|t| cow_value(t.0.clone())),
                request_body_size: request_body_size.or_else(|| content_length(&parts.headers)),
                response_body_size: None,
            }
        };
        let scheme = parts.uri.scheme_str().unwrap_or("http");
        let authority = parts
            .uri
            .authority()
            .map(|a| a.as_str())
            .or_else(|| parts.headers.get(HOST).and_then(|h| h.to_str().ok()));
        let (server_address, server_port) = match authority.map(split_host_port) {
            Some((host, port)) if !host.is_empty() => (
                Some(Value::from(host.to_owned())),
                port.or_else(|| default_port(scheme)).map(i64::from),
            ),
            _ => (None, None),
        };
        let mut call = Self {
            config,
            span,
            protocol,
            server_address,
            server_port,
            status: None,
            version: None,
            error_type: None,
        };
        if let Some(tracer) = call.config.shared.tracer() {
            let cx = call.start_span(tracer, parts, scheme, authority);
            call.span.started(cx);
        }
        call
    }

    fn start_span(
        &self,
        tracer: &opentelemetry::global::BoxedTracer,
        parts: &Parts,
        scheme: &str,
        authority: Option<&str>,
    ) -> Context {
        let parent = Context::current();
        let mut attributes = Vec::with_capacity(10);
        let name: Cow<'static, str> = match &self.protocol {
            Protocol::Http { method, template, .. } => {
                attributes.push(method.key_value());
                if let Some(original) = method.original_key_value() {
                    attributes.push(original);
                }
                attributes.push(KeyValue::new(
                    URL_FULL,
                    full_url(&parts.uri, authority, &self.config.shared.sensitive_query),
                ));
                attributes.push(KeyValue::new(URL_SCHEME, scheme_value(scheme)));
                if let Some(template) = template {
                    attributes.push(KeyValue::new(URL_TEMPLATE, template.clone()));
                }
                match (&self.config.span_name, template) {
                    (Some(f), _) => f(parts),
                    (None, Some(t)) => Cow::Owned(format!("{} {}", method.name(), t.as_str())),
                    (None, None) => match &method.dynamic_name {
                        Some(d) => Cow::Owned(d.to_string()),
                        None => Cow::Borrowed(method.span_name),
                    },
                }
            }
            Protocol::Grpc { method, .. } => {
                attributes.push(KeyValue::new(RPC_SYSTEM_NAME, RPC_SYSTEM_GRPC));
                attributes.push(KeyValue::new(RPC_METHOD, method.clone()));
                if method.as_str() == OTHER {
                    attributes.push(KeyValue::new(RPC_METHOD_ORIGINAL, parts.uri.path().to_owned()));
                    Cow::Borrowed(RPC_SYSTEM_GRPC)
                } else {
                    Cow::Owned(method.as_str().into_owned())
                }
            }
        };
        if let Some(address) = &self.server_address {
            attributes.push(KeyValue::new(SERVER_ADDRESS, address.clone()));
        }
        if let Some(port) = self.server_port {
            attributes.push(KeyValue::new(SERVER_PORT, port));
        }
        if let Some(counter) = parts.extensions.get::<ResendCounter>() {
            // Counted here, where each attempt passes exactly once.
            let previous = counter.next_send();
            if previous > 0 {
                attributes.push(KeyValue::new(HTTP_REQUEST_RESEND_COUNT, i64::from(previous)));
            }
        }
        let is_grpc = matches!(self.protocol, Protocol::Grpc { .. });
        self.config
            .shared
            .request_headers
            .capture(&parts.headers, is_grpc, &mut attributes);
        let builder = SpanBuilder::from_name(name)
            .with_kind(SpanKind::Client)
            .with_attributes(attributes);
        let span = tracer.build_with_context(builder, &parent);
        parent.with_span(span)
    }

    fn is_grpc(&self) -> bool {
        matches!(self.protocol, Protocol::Grpc { .. })
    }
}

impl Call for ClientCall {
    fn context(&self) -> Option<&Context> {
        self.span.context()
    }

    /// Complete for plain HTTP (the span ends at the response head) and for a gRPC
    /// Trailers-Only response.
    fn on_response<B: http_body::Body>(&mut self, response: &mut Response<B>) -> bool {
        let status = response.status();
        self.status = Some(status.as_u16());
        self.version = protocol_version(response.version());
        let complete = match &mut self.protocol {
            Protocol::Http {
                response_body_size, ..
            } => {
                if status.is_client_error() || status.is_server_error() {
                    self.error_type = Some(status_error_type(status.as_u16()));
                }
                *response_body_size =
                    content_length(response.headers()).or_else(|| response.body().size_hint().exact());
                true
            }
            Protocol::Grpc { grpc, .. } => {
                grpc.on_head(status, response.headers()) || response.body().is_end_stream()
            }
        };
        let is_grpc = self.is_grpc();
        self.span.if_recording(|span| {
            let mut attributes = Vec::with_capacity(2);
            if !is_grpc {
                attributes.push(KeyValue::new(
                    HTTP_RESPONSE_STATUS_CODE,
                    i64::from(status.as_u16()),
                ));
                if let Some(version) = self.version {
                    attributes.push(KeyValue::new(NETWORK_PROTOCOL_VERSION, version));
                }
            }
            self.config
                .shared
                .response_headers
                .capture(response.headers(), is_grpc, &mut attributes);
            span.set_attributes(attributes);
        });
        complete
    }

    /// The transport failed: no response at all.
    fn on_error(&mut self, type_name: &'static str, message: String) {
        self.error_type = Some(Cow::Borrowed(type_name));
        if let Protocol::Grpc { grpc, .. } = &mut self.protocol {
            grpc.code = Some(GrpcCode::Unavailable);
        }
        self.span.set_error(message);
    }

    fn on_trailers(&mut self, trailers: &HeaderMap) {
        if let Protocol::Grpc { grpc, .. } = &mut self.protocol {
            grpc.on_trailers(trailers);
        }
    }

    fn on_body_error(&mut self, type_name: &'static str, message: String) {
        if let Protocol::Grpc { grpc, .. } = &mut self.protocol {
            // A stream broken before its trailers: tonic reports such calls as
            // UNKNOWN/INTERNAL; the error type says what broke.
            grpc.code.get_or_insert(GrpcCode::Unknown);
            grpc.message = Some(message);
        }
        self.error_type = Some(Cow::Borrowed(type_name));
    }

    fn finish(&mut self) {
        let Some(elapsed) = self.span.finish() else {
            return;
        };
        let server_address = self
            .server_address
            .clone()
            .map(|a| KeyValue::new(SERVER_ADDRESS, a));
        let server_port = self.server_port.map(|p| KeyValue::new(SERVER_PORT, p));
        match &mut self.protocol {
            Protocol::Http {
                method,
                template,
                request_body_size,
                response_body_size,
            } => {
                if let Some(instruments) = self.config.shared.instruments() {
                    let mut attrs: AttrBuf<7> = AttrBuf::new();
                    attrs.push(method.key_value());
                    attrs.push_opt(server_address);
                    attrs.push_opt(server_port);
                    attrs.push_opt(
                        self.status
                            .map(|s| KeyValue::new(HTTP_RESPONSE_STATUS_CODE, i64::from(s))),
                    );
                    attrs.push_opt(self.version.map(|v| KeyValue::new(NETWORK_PROTOCOL_VERSION, v)));
                    attrs.push_opt(template.clone().map(|t| KeyValue::new(URL_TEMPLATE, t)));
                    attrs.push_opt(
                        self.error_type
                            .clone()
                            .map(|e| KeyValue::new(ERROR_TYPE, cow_value(e))),
                    );
                    let attrs = attrs.as_slice();
                    instruments.duration.record(elapsed, attrs);
                    if self.config.shared.body_sizes {
                        if let Some(size) = request_body_size {
                            instruments.request_body_size.record(*size, attrs);
                        }
                        if let Some(size) = response_body_size {
                            instruments.response_body_size.record(*size, attrs);
                        }
                    }
                }
                self.span.end(|span| {
                    if let Some(error_type) = self.error_type.clone() {
                        span.set_attribute(KeyValue::new(ERROR_TYPE, cow_value(error_type)));
                        if self.status.is_some_and(|s| s >= 400) {
                            span.set_status(Status::error(""));
                        }
                    }
                });
            }
            Protocol::Grpc { method, grpc } => {
                let code = grpc.code.unwrap_or(GrpcCode::Unknown);
                let error_type: Option<Cow<'static, str>> = match &self.error_type {
                    Some(e) => Some(e.clone()),
                    None => code.is_client_error().then_some(Cow::Borrowed(code.as_str())),
                };
                if let Some(instruments) = self.config.shared.instruments() {
                    let mut attrs = grpc::duration_attributes(method, code, error_type.as_ref());
                    attrs.push_opt(server_address);
                    attrs.push_opt(server_port);
                    instruments.rpc_duration.record(elapsed, attrs.as_slice());
                }
                self.span
                    .end(|span| grpc::set_final_status(span, code, error_type, grpc.message.take()));
            }
        }
    }
}

impl ClientCall {
    /// Ends the call as abandoned: dropped before its response (or gRPC status) came.
    fn cancel(&mut self) {
        match &mut self.protocol {
            Protocol::Http { .. } => {
                if self.status.is_none() && self.error_type.is_none() {
                    self.error_type = Some(Cow::Borrowed(ERROR_TYPE_CANCELLED));
                }
            }
            Protocol::Grpc { grpc, .. } => {
                grpc.code.get_or_insert(GrpcCode::Cancelled);
            }
        }
        self.finish();
    }
}

impl Drop for ClientCall {
    fn drop(&mut self) {
        if !self.span.is_finished() {
            self.cancel();
        }
    }
}

fn scheme_value(scheme: &str) -> Value {
    match scheme {
        "http" => Value::from("http"),
        "https" => Value::from("https"),
        other => Value::from(other.to_owned()),
    }
}
