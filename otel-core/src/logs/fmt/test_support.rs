//! A capturing writer, a pinned clock and an OpenTelemetry span for the format tests.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{TraceContextExt, Tracer, TracerProvider};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

use super::FmtLayer;

#[derive(Clone, Default)]
pub(super) struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    pub(super) fn lines(&self) -> Vec<String> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

impl io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;

    fn make_writer(&'a self) -> Buffer {
        self.clone()
    }
}

/// 2026-01-01T00:00:00.000123Z
pub(super) fn fixed_now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_767_225_600) + Duration::from_micros(123)
}

/// The lines `layer` writes for the events of `f`, at [`fixed_now`].
pub(super) fn capture(layer: FmtLayer, f: impl FnOnce()) -> Vec<String> {
    let buffer = Buffer::default();
    let mut layer = layer.with_writer(buffer.clone());
    layer.now = fixed_now;
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), f);
    buffer.lines()
}

/// Runs `f` inside a sampled span of a real SDK tracer and returns the span's ids
/// as the formatter must print them.
pub(super) fn in_otel_span(f: impl FnOnce()) -> (String, String) {
    let tracer = SdkTracerProvider::builder().build().tracer("test");
    tracer.in_span("work", |cx| {
        f();
        let sc = cx.span().span_context().clone();
        assert!(sc.is_valid());
        (
            format!("{:032x}", sc.trace_id()),
            format!("{:016x}", sc.span_id()),
        )
    })
}
