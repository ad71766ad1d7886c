//! Spans and exporters for the waterfall tests.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanExporter as _, SpanLinks};
use opentelemetry_sdk::Resource;
use opentelemetry_semantic_conventions::attribute::{
    DB_QUERY_TEXT, DB_SYSTEM_NAME, ERROR_TYPE, HTTP_REQUEST_METHOD, HTTP_RESPONSE_STATUS_CODE, HTTP_ROUTE,
};

use super::ConsoleSpanExporter;
use crate::export::console::test_support::SharedBuf;

pub(super) const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

fn trace_id(hex: &str) -> TraceId {
    TraceId::from_hex(hex).unwrap()
}

pub(super) fn at(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000) + Duration::from_millis(ms)
}

pub(super) struct S {
    trace: TraceId,
    id: u64,
    parent: u64,
    remote_parent: bool,
    name: &'static str,
    kind: SpanKind,
    start_ms: u64,
    end_ms: u64,
    attributes: Vec<KeyValue>,
    status: Status,
}

impl S {
    pub(super) fn new(id: u64, parent: u64, name: &'static str, start_ms: u64, end_ms: u64) -> Self {
        S {
            trace: trace_id(TRACE),
            id,
            parent,
            remote_parent: false,
            name,
            kind: SpanKind::Internal,
            start_ms,
            end_ms,
            attributes: Vec::new(),
            status: Status::Unset,
        }
    }

    pub(super) fn in_trace(mut self, hex: &str) -> Self {
        self.trace = trace_id(hex);
        self
    }

    pub(super) fn kind(mut self, kind: SpanKind) -> Self {
        self.kind = kind;
        self
    }

    pub(super) fn attrs(mut self, attributes: Vec<KeyValue>) -> Self {
        self.attributes = attributes;
        self
    }

    pub(super) fn status(mut self, status: Status) -> Self {
        self.status = status;
        self
    }

    pub(super) fn remote_parent(mut self) -> Self {
        self.remote_parent = true;
        self
    }

    pub(super) fn build(self) -> SpanData {
        SpanData {
            span_context: SpanContext::new(
                self.trace,
                SpanId::from(self.id),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: SpanId::from(self.parent),
            parent_span_is_remote: self.remote_parent,
            span_kind: self.kind,
            name: self.name.into(),
            start_time: at(self.start_ms),
            end_time: at(self.end_ms),
            attributes: self.attributes,
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: self.status,
            instrumentation_scope: InstrumentationScope::builder("test").build(),
        }
    }
}

pub(super) fn exporter(buf: &SharedBuf) -> ConsoleSpanExporter {
    let mut exporter = ConsoleSpanExporter::builder()
        .with_writer(buf.clone())
        .with_color(false)
        .build();
    exporter.set_resource(&Resource::builder_empty().with_service_name("users-api").build());
    exporter
}

/// The spans of `GET /users/{id}`: a server root with a database call (itself with a
/// connection step) and a failing render step.
pub(super) fn request_tree() -> (Vec<SpanData>, Vec<SpanData>) {
    let db_connect = S::new(3, 2, "db.connect", 12, 20)
        .attrs(vec![KeyValue::new("pool.size", 4)])
        .build();
    let db_query = S::new(2, 1, "db.query", 10, 60)
        .kind(SpanKind::Client)
        .attrs(vec![
            KeyValue::new(DB_SYSTEM_NAME, "sqlite"),
            KeyValue::new(DB_QUERY_TEXT, "SELECT id, name\n  FROM users\n  WHERE id = ?"),
        ])
        .build();
    let render = S::new(4, 1, "render", 70, 115)
        .status(Status::error("template not found"))
        .attrs(vec![KeyValue::new(ERROR_TYPE, "TemplateError")])
        .build();
    let root = S::new(1, 0, "GET /users/{id}", 0, 120)
        .kind(SpanKind::Server)
        .attrs(vec![
            KeyValue::new(HTTP_REQUEST_METHOD, "GET"),
            KeyValue::new(HTTP_ROUTE, "/users/{id}"),
            KeyValue::new(HTTP_RESPONSE_STATUS_CODE, 500),
            KeyValue::new("url.scheme", "http"),
            KeyValue::new("server.address", "localhost"),
        ])
        .build();
    (vec![db_connect, db_query], vec![render, root])
}
