//! Test support: in-memory pipelines and span-tree assertions that work under
//! `cargo test`'s parallel threads.
//!
//! The providers are process-wide, so isolation comes from the trace id: a [`Capture`]
//! parents everything started under it to a synthetic remote span with a fresh trace id,
//! and reads back only the spans of that trace.
//!
//! ```
//! use otel_core::testing::{self, SpanDataExt};
//! use otel_core::opentelemetry::KeyValue;
//!
//! let cap = testing::capture();
//! otel_core::in_span("outer", || {
//!     otel_core::in_span_with("inner", [KeyValue::new("n", 1_i64)], || {});
//! });
//! assert_eq!(cap.tree(), "outer [Internal]\n  inner [Internal]\n");
//! assert_eq!(cap.span("inner").attr("n"), Some(&1_i64.into()));
//! ```

mod capture;
mod metrics;
mod recorder;

use std::sync::{Arc, OnceLock};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{global, InstrumentationScope, Value};
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::{ManualReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData};

pub use capture::{capture, Capture};
pub use metrics::{metric_points, MetricPoint, PointValue};
pub use recorder::{CapturedLog, LogRecorder, RecordingLogProcessor, RecordingSpanProcessor, SpanRecorder};

use crate::state::{self, Installed};

pub(crate) struct Harness {
    pub(crate) spans: SpanRecorder,
    pub(crate) logs: LogRecorder,
    pub(crate) reader: Arc<ManualReader>,
    installed: &'static Installed,
}

static HARNESS: OnceLock<Harness> = OnceLock::new();

/// Installs, once per process, global in-memory providers: spans stored as they end,
/// on the ending thread and without an executor (so they are readable at once, and may
/// end inside any async executor); metrics through a
/// manual reader; logs in memory; the W3C trace-context and baggage propagators. The
/// toolkit's helpers, macros and layers then record into them.
///
/// Idempotent and thread-safe; if something else replaced the providers since, they
/// are put back.
///
/// ```
/// otel_core::testing::install();
/// assert!(otel_core::is_enabled());
/// ```
pub fn install() {
    let harness = harness();
    match state::current() {
        state::Current::Installed(i) if std::ptr::eq(i, harness.installed) => {}
        _ => reinstall(harness),
    }
}

pub(crate) fn harness() -> &'static Harness {
    HARNESS.get_or_init(|| {
        let spans = SpanRecorder::default();
        let logs = LogRecorder::default();
        let reader = Arc::new(ManualReader::builder().build());
        let tracer_provider = SdkTracerProvider::builder()
            .with_id_generator(crate::head_sampling::PinnedIds::default())
            .with_span_processor(crate::context_attributes::ContextAttributesProcessor)
            .with_span_processor(spans.processor())
            .build();
        let meter_provider = SdkMeterProvider::builder()
            .with_reader(crate::export::SharedReader::new(reader.clone()))
            .build();
        let logger_provider = SdkLoggerProvider::builder()
            .with_log_processor(logs.processor())
            .build();
        let scope = InstrumentationScope::builder(crate::span::SCOPE)
            .with_version(env!("CARGO_PKG_VERSION"))
            .build();
        let installed = state::install(Installed {
            tracer: tracer_provider.tracer_with_scope(scope),
            tracer_provider,
            meter_provider,
            logger_provider,
            parent_based: true,
            drops_roots: false,
            // The SDK's default sampler.
            head: crate::head_sampling::HeadSampler::known(opentelemetry_sdk::trace::Sampler::ParentBased(
                Box::new(opentelemetry_sdk::trace::Sampler::AlwaysOn),
            )),
            generation: state::next_generation(),
        });
        let harness = Harness {
            spans,
            logs,
            reader,
            installed,
        };
        reinstall(&harness);
        harness
    })
}

fn reinstall(harness: &Harness) {
    state::reinstall(harness.installed);
    global::set_tracer_provider(harness.installed.tracer_provider.clone());
    crate::head_sampling::set_global(harness.installed.generation);
    global::set_meter_provider(harness.installed.meter_provider.clone());
    global::set_text_map_propagator(crate::propagation::Propagator::default());
}

/// Attribute lookups on finished spans, for assertions.
pub trait SpanDataExt {
    /// The value of attribute `key`, if set.
    fn attr(&self, key: &str) -> Option<&Value>;
    /// The value of attribute `key` as a string (any type, via `Display`).
    fn attr_str(&self, key: &str) -> Option<String>;
}

impl SpanDataExt for SpanData {
    fn attr(&self, key: &str) -> Option<&Value> {
        self.attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| &kv.value)
    }

    fn attr_str(&self, key: &str) -> Option<String> {
        self.attr(key).map(|v| v.to_string())
    }
}

/// The in-memory logger provider, for wiring the `tracing`/`log` bridges in tests.
///
/// ```
/// let provider = otel_core::testing::logger_provider();
/// # let _ = provider;
/// ```
pub fn logger_provider() -> SdkLoggerProvider {
    harness().installed.logger_provider.clone()
}
