//! One outgoing request's telemetry.

use std::borrow::Cow;
use std::sync::Arc;

use http::header::HeaderMap;
use http::request::Parts;
use http::uri::Authority;
use http::{Response, StatusCode, Version};
use opentelemetry::trace::{SpanBuilder, SpanKind, Status, TraceContextExt};
use opentelemetry::{Context, KeyValue, Value};
use opentelemetry_semantic_conventions::attribute::{
    ERROR_TYPE, HTTP_REQUEST_RESEND_COUNT, HTTP_RESPONSE_STATUS_CODE, NETWORK_PROTOCOL_VERSION,
    RPC_SYSTEM_NAME, URL_FULL, URL_SCHEME, URL_TEMPLATE,
};

use super::layer::ClientConfig;
use super::{ResendCounter, UrlTemplate};
use crate::attrs::{cow_value, protocol_version, status_error_type, AttrBuf};
use crate::call::{content_length, Call, CallSpan};
use crate::config::LayerTracer;
use crate::endpoint::{self, ServerAddress};
use crate::grpc::{self, GrpcCode, RPC_SYSTEM_GRPC};
use crate::instruments::ClientInstruments;
use crate::method::MethodAttrs;
use crate::protocol::Protocol;
use crate::series::{ClientKey, Measurement};
use crate::url::full_url;
use otel_core::head_sampling::Head;
use otel_core::propagation::inject_context;

/// Whether the client sees a response's trailers, where a gRPC call's status is. The
/// tower layer follows the response body to its end, so a request with a gRPC content
/// type follows the RPC conventions there; reqwest hands its middleware only the head,
/// so every request recorded through it follows the HTTP conventions (its status code
/// is all that can be known).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trailers {
    Seen,
    #[cfg_attr(not(feature = "reqwest"), allow(dead_code))]
    Unseen,
}

/// What a plain HTTP request records beyond the common fields.
struct ClientHttp {
    method: MethodAttrs,
    template: Option<Value>,
    request_body_size: Option<u64>,
    response_body_size: Option<u64>,
}

impl ClientHttp {
    fn of(config: &ClientConfig, parts: &Parts, request_body_size: Option<u64>) -> Self {
        Self {
            method: config.shared.known_methods.classify(&parts.method),
            template: parts
                .extensions
                .get::<UrlTemplate>()
                .map(|t| cow_value(t.0.clone()))
                // Past the layer's cardinality limit a new template is left out, so the
                // span is named by the method alone (as without a template).
                .filter(|t| config.shared.cardinality.admit(&t.as_str())),
            request_body_size: request_body_size.or_else(|| content_length(&parts.headers)),
            response_body_size: None,
        }
    }

    /// Records the duration (and body sizes) of a request that ended as `ended` says:
    /// into its bound series in the usual case, else with the attributes it has.
    fn record(&self, instruments: &ClientInstruments, server: Option<&ServerAddress>, ended: Ended<'_>) {
        let measurement = Measurement {
            seconds: ended.seconds,
            body_sizes: ended
                .body_sizes
                .then_some((self.request_body_size, self.response_body_size)),
        };
        let attributes = || {
            let mut attrs: AttrBuf<7> = AttrBuf::new();
            attrs.push(self.method.key_value());
            attrs.push_opt(server.map(ServerAddress::address));
            attrs.push_opt(server.and_then(ServerAddress::port));
            attrs.push_opt(
                ended
                    .status
                    .map(|s| KeyValue::new(HTTP_RESPONSE_STATUS_CODE, i64::from(s))),
            );
            attrs.push_opt(ended.version.map(|v| KeyValue::new(NETWORK_PROTOCOL_VERSION, v)));
            attrs.push_opt(self.template.clone().map(|t| KeyValue::new(URL_TEMPLATE, t)));
            attrs.push_opt(
                ended
                    .error_type
                    .cloned()
                    .map(|e| KeyValue::new(ERROR_TYPE, cow_value(e))),
            );
            attrs
        };
        // The usual shape: a status, a version, no error.
        if let (Some(status), Some(version), None) = (ended.status, ended.version, ended.error_type) {
            let key = ClientKey {
                method: self.method.value.clone(),
                address: server.map(|s| s.host().clone()),
                port: server.and_then(ServerAddress::port_number),
                status,
                version,
                template: self.template.clone(),
            };
            if instruments
                .series
                .record(instruments.bound(), &key, &measurement, attributes)
            {
                return;
            }
        }
        instruments
            .bound()
            .record_unbound(&measurement, attributes().as_slice());
    }

