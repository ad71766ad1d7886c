//! The tracer and the instruments a layer records with, created once per layer.

use std::fmt;
use std::sync::Arc;

use opentelemetry::global::{self, BoxedTracer};
use opentelemetry::metrics::{Histogram, Meter, MeterProvider, UpDownCounter};
use opentelemetry::trace::TracerProvider;
use opentelemetry::InstrumentationScope;
use opentelemetry_semantic_conventions::metric::{
    HTTP_CLIENT_REQUEST_BODY_SIZE, HTTP_CLIENT_REQUEST_DURATION, HTTP_CLIENT_RESPONSE_BODY_SIZE,
    HTTP_SERVER_ACTIVE_REQUESTS, HTTP_SERVER_REQUEST_BODY_SIZE, HTTP_SERVER_REQUEST_DURATION,
    HTTP_SERVER_RESPONSE_BODY_SIZE, RPC_CLIENT_CALL_DURATION, RPC_SERVER_CALL_DURATION,
};
use opentelemetry_semantic_conventions::SCHEMA_URL;

use crate::series::{self, BoundSeries, ClientKey, ServerSeries};

/// The instrumentation scope name of everything the layers record.
pub const SCOPE_NAME: &str = "otel-tower";

/// The bucket boundaries the HTTP and RPC conventions advise for duration histograms,
/// in seconds.
pub const DURATION_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

pub(crate) fn scope() -> InstrumentationScope {
    InstrumentationScope::builder(SCOPE_NAME)
        .with_version(env!("CARGO_PKG_VERSION"))
        .with_schema_url(SCHEMA_URL)
        .build()
}

/// Where a layer gets its tracer.
pub(crate) fn tracer_from<P>(provider: Option<&P>) -> BoxedTracer
where
    P: TracerProvider,
    P::Tracer: Send + Sync + 'static,
    <P::Tracer as opentelemetry::trace::Tracer>::Span: Send + Sync + 'static,
{
    match provider {
        Some(p) => BoxedTracer::new(Box::new(p.tracer_with_scope(scope()))),
        None => global::tracer_with_scope(scope()),
    }
}

pub(crate) fn meter_from(provider: Option<&dyn MeterProvider>) -> Meter {
    match provider {
        Some(p) => p.meter_with_scope(scope()),
        None => global::meter_with_scope(scope()),
    }
}

/// A side's set of instruments, created from a meter once per layer.
pub(crate) trait Instruments: Clone {
    fn new(meter: &Meter) -> Self;
}

/// A duration histogram in seconds with the advised buckets.
fn seconds(meter: &Meter, name: &'static str, description: &'static str) -> Histogram<f64> {
    meter
        .f64_histogram(name)
        .with_description(description)
        .with_unit("s")
        .with_boundaries(DURATION_BUCKETS.to_vec())
        .build()
}

/// A size histogram in bytes.
fn bytes(meter: &Meter, name: &'static str, description: &'static str) -> Histogram<u64> {
    meter
        .u64_histogram(name)
        .with_description(description)
        .with_unit("By")
        .build()
}

/// The HTTP server and RPC server instruments.
#[derive(Clone)]
pub(crate) struct ServerInstruments {
    pub(crate) duration: Histogram<f64>,
    pub(crate) active_requests: UpDownCounter<i64>,
    pub(crate) request_body_size: Histogram<u64>,
    pub(crate) response_body_size: Histogram<u64>,
    pub(crate) rpc_duration: Histogram<f64>,
    /// The HTTP series bound so far, created with these instruments.
    pub(crate) series: Arc<ServerSeries>,
}

impl ServerInstruments {
    /// The instruments the HTTP series bind.
    pub(crate) fn bound(&self) -> series::Instruments<'_> {
        series::Instruments {
            duration: &self.duration,
            request_body_size: &self.request_body_size,
            response_body_size: &self.response_body_size,
        }
    }
}

impl Instruments for ServerInstruments {
    fn new(meter: &Meter) -> Self {
        Self {
            duration: seconds(
                meter,
                HTTP_SERVER_REQUEST_DURATION,
                "Duration of HTTP server requests.",
            ),
            active_requests: meter
                .i64_up_down_counter(HTTP_SERVER_ACTIVE_REQUESTS)
                .with_description("Number of active HTTP server requests.")
                .with_unit("{request}")
                .build(),
            request_body_size: bytes(
                meter,
                HTTP_SERVER_REQUEST_BODY_SIZE,
                "Size of HTTP server request bodies.",
            ),
            response_body_size: bytes(
                meter,
                HTTP_SERVER_RESPONSE_BODY_SIZE,
                "Size of HTTP server response bodies.",
            ),
            rpc_duration: seconds(
                meter,
                RPC_SERVER_CALL_DURATION,
                "Measures the duration of inbound remote procedure calls.",
            ),
            series: Arc::default(),
        }
    }
}

impl fmt::Debug for ServerInstruments {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerInstruments")
    }
}

/// The HTTP client and RPC client instruments.
#[derive(Clone)]
pub(crate) struct ClientInstruments {
    pub(crate) duration: Histogram<f64>,
    pub(crate) request_body_size: Histogram<u64>,
    pub(crate) response_body_size: Histogram<u64>,
    pub(crate) rpc_duration: Histogram<f64>,
    /// The HTTP series bound so far, created with these instruments.
    pub(crate) series: Arc<BoundSeries<ClientKey>>,
}

impl ClientInstruments {
    /// The instruments the HTTP series bind.
    pub(crate) fn bound(&self) -> series::Instruments<'_> {
        series::Instruments {
            duration: &self.duration,
            request_body_size: &self.request_body_size,
            response_body_size: &self.response_body_size,
        }
    }
}

impl Instruments for ClientInstruments {
    fn new(meter: &Meter) -> Self {
        Self {
            duration: seconds(
                meter,
                HTTP_CLIENT_REQUEST_DURATION,
                "Duration of HTTP client requests.",
            ),
            request_body_size: bytes(
                meter,
                HTTP_CLIENT_REQUEST_BODY_SIZE,
                "Size of HTTP client request bodies.",
            ),
            response_body_size: bytes(
                meter,
                HTTP_CLIENT_RESPONSE_BODY_SIZE,
                "Size of HTTP client response bodies.",
            ),
            rpc_duration: seconds(
                meter,
                RPC_CLIENT_CALL_DURATION,
                "Measures the duration of outbound remote procedure calls.",
            ),
            series: Arc::default(),
        }
    }
}

impl fmt::Debug for ClientInstruments {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientInstruments")
    }
}
