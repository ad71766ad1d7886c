//! One request's telemetry, from the request head to the response body's last frame.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;

use http::header::{HeaderMap, HOST, USER_AGENT};
use http::request::Parts;
use http::Response;
use opentelemetry::baggage::BaggageExt;
use opentelemetry::trace::{Link, SpanBuilder, SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue, Value};
use opentelemetry_semantic_conventions::attribute::{
    CLIENT_ADDRESS, ERROR_TYPE, HTTP_RESPONSE_STATUS_CODE, HTTP_ROUTE, NETWORK_PEER_ADDRESS,
    NETWORK_PEER_PORT, NETWORK_PROTOCOL_VERSION, RPC_METHOD, RPC_METHOD_ORIGINAL, RPC_SYSTEM_NAME,
    SERVER_ADDRESS, SERVER_PORT, URL_PATH, URL_QUERY, URL_SCHEME, USER_AGENT_ORIGINAL,
};

use super::layer::ServerConfig;
use crate::attrs::{cow_value, header_text, protocol_version, status_error_type, AttrBuf};
use crate::call::{content_length, Call, CallSpan, ERROR_TYPE_CANCELLED};
use crate::grpc::{self, CallStatus, GrpcCode, RPC_SYSTEM_GRPC};
use crate::method::{MethodAttrs, OTHER};
use crate::url::{default_port, split_host_port};
use otel_core::propagation::{extract_with_context, outgoing_traceparent};

/// The W3C Trace Context Level 2 response header.
const TRACERESPONSE: http::HeaderName = http::HeaderName::from_static("traceresponse");

enum Protocol {
    Http {
        method: MethodAttrs,
        scheme: Value,
        route: Option<Value>,
        version: Option<&'static str>,
        request_body_size: Option<u64>,
    },
    Grpc {
        /// `rpc.method`: the full method, or `_OTHER` once the server says it does not
        /// implement it.
        method: Value,
        original: Value,
        grpc: CallStatus,
    },
}

/// The live telemetry of one request. Dropping it before [`Call::finish`] records the
/// request as cancelled.
pub struct ServerCall {
    config: Arc<ServerConfig>,
    span: CallSpan,
    protocol: Protocol,
    status: Option<u16>,
    error_type: Option<Cow<'static, str>>,
    response_body_size: u64,
    counted_active: bool,
}

impl ServerCall {
    pub(crate) fn start(config: Arc<ServerConfig>, parts: &Parts) -> Self {
        let span = CallSpan::begin();
        let is_grpc = grpc::is_grpc(&parts.headers);
        let protocol = if is_grpc {
            let (method, original) = match grpc::method_of(parts.uri.path()) {
                Some(m) => {
                    let v = Value::from(m.to_owned());
                    (v.clone(), v)
                }
                None => (Value::from(OTHER), Value::from(parts.uri.path().to_owned())),
            };
            Protocol::Grpc {
                method,
                original,
                grpc: CallStatus::default(),
            }
        } else {
            let route = config
                .route
                .as_ref()
                .and_then(|f| f(parts))
                .map(cow_value)
                .or_else(|| axum_route(parts));
            Protocol::Http {
                method: config.shared.known_methods.classify(&parts.method),
                scheme: scheme_of(parts),
                route,
                version: protocol_version(parts.version),
                request_body_size: content_length(&parts.headers),
            }
        };

        let mut call = Self {
            config,
            span,
            protocol,
            status: None,
            error_type: None,
            response_body_size: 0,
            counted_active: false,
        };
        if let (Some(instruments), Protocol::Http { method, scheme, .. }, true) = (
            call.config.shared.instruments(),
            &call.protocol,
            call.config.active_requests,
        ) {
            instruments.active_requests.add(1, &active_attrs(method, scheme));
            call.counted_active = true;
        }
        if let Some(tracer) = call.config.shared.tracer() {
            let cx = call.start_span(tracer, parts);
            call.span.started(cx);
        }
        call
    }

