//! The processor with a recording exporter: early export of full batches, drops at the
//! cap, memory given back, flush and shutdown in batches within their deadline, metrics.

use std::sync::atomic::Ordering;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState};
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{ManualReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanExporter, SpanLinks, SpanProcessor};

use super::queue::INITIAL_CAPACITY;
use super::BatchProcessor;
use crate::config::BatchConfig;
use crate::export::stats::SignalStats;
use crate::runtime::Executor;
use crate::sync::lock;

/// A finished span named after `n`.
pub(super) fn span(n: u64) -> SpanData {
    SpanData {
        span_context: SpanContext::new(
            TraceId::from(u128::from(n) + 1),
            SpanId::from(n + 1),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ),
        parent_span_id: SpanId::INVALID,
        parent_span_is_remote: false,
        span_kind: SpanKind::Internal,
        name: n.to_string().into(),
        start_time: SystemTime::UNIX_EPOCH,
        end_time: SystemTime::UNIX_EPOCH,
        attributes: Vec::new(),
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: Status::Unset,
        instrumentation_scope: InstrumentationScope::builder("test").build(),
    }
}

/// Records the size of every batch; optionally holds each export until released, or
/// takes a fixed time per export.
#[derive(Debug, Clone, Default)]
struct Recorder {
    batches: Arc<Mutex<Vec<usize>>>,
    gate: Option<Arc<Gate>>,
    per_export: Duration,
    /// Every export fails (after recording the batch) when set.
    fail: bool,
}

/// Holds each export until the test releases it.
#[derive(Debug)]
struct Gate {
    /// Told when an export starts.
    started: Sender<()>,
    /// One message lets one export through.
    release: Mutex<Receiver<()>>,
}

impl Recorder {
    /// A recorder whose exports wait to be released, with its two ends: notices of
    /// started exports and the release.
    fn gated() -> (Self, Receiver<()>, Sender<()>) {
        let (started, notices) = channel();
        let (release, released) = channel();
        let recorder = Recorder {
            gate: Some(Arc::new(Gate {
                started,
                release: Mutex::new(released),
            })),
            ..Recorder::default()
        };
        (recorder, notices, release)
    }

    fn batches(&self) -> Vec<usize> {
        lock(&self.batches).clone()
    }

    fn spans(&self) -> usize {
        self.batches().iter().sum()
    }
}

impl SpanExporter for Recorder {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        if let Some(gate) = &self.gate {
            let _ = gate.started.send(());
            let _ = lock(&gate.release).recv_timeout(Duration::from_secs(10));
        }
        std::thread::sleep(self.per_export);
        lock(&self.batches).push(batch.len());
        if self.fail {
            return Err(OTelSdkError::InternalFailure("the backend refused".into()));
        }
        Ok(())
    }
}

fn config(cap: usize, batch: usize) -> BatchConfig {
    BatchConfig {
        max_queue_size: cap,
        // Nothing is exported on schedule during a test unless it says so.
        scheduled_delay: Duration::from_secs(3600),
        max_export_batch_size: batch,
        export_timeout: Duration::from_secs(5),
    }
}

fn processor(recorder: &Recorder, config: BatchConfig) -> (BatchProcessor, Arc<SignalStats>) {
    let stats = Arc::new(SignalStats::default());
    let processor = BatchProcessor::new(recorder.clone(), config, Executor::Inline, stats.clone())
        .expect("export thread");
    (processor, stats)
}

fn end(processor: &BatchProcessor, spans: std::ops::Range<u64>) {
    for n in spans {
        processor.on_end(span(n));
    }
}

/// Polls `done` for up to 10 s.
fn eventually(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn allocated(processor: &BatchProcessor) -> usize {
    lock(&processor.shared().state).queue.allocated()
}

#[test]
fn a_full_batch_is_exported_without_waiting_for_the_schedule() {
    let recorder = Recorder::default();
    let (processor, stats) = processor(&recorder, config(1000, 10));
    end(&processor, 0..25);
    eventually("two full batches", || recorder.spans() == 20);
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        recorder.batches(),
        [10, 10],
        "the partial batch waits for its schedule"
    );

    processor.force_flush().expect("flush");
    assert_eq!(recorder.batches(), [10, 10, 5]);
    assert_eq!(stats.exported.load(Ordering::Relaxed), 25);
    assert_eq!(stats.dropped.load(Ordering::Relaxed), 0);
    processor.shutdown().expect("shutdown");
}

