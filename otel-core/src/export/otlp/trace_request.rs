//! OTLP's `ExportTraceServiceRequest`, encoded from the SDK's spans straight to protobuf.
//!
//! The OTLP crate first converts every span into `opentelemetry-proto` structs (a
//! `String` per attribute key and string value, a `Vec` per id) and then prost walks
//! them, asking each nested message for its length once per level: about 20,000
//! instructions for a server span with ten attributes, more than recording the span
//! cost. Here each field is written once, from the span as it is
//! (`benches/src/bin/ir_export.rs` compares the two). The bytes decode to exactly what
//! the OTLP crate would have sent, field for field (tests below, against
//! `opentelemetry-proto`'s own conversion).

use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status};
use opentelemetry_sdk::trace::SpanData;

use super::common::{self, attributes, nanos, EncodedResource};
use super::wire::{bytes, fixed32, fixed64, message, uint};

/// `SpanFlags`: the context's `is_remote` is known (bit 8), and set (bit 9).
const HAS_IS_REMOTE: u32 = 0x100;
const IS_REMOTE: u32 = 0x200;

/// Appends the request carrying `spans` to `buf`: one `ResourceSpans`, one `ScopeSpans`
/// per instrumentation scope in the order the scopes first appear.
pub(crate) fn encode(spans: &[SpanData], resource: &EncodedResource, buf: &mut Vec<u8>) {
    resource.write(buf, |buf| {
        let groups = common::group_by(spans, |a, b| {
            common::same_scope(&a.instrumentation_scope, &b.instrumentation_scope)
        });
        for group in groups {
            let scope = &spans[group[0]].instrumentation_scope;
            message(buf, 2, |buf| {
                message(buf, 1, |buf| {
                    common::scope(buf, scope.name(), scope.version(), scope.attributes());
                });
                for &index in &group {
                    message(buf, 2, |buf| span(buf, &spans[index]));
                }
                bytes(buf, 3, scope.schema_url().unwrap_or_default().as_bytes());
            });
        }
    });
}

fn span(buf: &mut Vec<u8>, span: &SpanData) {
    let context = &span.span_context;
    bytes(buf, 1, &context.trace_id().to_bytes());
    bytes(buf, 2, &context.span_id().to_bytes());
    bytes(buf, 3, context.trace_state().header().as_bytes());
    if span.parent_span_id != SpanId::INVALID {
        bytes(buf, 4, &span.parent_span_id.to_bytes());
    }
    bytes(buf, 5, span.name.as_bytes());
    uint(buf, 6, kind(&span.span_kind));
    fixed64(buf, 7, nanos(span.start_time));
    fixed64(buf, 8, nanos(span.end_time));
    attributes(buf, 9, &span.attributes);
    uint(buf, 10, u64::from(span.dropped_attributes_count));
    for event in span.events.iter() {
        message(buf, 11, |buf| {
            fixed64(buf, 1, nanos(event.timestamp));
            bytes(buf, 2, event.name.as_bytes());
            attributes(buf, 3, &event.attributes);
            uint(buf, 4, u64::from(event.dropped_attributes_count));
        });
    }
    uint(buf, 12, u64::from(span.events.dropped_count));
    for link in span.links.iter() {
        message(buf, 13, |buf| {
            let context = &link.span_context;
            bytes(buf, 1, &context.trace_id().to_bytes());
            bytes(buf, 2, &context.span_id().to_bytes());
            bytes(buf, 3, context.trace_state().header().as_bytes());
            attributes(buf, 4, &link.attributes);
            uint(buf, 5, u64::from(link.dropped_attributes_count));
            fixed32(buf, 6, flags(context, context.is_remote()));
        });
    }
    uint(buf, 14, u64::from(span.links.dropped_count));
    message(buf, 15, |buf| {
        let (code, description) = match &span.status {
            Status::Unset => (0, ""),
            Status::Ok => (1, ""),
            Status::Error { description } => (2, description.as_ref()),
        };
        bytes(buf, 2, description.as_bytes());
        uint(buf, 3, code);
    });
    fixed32(buf, 16, flags(context, span.parent_span_is_remote));
}

/// W3C trace flags in the low byte, and whether the parent (for a span) or the linked
/// context (for a link) is remote.
fn flags(context: &SpanContext, remote: bool) -> u32 {
    let mut flags = u32::from(context.trace_flags().to_u8()) | HAS_IS_REMOTE;
    if remote {
        flags |= IS_REMOTE;
    }
    flags
}

fn kind(kind: &SpanKind) -> u64 {
    match kind {
        SpanKind::Internal => 1,
        SpanKind::Server => 2,
        SpanKind::Client => 3,
        SpanKind::Producer => 4,
        SpanKind::Consumer => 5,
    }
}

#[cfg(test)]
mod tests;
