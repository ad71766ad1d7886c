//! One request's telemetry, from the request head to the response body's last frame.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;

use http::header::{HeaderMap, USER_AGENT};
use http::request::Parts;
use http::Response;
use opentelemetry::baggage::{Baggage, BaggageExt};
use opentelemetry::trace::{Link, SpanBuilder, SpanKind, Status, TraceContextExt};
use opentelemetry::{Context, KeyValue, Value};
use opentelemetry_semantic_conventions::attribute::{
    CLIENT_ADDRESS, ERROR_TYPE, HTTP_RESPONSE_STATUS_CODE, HTTP_ROUTE, NETWORK_PEER_ADDRESS,
    NETWORK_PEER_PORT, NETWORK_PROTOCOL_VERSION, RPC_SYSTEM_NAME, URL_PATH, URL_QUERY, URL_SCHEME,
    USER_AGENT_ORIGINAL,
};

use super::layer::ServerConfig;
use crate::attrs::{cow_value, header_text, protocol_version, status_error_type, AttrBuf};
use crate::call::{content_length, Call, CallSpan};
use crate::config::LayerTracer;
use crate::endpoint;
use crate::grpc::{self, GrpcCode, RPC_SYSTEM_GRPC};
use crate::instruments::ServerInstruments;
use crate::method::{MethodAttrs, OTHER};
use crate::protocol::Protocol;
use crate::series::{Measurement, SeriesKey};
use crate::url::split_host_port;
use otel_core::head_sampling::Head;
use otel_core::propagation::{extract_with_context, outgoing_traceparent};

/// The W3C Trace Context Level 2 response header.
const TRACERESPONSE: http::HeaderName = http::HeaderName::from_static("traceresponse");

/// What a plain HTTP request records beyond the common fields.
struct ServerHttp {
    method: MethodAttrs,
    scheme: Value,
    route: Option<Value>,
    /// The route as the cardinality limit shares it; `None` when there is no route or
    /// it was over the limit (`_OTHER`).
    route_key: Option<Arc<str>>,
    version: Option<&'static str>,
    request_body_size: Option<u64>,
}

impl ServerHttp {
    fn of(config: &ServerConfig, parts: &Parts) -> Self {
        let text = config
            .route
            .as_ref()
            .and_then(|f| f(parts))
            .or_else(|| axum_route(parts).map(Cow::Borrowed));
        // Interned by the cardinality limit: recording the route copies no text.
        let (route, route_key) = match text {
            Some(text) => match config.shared.cardinality.intern(&text) {
                Some(shared) => (Some(Value::from(shared.clone())), Some(shared)),
                None => (Some(Value::from(OTHER)), None),
            },
            None => {
                if config.route.is_none() {
                    warn_no_route_source();
                }
                (None, None)
            }
        };
        Self {
            method: config.shared.known_methods.classify(&parts.method),
            scheme: endpoint::scheme_value(endpoint::scheme(parts)),
            route,
            route_key,
            version: protocol_version(parts.version),
            request_body_size: content_length(&parts.headers),
        }
    }