    fn start_span(&self, tracer: &opentelemetry::global::BoxedTracer, parts: &Parts) -> Context {
        let public = self.config.public_endpoint.as_ref().is_some_and(|f| f(parts));
        let (parent, links) = if public {
            let remote = extract_with_context(&Context::new(), &parts.headers);
            let span = remote.span();
            let sc = span.span_context();
            let links = sc.is_valid().then(|| vec![Link::with_context(sc.clone())]);
            let baggage = remote.baggage();
            let root = if baggage.is_empty() {
                Context::new()
            } else {
                Context::new().with_baggage(
                    baggage
                        .iter()
                        .map(|(k, (v, m))| (k.clone(), (v.clone(), m.clone())))
                        .collect::<opentelemetry::baggage::Baggage>(),
                )
            };
            (root, links)
        } else {
            (
                Context::map_current(|cx| extract_with_context(cx, &parts.headers)),
                None,
            )
        };

        let mut attributes = Vec::with_capacity(14);
        let name: Cow<'static, str> = match &self.protocol {
            Protocol::Http {
                method,
                scheme,
                route,
                version,
                ..
            } => {
                attributes.push(method.key_value());
                if let Some(original) = method.original_key_value() {
                    attributes.push(original);
                }
                attributes.push(KeyValue::new(URL_PATH, parts.uri.path().to_owned()));
                if let Some(query) = parts.uri.query() {
                    let redacted = self.config.shared.sensitive_query.redact(query).into_owned();
                    attributes.push(KeyValue::new(URL_QUERY, redacted));
                }
                attributes.push(KeyValue::new(URL_SCHEME, scheme.clone()));
                if let Some(route) = route {
                    attributes.push(KeyValue::new(HTTP_ROUTE, route.clone()));
                }
                if let Some(version) = version {
                    attributes.push(KeyValue::new(NETWORK_PROTOCOL_VERSION, *version));
                }
                if let Some(ua) = header_text(&parts.headers, USER_AGENT) {
                    attributes.push(KeyValue::new(USER_AGENT_ORIGINAL, ua));
                }
                let route_str = route.as_ref().map(|r| r.as_str());
                match &self.config.span_name {
                    Some(f) => f(parts, route_str.as_deref()),
                    None => match (&route_str, &method.dynamic_name) {
                        (Some(route), _) => {
                            let method = method.name();
                            let mut name = String::with_capacity(method.len() + 1 + route.len());
                            name.push_str(method);
                            name.push(' ');
                            name.push_str(route);
                            Cow::Owned(name)
                        }
                        (None, Some(dynamic)) => Cow::Owned(dynamic.to_string()),
                        (None, None) => Cow::Borrowed(method.span_name),
                    },
                }
            }
            Protocol::Grpc { method, .. } => {
                // `rpc.method` is set when the call ends: only then is it known whether
                // the server implements the method (else it becomes `_OTHER`), and span
                // attributes cannot be replaced, only appended.
                attributes.push(KeyValue::new(RPC_SYSTEM_NAME, RPC_SYSTEM_GRPC));
                if method.as_str() == OTHER {
                    Cow::Borrowed(RPC_SYSTEM_GRPC)
                } else {
                    Cow::Owned(method.as_str().into_owned())
                }
            }
        };
        let scheme_str = parts.uri.scheme_str().unwrap_or("http");
        if let Some((address, port)) = server_address(parts, scheme_str) {
            attributes.push(KeyValue::new(SERVER_ADDRESS, address));
            if let Some(port) = port {
                attributes.push(KeyValue::new(SERVER_PORT, i64::from(port)));
            }
        }
        let peer = peer_addr(parts);
        if let Some(client) = forwarded_client(&parts.headers) {
            attributes.push(KeyValue::new(CLIENT_ADDRESS, client));
        } else if let Some(peer) = peer {
            attributes.push(KeyValue::new(CLIENT_ADDRESS, peer.ip().to_string()));
        }
        if let Some(peer) = peer {
            attributes.push(KeyValue::new(NETWORK_PEER_ADDRESS, peer.ip().to_string()));
            attributes.push(KeyValue::new(NETWORK_PEER_PORT, i64::from(peer.port())));
        }
        let is_grpc = matches!(self.protocol, Protocol::Grpc { .. });
        self.config
            .shared
            .request_headers
            .capture(&parts.headers, is_grpc, &mut attributes);

        let mut builder = SpanBuilder::from_name(name)
            .with_kind(SpanKind::Server)
            .with_attributes(attributes);
        if let Some(links) = links {
            builder = builder.with_links(links);
        }
        let span = tracer.build_with_context(builder, &parent);
        parent.with_span(span)
    }
}

impl Call for ServerCall {
    fn context(&self) -> Option<&Context> {
        self.span.context()
    }

    /// Complete when nothing more is to come: the body is already at its end.
    fn on_response<B: http_body::Body>(&mut self, response: &mut Response<B>) -> bool {
        let status = response.status();
        self.status = Some(status.as_u16());
        let is_grpc = match &mut self.protocol {
            Protocol::Http { .. } => {
                if status.is_server_error() {
                    self.error_type = Some(status_error_type(status.as_u16()));
                }
                false
            }
            Protocol::Grpc { grpc, .. } => {
                grpc.on_head(status, response.headers());
                true
            }
        };
        self.span.if_recording(|span| {
            let mut attributes: Vec<KeyValue> = Vec::new();
            if !is_grpc {
                attributes.push(KeyValue::new(
                    HTTP_RESPONSE_STATUS_CODE,
                    i64::from(status.as_u16()),
                ));
            }
            self.config
                .shared
                .response_headers
                .capture(response.headers(), is_grpc, &mut attributes);
            if !attributes.is_empty() {
                span.set_attributes(attributes);
            }
        });
        if self.config.traceresponse {
            if let Some(value) = self
                .span
                .context()
                .and_then(outgoing_traceparent)
                .and_then(|tp| http::HeaderValue::from_str(&tp.to_string()).ok())
            {
                response.headers_mut().insert(TRACERESPONSE, value);
            }
        }
        response.body().is_end_stream()
    }