    /// Appends the HTTP attributes of the span's start and returns its name.
    fn span_name_and_attributes(
        &self,
        config: &ClientConfig,
        parts: &Parts,
        authority: Option<&Authority>,
        attributes: &mut Vec<KeyValue>,
    ) -> Cow<'static, str> {
        let method = &self.method;
        attributes.push(method.key_value());
        if let Some(original) = method.original_key_value() {
            attributes.push(original);
        }
        let url = full_url(
            &parts.uri,
            authority.map(Authority::as_str),
            &config.shared.sensitive_query,
        );
        attributes.push(KeyValue::new(URL_FULL, url));
        attributes.push(KeyValue::new(
            URL_SCHEME,
            endpoint::scheme_value(endpoint::scheme(parts)),
        ));
        if let Some(template) = &self.template {
            attributes.push(KeyValue::new(URL_TEMPLATE, template.clone()));
        }
        match (&config.span_name, &self.template) {
            (Some(f), _) => f(parts),
            (None, Some(t)) => Cow::Owned(format!("{} {}", method.name(), t.as_str())),
            (None, None) => match &method.dynamic_name {
                Some(d) => Cow::Owned(d.to_string()),
                None => Cow::Borrowed(method.span_name),
            },
        }
    }
}

/// How a request ended, as its metrics record it.
struct Ended<'a> {
    status: Option<u16>,
    version: Option<&'static str>,
    error_type: Option<&'a Cow<'static, str>>,
    body_sizes: bool,
    seconds: f64,
}

/// The live telemetry of one outgoing request, ended as cancelled when its
/// [`InFlight`](crate::call::InFlight) holder is dropped before it finished.
pub struct ClientCall {
    config: Arc<ClientConfig>,
    span: CallSpan,
    protocol: Protocol<ClientHttp>,
    server: Option<ServerAddress>,
    status: Option<u16>,
    version: Option<&'static str>,
    error_type: Option<Cow<'static, str>>,
}

impl ClientCall {
    /// What every client does before it sends a request: unless telemetry is off or the
    /// filter skips the request, starts its call; then injects the trace context (the
    /// call's span, else the current context) into its headers. A request the filter
    /// skips is left untouched.
    pub(crate) fn prepare(
        config: &Arc<ClientConfig>,
        parts: &mut Parts,
        request_body_size: Option<u64>,
        trailers: Trailers,
    ) -> Option<Self> {
        if !config.shared.is_active() {
            // With telemetry off too: downstream services may still record the trace.
            inject_current(&mut parts.headers);
            return None;
        }
        if !config.shared.records(parts) {
            return None;
        }
        let call = Self::start(config.clone(), parts, request_body_size, trailers);
        match call.context() {
            Some(cx) => inject_context(cx, &mut parts.headers),
            None => inject_current(&mut parts.headers),
        }
        Some(call)
    }

    /// Starts the CLIENT span under the current context and returns the call.
    fn start(
        config: Arc<ClientConfig>,
        parts: &Parts,
        request_body_size: Option<u64>,
        trailers: Trailers,
    ) -> Self {
        let span = CallSpan::begin();
        let http = || ClientHttp::of(&config, parts, request_body_size);
        let protocol = match trailers {
            Trailers::Seen => Protocol::of(parts, http),
            Trailers::Unseen => Protocol::Http(http()),
        };
        let server = config.hosts.server_address(parts);
        let mut call = Self {
            config,
            span,
            protocol,
            server,
            status: None,
            version: None,
            error_type: None,
        };
        if let Some(tracer) = call.config.shared.tracer() {
            let cx = call.start_span(tracer, parts);
            call.span.started(cx);
        }
        call
    }

    fn start_span(&self, tracer: &LayerTracer, parts: &Parts) -> Context {
        let parent = Context::current();
        // Counted here, where each attempt passes exactly once, sampled or not.
        let resend_count = parts
            .extensions
            .get::<ResendCounter>()
            .map(ResendCounter::next_send)
            .filter(|previous| *previous > 0);
        // Decided before the span is described: an unsampled request builds no
        // attribute, no name and no builder.
        let start = match tracer.head(&parent, &SpanKind::Client) {
            Head::Drop(cx) => return cx,
            Head::Start(start) => start,
        };
        let mut attributes = Vec::with_capacity(10);
        let name = match &self.protocol {
            Protocol::Http(http) => {
                let authority = endpoint::authority(parts);
                http.span_name_and_attributes(&self.config, parts, authority.as_deref(), &mut attributes)
            }
            Protocol::Grpc(rpc) => {
                attributes.push(KeyValue::new(RPC_SYSTEM_NAME, RPC_SYSTEM_GRPC));
                attributes.extend(rpc.method_attributes());
                rpc.span_name()
            }
        };
        if let Some(server) = &self.server {
            attributes.push(server.address());
            attributes.extend(server.port());
        }
        if let Some(previous) = resend_count {
            attributes.push(KeyValue::new(HTTP_REQUEST_RESEND_COUNT, i64::from(previous)));
        }
        self.config
            .shared
            .request_headers
            .capture(&parts.headers, self.protocol.is_grpc(), &mut attributes);
        let builder = SpanBuilder::from_name(name)
            .with_kind(SpanKind::Client)
            .with_attributes(attributes);
        let span = start.build_with_context(&tracer.tracer, builder, &parent);
        parent.with_span(span)
    }