#[test]
fn the_schedule_exports_a_partial_batch() {
    let recorder = Recorder::default();
    let config = BatchConfig {
        scheduled_delay: Duration::from_millis(20),
        ..config(1000, 100)
    };
    let (processor, _) = processor(&recorder, config);
    end(&processor, 0..7);
    eventually("the scheduled export", || recorder.spans() == 7);
    assert_eq!(recorder.batches(), [7]);
    processor.shutdown().expect("shutdown");
}

#[test]
fn spans_past_the_cap_are_dropped_and_counted_without_blocking() {
    let (recorder, started, release) = Recorder::gated();
    let (processor, stats) = processor(&recorder, config(20, 10));
    end(&processor, 0..10);
    started
        .recv_timeout(Duration::from_secs(10))
        .expect("the full batch went to the exporter at once");

    // The export thread is stuck in that export: 20 more fit, 30 are dropped.
    let ending = Instant::now();
    end(&processor, 10..60);
    assert!(
        ending.elapsed() < Duration::from_secs(2),
        "on_end never waits for an export"
    );
    assert_eq!(stats.dropped.load(Ordering::Relaxed), 30);
    assert_eq!(processor.shared().queue_size(), (20, 20));

    for _ in 0..3 {
        let _ = release.send(());
    }
    processor.force_flush().expect("flush");
    assert_eq!(recorder.batches(), [10, 10, 10]);
    assert_eq!(stats.exported.load(Ordering::Relaxed), 30);
    assert_eq!(
        stats.dropped.load(Ordering::Relaxed),
        30,
        "drops are not recounted"
    );
    assert_eq!(stats.dropped_at_shutdown.load(Ordering::Relaxed), 0);
    processor.shutdown().expect("shutdown");
}

#[test]
fn the_queue_allocates_on_demand_and_gives_memory_back_when_drained() {
    let recorder = Recorder::default();
    let (processor, _) = processor(&recorder, config(100_000, 512));
    assert_eq!(allocated(&processor), 0, "nothing preallocated for a 100,000 cap");
    end(&processor, 0..3);
    assert_eq!(allocated(&processor), INITIAL_CAPACITY);

    end(&processor, 3..5_000);
    processor.force_flush().expect("flush");
    assert_eq!(recorder.spans(), 5_000);
    assert_eq!(processor.shared().queue_size(), (0, 100_000));
    assert_eq!(allocated(&processor), 0, "exported batches are freed");
    processor.shutdown().expect("shutdown");
}

#[test]
fn shutdown_exports_everything_in_batches_then_refuses_spans() {
    let recorder = Recorder::default();
    let (processor, stats) = processor(&recorder, config(10_000, 100));
    end(&processor, 0..1_050);
    processor
        .shutdown_with_timeout(Duration::from_secs(5))
        .expect("shutdown");
    assert_eq!(recorder.spans(), 1_050);
    assert!(
        recorder.batches().iter().all(|&b| b <= 100),
        "{:?}",
        recorder.batches()
    );

    processor.on_end(span(2_000));
    assert_eq!(stats.dropped.load(Ordering::Relaxed), 1);
    assert_eq!(stats.dropped_at_shutdown.load(Ordering::Relaxed), 1);
    assert!(matches!(
        processor.force_flush(),
        Err(OTelSdkError::AlreadyShutdown)
    ));
    assert!(matches!(processor.shutdown(), Err(OTelSdkError::AlreadyShutdown)));
}

#[test]
fn shutdown_is_bounded_by_the_export_timeout_and_counts_what_it_leaves() {
    let recorder = Recorder {
        per_export: Duration::from_millis(50),
        ..Recorder::default()
    };
    let config = BatchConfig {
        export_timeout: Duration::from_millis(150),
        ..config(10_000, 10)
    };
    let (processor, stats) = processor(&recorder, config);
    // 40 batches at 50 ms each would take 2 s.
    end(&processor, 0..400);
    let started = Instant::now();
    let result = processor.shutdown_with_timeout(Duration::from_millis(400));
    let took = started.elapsed();
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert!(matches!(result, Err(OTelSdkError::Timeout(_))), "{result:?}");

    let exported = stats.exported.load(Ordering::Relaxed);
    let left = stats.dropped_at_shutdown.load(Ordering::Relaxed);
    assert!(exported > 0 && left > 0, "exported {exported}, left {left}");
    assert_eq!(exported + left, 400, "every span exported or counted");
    assert_eq!(stats.dropped.load(Ordering::Relaxed), left);
}

