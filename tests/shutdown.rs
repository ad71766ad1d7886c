//! Shutdown loses nothing: spans ended right before the guard is dropped all reach the
//! collector, over both transports.
//!
//! The batch processor's schedule delay is an hour and the batch size exceeds the
//! number of spans, so nothing triggers an export before the drop: only the guard's
//! shutdown flush can deliver them.

use std::collections::BTreeSet;
use std::time::Duration;

use opentelemetry::KeyValue;
use otel_core::config::{BatchConfig, ExporterKind, Protocol};
use otel_tests::{unique_service_name, Collector, ReceivedSpan, RECEIVE_TIMEOUT};

const SPANS: usize = 500;

#[test]
fn spans_ended_before_the_guard_drops_all_arrive() {
    let collector = Collector::start();
    for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
        spans_survive_drop(&collector, protocol);
    }
}

fn spans_survive_drop(collector: &Collector, protocol: Protocol) {
    let service = unique_service_name(&format!("shutdown-{}", protocol.as_str().replace('/', "-")));
    let endpoint = match protocol {
        Protocol::Grpc => collector.grpc_endpoint(),
        _ => collector.http_endpoint(),
    };
    let guard = otel_core::Telemetry::builder()
        .env(|_| None)
        .service_name(service.clone())
        .otlp_endpoint(endpoint)
        .otlp_protocol(protocol)
        .traces_exporters([ExporterKind::Otlp])
        .metrics_exporters([])
        .logs_exporters([])
        .span_batch(BatchConfig {
            max_queue_size: 2048,
            scheduled_delay: Duration::from_secs(3600),
            max_export_batch_size: 1024,
            export_timeout: Duration::from_secs(10),
        })
        .quiet(true)
        .init()
        .expect("init");

    for seq in 0..SPANS {
        otel_core::in_span_with("shutdown-work", [KeyValue::new("seq", seq as i64)], || {
            otel_core::in_span("shutdown-step", || {})
        });
    }

    let ours = |spans: &[ReceivedSpan]| -> Vec<ReceivedSpan> {
        spans
            .iter()
            .filter(|s| s.service_name() == Some(service.as_str()))
            .cloned()
            .collect()
    };
    assert!(
        ours(&collector.spans()).is_empty(),
        "nothing may be exported before the guard drops (schedule delay 1 h)"
    );

    drop(guard);

    let spans = collector.wait_for_spans(
        &format!("{} spans over {}", 2 * SPANS, protocol.as_str()),
        RECEIVE_TIMEOUT,
        |spans| ours(spans).len() >= 2 * SPANS,
    );
    let spans = ours(&spans);
    assert_eq!(spans.len(), 2 * SPANS, "every span exactly once");

    let work: Vec<_> = spans.iter().filter(|s| s.name == "shutdown-work").collect();
    let seqs: BTreeSet<String> = work
        .iter()
        .map(|s| s.attr("seq").expect("seq attribute").to_owned())
        .collect();
    let expected: BTreeSet<String> = (0..SPANS).map(|i| format!("Int({i})")).collect();
    assert_eq!(work.len(), SPANS);
    assert_eq!(seqs, expected, "each sequence number once");

    // Every step arrived with its own parent.
    let work_ids: BTreeSet<&str> = work.iter().map(|s| s.span_id.as_str()).collect();
    let step_parents: BTreeSet<&str> = spans
        .iter()
        .filter(|s| s.name == "shutdown-step")
        .map(|s| s.parent_id.as_str())
        .collect();
    assert_eq!(step_parents, work_ids);
}
