//! A `tracing-subscriber` formatting layer that appends the current OpenTelemetry
//! `trace_id` / `span_id` to every line, in plain text or JSON.
//!
//! The work is done by `tracing-subscriber`'s own [`fmt::Layer`]: it owns the buffering,
//! the writer and the fields of `tracing` spans. This module only chooses the event
//! format: [`plain`] wraps `tracing-subscriber`'s full line format and adds the ids,
//! [`compact`] fits a terminal, [`json`] writes one object per line with `serde_json`.

mod compact;
mod json;
mod plain;
#[cfg(test)]
mod test_support;

use std::any::Any;
use std::fmt as std_fmt;
use std::io;
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use opentelemetry::trace::{SpanId, TraceContextExt, TraceId};
use opentelemetry::Context as OtelContext;
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Event, Metadata, Subscriber};
use tracing_subscriber::fmt::format::{DefaultFields, FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::{self, FmtContext, MakeWriter};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use self::compact::CompactFormat;
use self::json::JsonFormat;
use self::plain::PlainFormat;

/// The default writer of [`FmtLayer`]: standard output, like `tracing-subscriber`'s own
/// formatter.
pub type StdoutWriter = fn() -> io::Stdout;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineFormat {
    Plain,
    Compact,
    Json,
}

/// A `tracing-subscriber` [`Layer`] that writes one line per `tracing` event and, when
/// the event happens inside an OpenTelemetry span (the span of
/// [`opentelemetry::Context::current`], as set by [`crate::in_span`] or
/// `#[instrumented]`), appends that span's `trace_id` and `span_id`. Outside a span no
/// ids are written.
///
/// Three formats:
///
/// - plain (the default), for humans: `tracing-subscriber`'s own full format
///   (`tracing_subscriber::fmt::format::Full`) with the ids at the end:
///   `2026-01-01T00:00:00.000000Z  INFO shop: order placed order_id=42 user="bob" trace_id=4bf9… span_id=00f0…`.
///   The `tracing` spans the event is in (from `tracing::span!`) are shown before the
///   target, as `tracing-subscriber` shows them (`request{id=7}: shop: …`);
/// - compact ([`FmtLayer::compact`]), for a terminal beside the console exporter: the
///   time of day, the level, the first 8 hex digits of the trace id, the message and
///   the fields, wrapped between fields to stay within 80 columns;
/// - JSON ([`FmtLayer::json`]), one object per line for log shippers: `timestamp`
///   (RFC 3339, UTC, microseconds), `level`, `target`, `message`, then the event's fields
///   with their JSON types, then `trace_id` and `span_id`. A field named like one of the
///   reserved keys is written as `field.<name>`.
///
/// Timestamps are UTC. The layer needs a subscriber that stores span data, such as
/// [`tracing_subscriber::registry()`].
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt;
///
/// let subscriber = tracing_subscriber::registry().with(otel_core::logs::fmt_layer().json());
/// tracing::subscriber::with_default(subscriber, || {
///     otel_core::in_span("checkout", || tracing::info!(items = 3, "checking out"));
/// });
/// ```
#[must_use]
pub struct FmtLayer<W = StdoutWriter> {
    format: LineFormat,
    ansi: bool,
    make_writer: Arc<W>,
    /// Read once per event; a field so tests can pin the clock.
    now: fn() -> SystemTime,
    /// The `tracing_subscriber::fmt::Layer` that does the work. Its type names the
    /// subscriber it is part of, which this type does not, so it is built at first use
    /// (sharing the writer) and kept type-erased.
    inner: OnceLock<Box<dyn Any + Send + Sync>>,
}

/// The `tracing-subscriber` layer behind an [`FmtLayer`] added to subscriber `S`.
type Inner<S, W> = fmt::Layer<S, DefaultFields, EventFormat, SharedWriter<W>>;

/// A plain-text [`FmtLayer`] writing to standard output, without colours.
///
/// It formats every event it is given: filter by level or target with
/// `tracing-subscriber`'s `Layer::with_filter`.
///
/// ```
/// use tracing_subscriber::filter::LevelFilter;
/// use tracing_subscriber::layer::{Layer, SubscriberExt};
///
/// let subscriber = tracing_subscriber::registry()
///     .with(otel_core::logs::fmt_layer().with_filter(LevelFilter::INFO));
/// # drop(subscriber);
/// ```
pub fn fmt_layer() -> FmtLayer {
    FmtLayer::default()
}

impl Default for FmtLayer {
    fn default() -> Self {
        FmtLayer::new(io::stdout)
    }
}

impl<W> std_fmt::Debug for FmtLayer<W> {
    fn fmt(&self, f: &mut std_fmt::Formatter<'_>) -> std_fmt::Result {
        f.debug_struct("FmtLayer")
            .field("format", &self.format)
            .field("ansi", &self.ansi)
            .finish_non_exhaustive()
    }
}

impl<W> FmtLayer<W> {
    fn new(make_writer: W) -> Self {
        FmtLayer {
            format: LineFormat::Plain,
            ansi: false,
            make_writer: Arc::new(make_writer),
            now: SystemTime::now,
            inner: OnceLock::new(),
        }
    }

    /// Writes one JSON object per line.
    ///
    /// ```
    /// let layer = otel_core::logs::fmt_layer().json();
    /// # drop(layer);
    /// ```
    pub fn json(mut self) -> Self {
        self.format = LineFormat::Json;
        self
    }

    /// Writes short lines for a terminal: `HH:MM:SS.mmm LEVEL [trace] message fields`,
    /// UTC, where `trace` is the first 8 hex digits of the trace id (enough to find the
    /// trace in the console exporter's waterfall, whose header shows the whole id; left
    /// out outside a span). The target, the span id and the `tracing` spans are left
    /// out. Fields that would pass 80 columns continue on lines indented by four
    /// spaces; a field wider than a whole line is kept whole on a line of its own.
    ///
    /// `09:14:02.117  WARN [4bf92f35] circuit breaker from="open" to="half_open"`
    ///
    /// ```
    /// let layer = otel_core::logs::fmt_layer().compact();
    /// # drop(layer);
    /// ```
    pub fn compact(mut self) -> Self {
        self.format = LineFormat::Compact;
        self
    }

    /// Writes human-readable lines (the default).
    ///
    /// ```
    /// let layer = otel_core::logs::fmt_layer().json().plain();
    /// # drop(layer);
    /// ```
    pub fn plain(mut self) -> Self {
        self.format = LineFormat::Plain;
        self
    }

    /// Colours plain and compact lines with ANSI escape codes as `tracing-subscriber` does (level in
    /// colour, timestamp and target dimmed). Off by default, so files and pipes stay
    /// clean; JSON lines are never coloured.
    ///
    /// ```
    /// use std::io::IsTerminal;
    ///
    /// let layer = otel_core::logs::fmt_layer().with_ansi(std::io::stdout().is_terminal());
    /// # drop(layer);
    /// ```
    pub fn with_ansi(mut self, ansi: bool) -> Self {
        self.ansi = ansi;
        self
    }

    /// Writes to `make_writer` instead of standard output: anything implementing
    /// `tracing_subscriber::fmt::MakeWriter`, such as `std::io::stderr`, a
    /// `Mutex<File>`, or a non-blocking writer.
    ///
    /// ```
    /// let layer = otel_core::logs::fmt_layer().with_writer(std::io::stderr);
    /// # drop(layer);
    /// ```
    pub fn with_writer<W2>(self, make_writer: W2) -> FmtLayer<W2>
    where
        W2: for<'a> MakeWriter<'a> + 'static,
    {
        FmtLayer {
            format: self.format,
            ansi: self.ansi,
            now: self.now,
            ..FmtLayer::new(make_writer)
        }
    }

    /// The working layer for subscriber `S`, built on first use.
    fn inner<S>(&self) -> Option<&Inner<S, W>>
    where
        S: Subscriber + for<'a> LookupSpan<'a> + 'static,
        W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
    {
        self.inner
            .get_or_init(|| {
                let format = match self.format {
                    LineFormat::Plain => EventFormat::Plain(PlainFormat::new(Clock(self.now), self.ansi)),
                    LineFormat::Compact => {
                        EventFormat::Compact(CompactFormat::new(Clock(self.now), self.ansi))
                    }
                    LineFormat::Json => EventFormat::Json(JsonFormat::new(Clock(self.now))),
                };
                let inner: Inner<S, W> = fmt::layer()
                    .event_format(format)
                    .with_writer(SharedWriter(Arc::clone(&self.make_writer)))
                    .with_ansi(self.ansi)
                    // A failing log sink must not take the application down, and there
                    // is nowhere better to report it than the sink itself.
                    .log_internal_errors(false);
                Box::new(inner)
            })
            // A layer is moved into exactly one subscriber, so `S` never changes.
            .downcast_ref()
    }
}

impl<S, W> Layer<S> for FmtLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a> + 'static,
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    // Span fields are kept for the plain format only, which shows the `tracing` spans an
    // event is in; the JSON format does not, so it skips formatting them.
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if self.format == LineFormat::Plain {
            if let Some(inner) = self.inner::<S>() {
                inner.on_new_span(attrs, id, ctx);
            }
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if self.format == LineFormat::Plain {
            if let Some(inner) = self.inner::<S>() {
                inner.on_record(id, values, ctx);
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if let Some(inner) = self.inner::<S>() {
            inner.on_event(event, ctx);
        }
    }

    // Span enter/exit/close events are off (no `FmtSpan`), so those hooks have nothing
    // to forward.
}

/// Lets the type-erased inner layer use the writer the builder was given.
struct SharedWriter<W>(Arc<W>);

impl<'a, W: MakeWriter<'a>> MakeWriter<'a> for SharedWriter<W> {
    type Writer = W::Writer;

    fn make_writer(&'a self) -> Self::Writer {
        self.0.make_writer()
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        self.0.make_writer_for(meta)
    }
}

/// The event format chosen by the builder.
enum EventFormat {
    Plain(PlainFormat),
    Compact(CompactFormat),
    Json(JsonFormat),
}

impl<S, N> FormatEvent<S, N> for EventFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std_fmt::Result {
        match self {
            EventFormat::Plain(format) => format.format_event(ctx, writer, event),
            EventFormat::Compact(format) => format.format_event(ctx, writer, event),
            EventFormat::Json(format) => format.format_event(ctx, writer, event),
        }
    }
}