    fn on_error(&mut self, type_name: &'static str, message: String) {
        self.error_type = Some(Cow::Borrowed(type_name));
        if let Protocol::Grpc { grpc, .. } = &mut self.protocol {
            grpc.code = Some(GrpcCode::Unknown);
        }
        self.span.set_error(message);
    }

    fn on_data(&mut self, bytes: usize) {
        self.response_body_size = self.response_body_size.saturating_add(bytes as u64);
    }

    fn on_trailers(&mut self, trailers: &HeaderMap) {
        if let Protocol::Grpc { grpc, .. } = &mut self.protocol {
            grpc.on_trailers(trailers);
        }
    }

    fn on_body_error(&mut self, type_name: &'static str, message: String) {
        self.error_type = Some(Cow::Borrowed(type_name));
        if let Protocol::Grpc { grpc, .. } = &mut self.protocol {
            grpc.code.get_or_insert(GrpcCode::Unknown);
        }
        self.span.set_error(message);
    }

    fn finish(&mut self) {
        let Some(elapsed) = self.span.finish() else {
            return;
        };
        match &mut self.protocol {
            Protocol::Http {
                method,
                scheme,
                route,
                version,
                request_body_size,
            } => {
                if let Some(instruments) = self.config.shared.instruments() {
                    let mut buf: AttrBuf<6>;
                    let common;
                    let attrs: &[KeyValue] = match (self.status, &*route, &*version, &self.error_type) {
                        // The usual shape, built in place without the general buffer.
                        (Some(status), Some(route), Some(version), None) => {
                            common = [
                                method.key_value(),
                                KeyValue::new(URL_SCHEME, scheme.clone()),
                                KeyValue::new(HTTP_RESPONSE_STATUS_CODE, i64::from(status)),
                                KeyValue::new(HTTP_ROUTE, route.clone()),
                                KeyValue::new(NETWORK_PROTOCOL_VERSION, *version),
                            ];
                            &common
                        }
                        _ => {
                            buf = AttrBuf::new();
                            buf.push(method.key_value());
                            buf.push(KeyValue::new(URL_SCHEME, scheme.clone()));
                            buf.push_opt(
                                self.status
                                    .map(|s| KeyValue::new(HTTP_RESPONSE_STATUS_CODE, i64::from(s))),
                            );
                            buf.push_opt(route.clone().map(|r| KeyValue::new(HTTP_ROUTE, r)));
                            buf.push_opt(version.map(|v| KeyValue::new(NETWORK_PROTOCOL_VERSION, v)));
                            buf.push_opt(
                                self.error_type
                                    .clone()
                                    .map(|e| KeyValue::new(ERROR_TYPE, cow_value(e))),
                            );
                            buf.as_slice()
                        }
                    };
                    instruments.duration.record(elapsed, attrs);
                    if self.config.shared.body_sizes {
                        if let Some(size) = request_body_size {
                            instruments.request_body_size.record(*size, attrs);
                        }
                        instruments
                            .response_body_size
                            .record(self.response_body_size, attrs);
                    }
                    if self.counted_active {
                        instruments.active_requests.add(-1, &active_attrs(method, scheme));
                    }
                }
                self.span.end(|span| {
                    if let Some(error_type) = self.error_type.clone() {
                        span.set_attribute(KeyValue::new(ERROR_TYPE, cow_value(error_type)));
                        if self.status.is_some_and(|s| s >= 500) {
                            span.set_status(Status::error(""));
                        }
                    }
                });
            }
            Protocol::Grpc {
                method,
                original,
                grpc,
            } => {
                // A body that ended without any status is a broken call.
                let code = grpc.code.unwrap_or(if self.error_type.is_some() {
                    GrpcCode::Unknown
                } else {
                    GrpcCode::Cancelled
                });
                if code == GrpcCode::Unimplemented && method.as_str() != OTHER {
                    // The server does not know this method: the conventions want
                    // `_OTHER` with the original name, and the span named `grpc`.
                    *method = Value::from(OTHER);
                    self.span.if_recording(|span| span.update_name(RPC_SYSTEM_GRPC));
                }
                let error_type: Option<Cow<'static, str>> = if code.is_server_error() {
                    Some(Cow::Borrowed(code.as_str()))
                } else {
                    None
                };
                if let Some(instruments) = self.config.shared.instruments() {
                    let attrs = grpc::duration_attributes(method, code, error_type.as_ref());
                    instruments.rpc_duration.record(elapsed, attrs.as_slice());
                }
                self.span.end(|span| {
                    span.set_attribute(KeyValue::new(RPC_METHOD, method.clone()));
                    if method.as_str() == OTHER {
                        span.set_attribute(KeyValue::new(RPC_METHOD_ORIGINAL, original.clone()));
                    }
                    grpc::set_final_status(span, code, error_type, grpc.message.take());
                });
            }
        }
    }
}