#[test]
fn dropping_the_processor_still_delivers_the_queue() {
    let recorder = Recorder::default();
    let (processor, _) = processor(&recorder, config(1000, 100));
    end(&processor, 0..30);
    drop(processor);
    eventually("the queue exported after the drop", || recorder.spans() == 30);
}

#[test]
fn drops_and_queue_sizes_are_reported_as_metrics() {
    let (recorder, started, release) = Recorder::gated();
    let (processor, stats) = processor(&recorder, config(20, 10));
    let reader = Arc::new(ManualReader::builder().build());
    let meters = SdkMeterProvider::builder()
        .with_reader(crate::export::SharedReader::new(Arc::clone(&reader)))
        .build();
    super::metrics::register(&meters, &stats);

    end(&processor, 0..10);
    started
        .recv_timeout(Duration::from_secs(10))
        .expect("export started");
    end(&processor, 10..35);

    let mut collected = ResourceMetrics::default();
    reader.collect(&mut collected).expect("collect");
    let points = |name: &str| -> Vec<(i64, Vec<String>)> {
        let metric = collected
            .scope_metrics()
            .flat_map(|scope| scope.metrics())
            .find(|metric| metric.name() == name)
            .unwrap_or_else(|| panic!("no {name}"));
        let mut points: Vec<(i64, Vec<String>)> = match metric.data() {
            AggregatedMetrics::U64(MetricData::Sum(sum)) => sum
                .data_points()
                .map(|p| {
                    (
                        p.value() as i64,
                        p.attributes()
                            .map(|kv| format!("{}={}", kv.key, kv.value))
                            .collect(),
                    )
                })
                .collect(),
            AggregatedMetrics::I64(MetricData::Sum(sum)) => sum
                .data_points()
                .map(|p| {
                    (
                        p.value(),
                        p.attributes()
                            .map(|kv| format!("{}={}", kv.key, kv.value))
                            .collect(),
                    )
                })
                .collect(),
            other => panic!("{name}: unexpected data {other:?}"),
        };
        for (_, attributes) in &mut points {
            attributes.sort();
        }
        points.sort();
        points
    };
    let component = "otel.component.type=batching_span_processor".to_owned();
    let name = "otel.component.name=batching_span_processor/0".to_owned();
    assert_eq!(
        points("otel.sdk.processor.span.processed"),
        // No `already_shutdown` series: nothing was dropped at shutdown.
        [
            (0, vec![component.clone()]),
            (5, vec!["error.type=queue_full".to_owned(), component.clone()]),
        ]
    );
    assert_eq!(
        points("otel.sdk.processor.span.queue.size"),
        [(20, vec![name.clone(), component.clone()])]
    );
    assert_eq!(
        points("otel.sdk.processor.span.queue.capacity"),
        [(20, vec![name, component])]
    );

    for _ in 0..3 {
        let _ = release.send(());
    }
    processor.shutdown().expect("shutdown");
}

#[test]
fn exports_and_failed_exports_are_reported_as_metrics() {
    let collect = |fail: bool| {
        let recorder = Recorder {
            fail,
            ..Recorder::default()
        };
        let (processor, stats) = processor(&recorder, config(100, 10));
        let reader = Arc::new(ManualReader::builder().build());
        let meters = SdkMeterProvider::builder()
            .with_reader(crate::export::SharedReader::new(Arc::clone(&reader)))
            .build();
        super::metrics::register(&meters, &stats);
        end(&processor, 0..7);
        let _ = processor.force_flush();

        let mut collected = ResourceMetrics::default();
        reader.collect(&mut collected).expect("collect");
        let metric = collected
            .scope_metrics()
            .flat_map(|scope| scope.metrics())
            .find(|metric| metric.name() == "otel.sdk.exporter.span.exported")
            .expect("otel.sdk.exporter.span.exported");
        let AggregatedMetrics::U64(MetricData::Sum(sum)) = metric.data() else {
            panic!("unexpected data {:?}", metric.data());
        };
        assert!(sum.is_monotonic());
        let mut points: Vec<(u64, Vec<String>)> = sum
            .data_points()
            .map(|p| {
                let attributes = p.attributes().map(|kv| format!("{}={}", kv.key, kv.value));
                (p.value(), attributes.collect())
            })
            .collect();
        points.sort();
        processor.shutdown().expect("shutdown");
        points
    };
    assert_eq!(
        collect(false),
        [(7, vec![])],
        "no failure series while exports succeed"
    );
    assert_eq!(
        collect(true),
        [(0, vec![]), (7, vec!["error.type=_OTHER".to_owned()])]
    );
}