    /// Records the response head, from any client: its status, version and headers, the
    /// body's exact size when known before it is read, and whether the body is already
    /// over. Returns `true` when the call is complete: always for plain HTTP (the span
    /// ends at the response head), and for a gRPC Trailers-Only response.
    pub(crate) fn on_head(
        &mut self,
        status: StatusCode,
        version: Version,
        headers: &HeaderMap,
        body_size: Option<u64>,
        body_ended: bool,
    ) -> bool {
        self.status = Some(status.as_u16());
        self.version = protocol_version(version);
        let complete = match &mut self.protocol {
            Protocol::Http(http) => {
                if status.is_client_error() || status.is_server_error() {
                    self.error_type = Some(status_error_type(status.as_u16()));
                }
                http.response_body_size = content_length(headers).or(body_size);
                true
            }
            Protocol::Grpc(rpc) => rpc.status.on_head(status, headers) || body_ended,
        };
        let is_grpc = self.protocol.is_grpc();
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
                .capture(headers, is_grpc, &mut attributes);
            span.set_attributes(attributes);
        });
        complete
    }
}

/// Writes the current context into a request's headers: the request is not recorded,
/// but the trace it belongs to goes on downstream.
pub(crate) fn inject_current(headers: &mut HeaderMap) {
    inject_context(&Context::current(), headers);
}

impl Call for ClientCall {
    fn context(&self) -> Option<&Context> {
        self.span.context()
    }

    fn on_response<B: http_body::Body>(&mut self, response: &mut Response<B>) -> bool {
        let body = response.body();
        let (body_size, body_ended) = (body.size_hint().exact(), body.is_end_stream());
        self.on_head(
            response.status(),
            response.version(),
            response.headers(),
            body_size,
            body_ended,
        )
    }

    /// The transport failed: no response at all.
    fn on_error(&mut self, type_name: &'static str, message: String) {
        self.error_type = Some(Cow::Borrowed(type_name));
        if let Some(grpc) = self.protocol.grpc_status() {
            grpc.code = Some(GrpcCode::Unavailable);
        }
        self.span.set_error(message);
    }

    fn on_trailers(&mut self, trailers: &HeaderMap) {
        self.protocol.on_trailers(trailers);
    }

    fn on_body_error(&mut self, type_name: &'static str, message: String) {
        if let Some(grpc) = self.protocol.grpc_status() {
            // A stream broken before its trailers: tonic reports such calls as
            // UNKNOWN/INTERNAL; the error type says what broke.
            grpc.code.get_or_insert(GrpcCode::Unknown);
            grpc.message = Some(message);
        }
        self.error_type = Some(Cow::Borrowed(type_name));
    }

    /// Dropped before its response (or gRPC status) came, by a timeout or `select!`
    /// above the layer: recorded without Error status, since the conventions do not
    /// count deliberate cancellation as a failure.
    fn on_cancel(&mut self) {
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
                        self.server.as_ref(),
                        Ended {
                            status: self.status,
                            version: self.version,
                            error_type: self.error_type.as_ref(),
                            body_sizes: self.config.shared.body_sizes,
                            seconds: elapsed,
                        },
                    );
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
            Protocol::Grpc(rpc) => {
                let code = rpc.status.code.unwrap_or(GrpcCode::Unknown);
                let error_type: Option<Cow<'static, str>> = match &self.error_type {
                    Some(e) => Some(e.clone()),
                    None => code.is_client_error().then_some(Cow::Borrowed(code.as_str())),
                };
                if let Some(instruments) = self.config.shared.instruments() {
                    let mut attrs = grpc::duration_attributes(&rpc.method, code, error_type.as_ref());
                    attrs.push_opt(self.server.as_ref().map(ServerAddress::address));
                    attrs.push_opt(self.server.as_ref().and_then(ServerAddress::port));
                    instruments.rpc_duration.record(elapsed, attrs.as_slice());
                }
                self.span
                    .end(|span| grpc::set_final_status(span, code, error_type, rpc.status.message.take()));
            }
        }
    }
}