    /// Records the duration (and body sizes) of a request that ended as `outcome` says:
    /// into its bound series in the usual case, else with the attributes it has.
    fn record(&self, instruments: &ServerInstruments, outcome: Outcome<'_>) {
        let measurement = Measurement {
            seconds: outcome.seconds,
            body_sizes: outcome
                .body_sizes
                .then_some((self.request_body_size, Some(outcome.response_body_size))),
        };
        // The usual shape: a route under the limit, a status, no error.
        if let (Some(status), Some(route), Some(version), None) =
            (outcome.status, &self.route_key, self.version, outcome.error_type)
        {
            let key = SeriesKey {
                route: route.clone(),
                method: self.method.value.clone(),
                scheme: self.scheme.clone(),
                status,
                version,
            };
            let bound = instruments
                .series
                .requests
                .record(instruments.bound(), &key, &measurement, || {
                    [
                        self.method.key_value(),
                        KeyValue::new(URL_SCHEME, self.scheme.clone()),
                        KeyValue::new(HTTP_RESPONSE_STATUS_CODE, i64::from(status)),
                        KeyValue::new(HTTP_ROUTE, Value::from(route.clone())),
                        KeyValue::new(NETWORK_PROTOCOL_VERSION, version),
                    ]
                });
            if bound {
                return;
            }
        }
        let mut buf = AttrBuf::<6>::new();
        buf.push(self.method.key_value());
        buf.push(KeyValue::new(URL_SCHEME, self.scheme.clone()));
        buf.push_opt(
            outcome
                .status
                .map(|s| KeyValue::new(HTTP_RESPONSE_STATUS_CODE, i64::from(s))),
        );
        buf.push_opt(self.route.clone().map(|r| KeyValue::new(HTTP_ROUTE, r)));
        buf.push_opt(self.version.map(|v| KeyValue::new(NETWORK_PROTOCOL_VERSION, v)));
        buf.push_opt(
            outcome
                .error_type
                .cloned()
                .map(|e| KeyValue::new(ERROR_TYPE, cow_value(e))),
        );
        instruments.bound().record_unbound(&measurement, buf.as_slice());
    }

    /// The attributes of `http.server.active_requests`.
    fn active_attrs(&self) -> [KeyValue; 2] {
        [
            self.method.key_value(),
            KeyValue::new(URL_SCHEME, self.scheme.clone()),
        ]
    }

    /// Appends the HTTP attributes of the span's start and returns its name.
    fn span_name_and_attributes(
        &self,
        config: &ServerConfig,
        parts: &Parts,
        attributes: &mut Vec<KeyValue>,
    ) -> Cow<'static, str> {
        let method = &self.method;
        attributes.push(method.key_value());
        if let Some(original) = method.original_key_value() {
            attributes.push(original);
        }
        attributes.push(KeyValue::new(URL_PATH, parts.uri.path().to_owned()));
        if let Some(query) = parts.uri.query() {
            let redacted = config.shared.sensitive_query.redact(query).into_owned();
            attributes.push(KeyValue::new(URL_QUERY, redacted));
        }
        attributes.push(KeyValue::new(URL_SCHEME, self.scheme.clone()));
        if let Some(route) = &self.route {
            attributes.push(KeyValue::new(HTTP_ROUTE, route.clone()));
        }
        if let Some(version) = self.version {
            attributes.push(KeyValue::new(NETWORK_PROTOCOL_VERSION, version));
        }
        if let Some(ua) = header_text(&parts.headers, USER_AGENT) {
            attributes.push(KeyValue::new(USER_AGENT_ORIGINAL, ua));
        }
        // A route over the cardinality limit is `_OTHER` in attributes, absent from the
        // name (as an unknown route is).
        let route = self.route.as_ref().map(|r| r.as_str()).filter(|r| r != OTHER);
        match (&config.span_name, &route, &method.dynamic_name) {
            (Some(f), _, _) => f(parts, route.as_deref()),
            (None, Some(route), _) => {
                let method = method.name();
                let mut name = String::with_capacity(method.len() + 1 + route.len());
                name.push_str(method);
                name.push(' ');
                name.push_str(route);
                Cow::Owned(name)
            }
            (None, None, Some(dynamic)) => Cow::Owned(dynamic.to_string()),
            (None, None, None) => Cow::Borrowed(method.span_name),
        }
    }
}

/// How a request ended, as its metrics record it.
struct Outcome<'a> {
    status: Option<u16>,
    error_type: Option<&'a Cow<'static, str>>,
    response_body_size: u64,
    body_sizes: bool,
    seconds: f64,
}

/// The live telemetry of one request, ended as cancelled when its
/// [`InFlight`](crate::call::InFlight) holder is dropped before it finished.
pub struct ServerCall {
    config: Arc<ServerConfig>,
    span: CallSpan,
    protocol: Protocol<ServerHttp>,
    status: Option<u16>,
    error_type: Option<Cow<'static, str>>,
    response_body_size: u64,
    counted_active: bool,
}

