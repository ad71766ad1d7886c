//! OTLP's `ExportLogsServiceRequest`, encoded from the SDK's log records straight to
//! protobuf, as `trace_request.rs` does for spans and for the same reason: the OTLP
//! crate builds an `InstrumentationScope` and a `String` per key and string value for
//! every record before prost walks the structs. The bytes decode to what the OTLP crate
//! sends (tests below), with the scopes in order of first appearance where the OTLP
//! crate's order is a hash map's.

use opentelemetry::logs::Severity;
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::logs::{LogBatch, SdkLogRecord};

use super::common::{self, log_key_value, log_value, nanos, EncodedResource};
use super::wire::{bytes, fixed32, fixed64, message, uint};

/// Appends the request carrying `batch` to `buf`: one `ResourceLogs`, one `ScopeLogs`
/// per scope. A record's `target` (a `log` or `tracing` target) names its scope, as in
/// the OTLP crate.
pub(crate) fn encode(batch: &LogBatch<'_>, resource: &EncodedResource, buf: &mut Vec<u8>) {
    let records: Vec<(&SdkLogRecord, &InstrumentationScope)> = batch.iter().collect();
    resource.write(buf, |buf| {
        for group in common::group_by(&records, |a, b| same_scope(*a, *b)) {
            let (first, scope) = records[group[0]];
            message(buf, 2, |buf| {
                message(buf, 1, |buf| {
                    common::scope(buf, scope_name(first, scope), scope.version(), scope.attributes());
                });
                for &index in &group {
                    message(buf, 2, |buf| record(buf, records[index].0));
                }
                bytes(buf, 3, scope.schema_url().unwrap_or_default().as_bytes());
            });
        }
    });
}

fn scope_name<'a>(record: &'a SdkLogRecord, scope: &'a InstrumentationScope) -> &'a str {
    record.target().map_or(scope.name(), |target| target.as_ref())
}

/// Whether two records belong in one `ScopeLogs`: the same scope name (target), and the
/// same version, schema and attributes.
fn same_scope(a: (&SdkLogRecord, &InstrumentationScope), b: (&SdkLogRecord, &InstrumentationScope)) -> bool {
    scope_name(a.0, a.1) == scope_name(b.0, b.1)
        && (std::ptr::eq(a.1, b.1)
            || (a.1.version() == b.1.version()
                && a.1.schema_url() == b.1.schema_url()
                && a.1.attributes().eq(b.1.attributes())))
}

fn record(buf: &mut Vec<u8>, record: &SdkLogRecord) {
    fixed64(buf, 1, record.timestamp().map_or(0, nanos));
    uint(buf, 2, record.severity_number().map_or(0, severity));
    bytes(buf, 3, record.severity_text().unwrap_or_default().as_bytes());
    if let Some(body) = record.body() {
        message(buf, 5, |buf| log_value(buf, body));
    }
    for (key, value) in record.attributes_iter() {
        log_key_value(buf, 6, key.as_str(), value);
    }
    if let Some(context) = record.trace_context() {
        fixed32(
            buf,
            8,
            context.trace_flags.map_or(0, |flags| u32::from(flags.to_u8())),
        );
        bytes(buf, 9, &context.trace_id.to_bytes());
        bytes(buf, 10, &context.span_id.to_bytes());
    }
    fixed64(buf, 11, record.observed_timestamp().map_or(0, nanos));
    bytes(buf, 12, record.event_name().unwrap_or_default().as_bytes());
}

/// `SeverityNumber`: the API's severities are numbered as the data model's.
fn severity(severity: Severity) -> u64 {
    severity as u64
}

#[cfg(test)]
mod tests;
