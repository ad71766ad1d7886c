//! The function's business metrics (the seed's request counter, processing-time
//! histogram, error counter, sentence and cluster counts). Names follow the
//! OpenTelemetry naming guidelines: no `.total` suffix (the type says it is a sum) and
//! durations in seconds.

use opentelemetry::metrics::{Counter, Histogram};
use opentelemetry::{global, KeyValue};

/// The instruments, created once.
#[derive(Debug, Clone)]
pub struct Metrics {
    requests: Counter<u64>,
    errors: Counter<u64>,
    duration: Histogram<f64>,
    sentences: Histogram<u64>,
    clusters: Histogram<u64>,
}

impl Default for Metrics {
    fn default() -> Self {
        let meter = global::meter("text_analysis");
        Metrics {
            requests: meter
                .u64_counter("text_analysis.requests")
                .with_unit("{request}")
                .with_description("Analysis requests, by request type")
                .build(),
            errors: meter
                .u64_counter("text_analysis.errors")
                .with_unit("{error}")
                .with_description("Failed requests, by error type")
                .build(),
            duration: meter
                .f64_histogram("text_analysis.processing.duration")
                .with_unit("s")
                .with_description("Time to process a request")
                .build(),
            sentences: meter
                .u64_histogram("text_analysis.sentences")
                .with_unit("{sentence}")
                .with_description("Sentences per request")
                .build(),
            clusters: meter
                .u64_histogram("text_analysis.clusters")
                .with_unit("{cluster}")
                .with_description("Clusters found per dataset")
                .build(),
        }
    }
}

impl Metrics {
    /// A request arrived.
    pub fn request(&self, kind: &'static str, sentences: usize) {
        let attributes = [KeyValue::new("text_analysis.request.type", kind)];
        self.requests.add(1, &attributes);
        self.sentences.record(sentences as u64, &attributes);
    }

    /// A dataset was clustered.
    pub fn clusters(&self, kind: &'static str, clusters: usize) {
        self.clusters.record(
            clusters as u64,
            &[KeyValue::new("text_analysis.request.type", kind)],
        );
    }

    /// A request finished after `seconds`; `error_type` is set when it failed.
    pub fn finished(&self, kind: &'static str, seconds: f64, error_type: Option<&'static str>) {
        let result = if error_type.is_some() { "error" } else { "ok" };
        self.duration.record(
            seconds,
            &[
                KeyValue::new("text_analysis.request.type", kind),
                KeyValue::new("result", result),
            ],
        );
        if let Some(error_type) = error_type {
            self.errors.add(
                1,
                &[
                    KeyValue::new("text_analysis.request.type", kind),
                    KeyValue::new("error.type", error_type),
                ],
            );
        }
    }
}