/// RFC 3339 UTC timestamps with microseconds, from a clock tests can pin.
#[derive(Clone, Copy)]
struct Clock(fn() -> SystemTime);

impl Clock {
    const FRACTION_DIGITS: u32 = 6;

    fn write_now(self, out: &mut impl std_fmt::Write) -> std_fmt::Result {
        super::time::write_rfc3339(out, (self.0)(), Self::FRACTION_DIGITS)
    }
}

impl FormatTime for Clock {
    fn format_time(&self, w: &mut Writer<'_>) -> std_fmt::Result {
        self.write_now(w)
    }
}

/// The ids of the current OpenTelemetry span, if there is a valid one.
fn current_ids() -> Option<(TraceId, SpanId)> {
    OtelContext::map_current(|cx| {
        let span = cx.span();
        let sc = span.span_context();
        sc.is_valid().then(|| (sc.trace_id(), sc.span_id()))
    })
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use serde_json::Value;
    use tracing_subscriber::layer::SubscriberExt;

    use super::test_support::{capture, fixed_now, in_otel_span, Buffer};
    use super::{fmt_layer, Clock};

    #[test]
    fn plain_lines_are_tracing_subscribers_own_plus_the_ids() {
        let emit = || {
            tracing::info!(target: "shop", order_id = 42, user = "bob", "order placed");
            let span = tracing::info_span!("request", id = 7);
            let _entered = span.enter();
            tracing::warn!(target: "shop", "slow");
        };
        let theirs = Buffer::default();
        let layer = tracing_subscriber::fmt::layer()
            .with_timer(Clock(fixed_now))
            .with_ansi(false)
            .with_writer(theirs.clone());
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), emit);

        assert_eq!(
            capture(fmt_layer(), emit),
            theirs.lines(),
            "outside an OpenTelemetry span"
        );
        let mut ids = (String::new(), String::new());
        let ours = capture(fmt_layer(), || ids = in_otel_span(emit));
        let (trace_id, span_id) = ids;
        let suffix = format!(" trace_id={trace_id} span_id={span_id}");
        let expected: Vec<String> = theirs
            .lines()
            .iter()
            .map(|line| format!("{line}{suffix}"))
            .collect();
        assert_eq!(ours, expected);
        assert!(ours[1].contains(" request{id=7}: shop: slow "), "{}", ours[1]);
    }

    #[test]
    fn ansi_colours_the_level_and_dims_the_rest() {
        let lines = capture(fmt_layer().with_ansi(true), || {
            tracing::info!(target: "t", "hi");
        });
        assert_eq!(
            lines,
            ["\x1b[2m2026-01-01T00:00:00.000123Z\x1b[0m \x1b[32m INFO\x1b[0m \x1b[2mt\x1b[0m\x1b[2m:\x1b[0m hi"]
        );
    }

    #[test]
    fn switching_formats_keeps_the_last_choice() {
        let lines = capture(fmt_layer().json().plain(), || tracing::info!(target: "t", "hi"));
        assert_eq!(lines, ["2026-01-01T00:00:00.000123Z  INFO t: hi"]);
        let lines = capture(fmt_layer().plain().json(), || tracing::info!(target: "t", "hi"));
        assert!(lines[0].starts_with('{'), "{}", lines[0]);
    }

    #[test]
    fn real_clock_timestamps_are_rfc3339_utc() {
        let buffer = Buffer::default();
        let layer = fmt_layer().json().with_writer(buffer.clone());
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            tracing::info!("now");
        });
        let line: Value = serde_json::from_str(&buffer.lines()[0]).unwrap();
        let ts = line["timestamp"].as_str().unwrap();
        let bytes = ts.as_bytes();
        assert_eq!(ts.len(), 27, "{ts}");
        for (i, b) in bytes.iter().enumerate() {
            match i {
                4 | 7 => assert_eq!(*b, b'-', "{ts}"),
                10 => assert_eq!(*b, b'T', "{ts}"),
                13 | 16 => assert_eq!(*b, b':', "{ts}"),
                19 => assert_eq!(*b, b'.', "{ts}"),
                26 => assert_eq!(*b, b'Z', "{ts}"),
                _ => assert!(b.is_ascii_digit(), "{ts}"),
            }
        }
        assert!(ts >= "2025", "{ts}");
    }

    #[test]
    fn the_clock_writes_microseconds() {
        let mut out = String::new();
        Clock(|| UNIX_EPOCH).write_now(&mut out).unwrap();
        assert_eq!(out, "1970-01-01T00:00:00.000000Z");
    }
}