impl ServerCall {
    pub(crate) fn start(config: Arc<ServerConfig>, parts: &Parts) -> Self {
        let span = CallSpan::begin();
        let protocol = Protocol::of(parts, || ServerHttp::of(&config, parts));
        let mut call = Self {
            config,
            span,
            protocol,
            status: None,
            error_type: None,
            response_body_size: 0,
            counted_active: false,
        };
        if let (Some(instruments), Protocol::Http(http), true) = (
            call.config.shared.instruments(),
            &call.protocol,
            call.config.active_requests,
        ) {
            instruments
                .series
                .add_active(&instruments.active_requests, &http.active_attrs(), 1);
            call.counted_active = true;
        }
        if let Some(tracer) = call.config.shared.tracer() {
            let cx = call.start_span(tracer, parts);
            call.span.started(cx);
        }
        call
    }

    /// The span's parent, from the incoming headers; in public-endpoint mode a new root
    /// with the caller's baggage, and a link to the caller's span.
    fn parent(&self, parts: &Parts) -> (Context, Option<Vec<Link>>) {
        let extract = |base: &Context| extract_with_context(base, &parts.headers);
        if !self.config.public_endpoint.as_ref().is_some_and(|f| f(parts)) {
            return (Context::map_current(extract), None);
        }
        let remote = extract(&Context::new());
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
                    .collect::<Baggage>(),
            )
        };
        (root, links)
    }

    fn start_span(&self, tracer: &LayerTracer, parts: &Parts) -> Context {
        let (parent, links) = self.parent(parts);
        // Decided before the span is described: an unsampled request builds no
        // attribute, no name and no builder.
        let start = match tracer.head(&parent, &SpanKind::Server) {
            Head::Drop(cx) => return cx,
            Head::Start(start) => start,
        };
        let mut attributes = Vec::with_capacity(14);
        let name = match &self.protocol {
            Protocol::Http(http) => http.span_name_and_attributes(&self.config, parts, &mut attributes),
            Protocol::Grpc(rpc) => {
                // `rpc.method` is set when the call ends: only then is it known whether
                // the server implements the method (else it becomes `_OTHER`), and span
                // attributes cannot be replaced, only appended.
                attributes.push(KeyValue::new(RPC_SYSTEM_NAME, RPC_SYSTEM_GRPC));
                rpc.span_name()
            }
        };
        if let Some(server) = self.config.hosts.server_address(parts) {
            attributes.push(server.address());
            attributes.extend(server.port());
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
        self.config
            .shared
            .request_headers
            .capture(&parts.headers, self.protocol.is_grpc(), &mut attributes);

        let mut builder = SpanBuilder::from_name(name)
            .with_kind(SpanKind::Server)
            .with_attributes(attributes);
        if let Some(links) = links {
            builder = builder.with_links(links);
        }
        let span = start.build_with_context(&tracer.tracer, builder, &parent);
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
        match &mut self.protocol {
            Protocol::Http(_) if status.is_server_error() => {
                self.error_type = Some(status_error_type(status.as_u16()))
            }
            Protocol::Http(_) => {}
            Protocol::Grpc(rpc) => rpc.on_head(status, response.headers()),
        }
        let is_grpc = self.protocol.is_grpc();
        self.span.if_recording(|span| {
            if !is_grpc {
                span.set_attribute(KeyValue::new(
                    HTTP_RESPONSE_STATUS_CODE,
                    i64::from(status.as_u16()),
                ));
            }
            let mut attributes: Vec<KeyValue> = Vec::new();
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
        if let Some(grpc) = self.protocol.grpc_status() {
            grpc.code = Some(GrpcCode::Unknown);
        }
        self.span.set_error(message);
    }

    fn on_data(&mut self, bytes: usize) {
        self.response_body_size = self.response_body_size.saturating_add(bytes as u64);
    }

    fn on_trailers(&mut self, trailers: &HeaderMap) {
        self.protocol.on_trailers(trailers);
    }

    fn on_body_error(&mut self, type_name: &'static str, message: String) {
        self.error_type = Some(Cow::Borrowed(type_name));
        if let Some(grpc) = self.protocol.grpc_status() {
            grpc.code.get_or_insert(GrpcCode::Unknown);
        }
        self.span.set_error(message);
    }

    /// The response (or its body) was dropped unfinished; for HTTP that is an error
    /// of this server: the client did not get the whole response.
    fn on_cancel(&mut self) {
        if !self.protocol.is_grpc() {
            self.span
                .set_error("response dropped before it was completely sent");
        }
        self.protocol.cancel(&mut self.error_type);
    }

    fn is_finished(&self) -> bool {
        self.span.is_finished()
    }

    fn finish(&mut self) {
        let Some(elapsed) = self.span.finish() else {
            return;
        };
        match &mut self.protocol {
            Protocol::Http(http) => {
                if let Some(instruments) = self.config.shared.instruments() {
                    http.record(
                        instruments,
                        Outcome {
                            status: self.status,
                            error_type: self.error_type.as_ref(),
                            response_body_size: self.response_body_size,
                            body_sizes: self.config.shared.body_sizes,
                            seconds: elapsed,
                        },
                    );
                    if self.counted_active {
                        instruments
                            .series
                            .add_active(&instruments.active_requests, &http.active_attrs(), -1);
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
            Protocol::Grpc(rpc) => {
                // A body that ended without any status is a broken call.
                let code = rpc.status.code.unwrap_or(if self.error_type.is_some() {
                    GrpcCode::Unknown
                } else {
                    GrpcCode::Cancelled
                });
                // A method counts only when the server answered it as gRPC and knows it,
                // and while the layer is under its cardinality limit: the path is the
                // client's choice.
                let unknown = code == GrpcCode::Unimplemented
                    || !rpc.answered_as_grpc
                    || !self.config.shared.cardinality.admit(&rpc.method.as_str());
                if unknown && rpc.unimplemented() {
                    // The span is named `grpc`, the method recorded as `_OTHER`.
                    self.span.if_recording(|span| span.update_name(RPC_SYSTEM_GRPC));
                }
                let error_type = code.is_server_error().then_some(Cow::Borrowed(code.as_str()));
                if let Some(instruments) = self.config.shared.instruments() {
                    let attrs = grpc::duration_attributes(&rpc.method, code, error_type.as_ref());
                    instruments.rpc_duration.record(elapsed, attrs.as_slice());
                }
                self.span.end(|span| {
                    span.set_attributes(rpc.method_attributes());
                    grpc::set_final_status(span, code, error_type, rpc.status.message.take());
                });
            }
        }
    }
}

/// The original client from `Forwarded: for=…` or `X-Forwarded-For`, as the
/// conventions ask for `client.address` behind proxies. A `for=` node is not a URI
/// authority (its port may be an obfuscated `_name`), hence `split_host_port` rather
/// than `http::uri::Authority`.
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
fn axum_route(parts: &Parts) -> Option<&str> {
    parts
        .extensions
        .get::<axum::extract::MatchedPath>()
        .map(axum::extract::MatchedPath::as_str)
}

#[cfg(not(feature = "axum"))]
fn axum_route(_parts: &Parts) -> Option<&str> {
    None
}

/// A request without a route: with the `axum` feature off an axum app's `MatchedPath`
/// is invisible, so span names silently fall back to the method. Said once, in
/// `telemetry_status().warnings`.
#[cfg(not(feature = "axum"))]
fn warn_no_route_source() {
    use std::sync::atomic::{AtomicBool, Ordering};
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.load(Ordering::Relaxed) && !WARNED.swap(true, Ordering::Relaxed) {
        otel_core::diagnostics::warn_once(
            "HttpServerLayer: requests have no http.route, so spans are named by the method \
             alone; with axum, enable otel-tower's `axum` feature; elsewhere set `.route(..)`",
        );
    }
}

#[cfg(feature = "axum")]
fn warn_no_route_source() {}