impl ServerCall {
    /// Ends the call as abandoned: the response (or its body) was dropped unfinished.
    fn cancel(&mut self) {
        match &mut self.protocol {
            Protocol::Http { .. } => {
                if self.error_type.is_none() {
                    self.error_type = Some(Cow::Borrowed(ERROR_TYPE_CANCELLED));
                }
                self.span
                    .set_error("response dropped before it was completely sent");
            }
            Protocol::Grpc { grpc, .. } => {
                // Whatever the headers promised, the call did not complete.
                if grpc.code.is_none_or(|c| c == GrpcCode::Ok) {
                    grpc.code = Some(GrpcCode::Cancelled);
                }
            }
        }
        self.finish();
    }
}

impl Drop for ServerCall {
    fn drop(&mut self) {
        if !self.span.is_finished() {
            self.cancel();
        }
    }
}

fn active_attrs(method: &MethodAttrs, scheme: &Value) -> [KeyValue; 2] {
    [method.key_value(), KeyValue::new(URL_SCHEME, scheme.clone())]
}

/// `url.scheme`: the request's own scheme when it has one (HTTP/2 `:scheme`, absolute
/// form), else `http` (a TLS-terminating server sees `https` only if the proxy says so
/// in the URI).
fn scheme_of(parts: &Parts) -> Value {
    match parts.uri.scheme_str() {
        None | Some("http") => Value::from("http"),
        Some("https") => Value::from("https"),
        Some(other) => Value::from(other.to_owned()),
    }
}

/// `server.address`/`server.port`: the URI authority (HTTP/2 `:authority`, absolute
/// form) or the `Host` header.
fn server_address(parts: &Parts, scheme: &str) -> Option<(String, Option<u16>)> {
    let authority = match parts.uri.authority() {
        Some(a) => a.as_str(),
        None => parts.headers.get(HOST)?.to_str().ok()?,
    };
    let (host, port) = split_host_port(authority);
    if host.is_empty() {
        return None;
    }
    Some((host.to_owned(), port.or_else(|| default_port(scheme))))
}

/// The original client from `Forwarded: for=…` or `X-Forwarded-For`, as the
/// conventions ask for `client.address` behind proxies.
fn forwarded_client(headers: &HeaderMap) -> Option<String> {
    if let Some(forwarded) = headers.get(http::header::FORWARDED).and_then(|v| v.to_str().ok()) {
        let first = forwarded.split(',').next().unwrap_or("");
        for pair in first.split(';') {
            if let Some((k, v)) = pair.trim().split_once('=') {
                if k.trim().eq_ignore_ascii_case("for") {
                    let v = v.trim().trim_matches('"');
                    let (host, _) = split_host_port(v);
                    if !host.is_empty() && !host.starts_with('_') && host != "unknown" {
                        return Some(host.to_owned());
                    }
                }
            }
        }
    }
    const X_FORWARDED_FOR: http::header::HeaderName =
        http::header::HeaderName::from_static("x-forwarded-for");
    let xff = headers.get(X_FORWARDED_FOR)?.to_str().ok()?;
    let first = xff.split(',').next()?.trim();
    (!first.is_empty()).then(|| first.to_owned())
}

/// The peer socket address: axum's `ConnectInfo<SocketAddr>` (feature `axum`), or a
/// plain `SocketAddr` request extension (what a hyper server can insert).
fn peer_addr(parts: &Parts) -> Option<SocketAddr> {
    #[cfg(feature = "axum")]
    if let Some(info) = parts.extensions.get::<axum::extract::ConnectInfo<SocketAddr>>() {
        return Some(info.0);
    }
    parts.extensions.get::<SocketAddr>().copied()
}

#[cfg(feature = "axum")]
fn axum_route(parts: &Parts) -> Option<Value> {
    parts
        .extensions
        .get::<axum::extract::MatchedPath>()
        .map(|p| Value::from(Arc::<str>::from(p.as_str())))
}

#[cfg(not(feature = "axum"))]
fn axum_route(_parts: &Parts) -> Option<Value> {
    None
}
