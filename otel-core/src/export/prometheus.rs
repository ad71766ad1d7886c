//! Prometheus text exposition (format 0.0.4) for metrics, as a pull exporter.
//!
//! [`PrometheusExporter`] owns a [`ManualReader`]: register its [`reader`](PrometheusExporter::reader)
//! with an [`SdkMeterProvider`](opentelemetry_sdk::metrics::SdkMeterProvider), then either mount
//! [`response`](PrometheusExporter::response) in your own HTTP server (axum, hyper, ...) or start
//! the small standalone listener with [`serve`](PrometheusExporter::serve).
//!
//! ```
//! use otel_core::export::prometheus::PrometheusExporter;
//! use otel_core::opentelemetry::metrics::MeterProvider as _;
//! use otel_core::opentelemetry_sdk::metrics::SdkMeterProvider;
//!
//! let exporter = PrometheusExporter::new();
//! let provider = SdkMeterProvider::builder().with_reader(exporter.reader()).build();
//! let orders = provider.meter("shop").u64_counter("orders").build();
//! orders.add(3, &[]);
//!
//! let text = exporter.render()?;
//! assert!(text.contains("# TYPE orders_total counter\n"));
//! assert!(text.contains("orders_total{otel_scope_name=\"shop\"} 3\n"));
//! # Ok::<(), otel_core::Error>(())
//! ```
//!
//! # How OpenTelemetry metrics become Prometheus series
//!
//! The conversion follows the OpenTelemetry "Prometheus and OpenMetrics compatibility"
//! specification:
//!
//! - **Names**: characters outside `[a-zA-Z0-9_:]` become `_`, runs of `_` collapse to one, and
//!   a leading digit gets a `_` prefix. The unit is appended as a suffix unless the name already
//!   contains it (`s` → `_seconds`, `ms` → `_milliseconds`, `By` → `_bytes`, `By/s` →
//!   `_bytes_per_second`, `1` → `_ratio` for gauges only, `{request}` annotations are dropped,
//!   unknown units are appended sanitized). Monotonic sums get `_total` after the unit.
//! - **Types**: monotonic sums (counters, observable counters) are `counter`; non-monotonic sums
//!   (up-down counters) and gauges are `gauge`; explicit-bucket histograms are `histogram` with
//!   cumulative `_bucket{le=".."}` series ending at `+Inf`, `_sum` (left out when negative
//!   values were observed, as the specification asks) and `_count`.
//! - **Exponential histograms** are converted to classic histograms whose `le` bounds are the
//!   exponential bucket boundaries at the point's current scale (the counts are exact; the text
//!   format has no native histograms). When the SDK downscales, the set of `le` values changes.
//! - **Delta temporality** cannot be expressed in a pull format; such data is dropped. The
//!   exporter's own reader always asks the SDK for cumulative temporality, so this only matters
//!   for views that force delta.
//! - **Labels**: attribute keys are sanitized like names (no `:`), keys that collide after
//!   sanitizing have their values joined with `;` in the order of the original keys, values are
//!   escaped (`\\`, `\"`, `\n`) and non-string values are written as strings (arrays as JSON).
//!   Every series carries `otel_scope_name` and, when set, `otel_scope_version`; a user attribute
//!   with one of those names (or `le` on a histogram) is dropped in favour of the exporter's own.
//!   Scopes with attributes are described by an `otel_scope_info` gauge of value 1.
//! - **Help**: the instrument's description, or its OpenTelemetry name when it has none.
//! - **Resource**: a single `target_info` gauge of value 1 whose labels are the resource
//!   attributes; resource attributes are not copied onto other series.
//! - **Conflicts**: when two instruments map to the same Prometheus name with different types,
//!   the first one (ordered by scope and instrument name) is kept and the other is dropped with a
//!   `# otel: ...` comment at the end of the output, which Prometheus ignores. Exact duplicate
//!   series keep the first value.
//!
//! The output is sorted (families by name, series by their labels), so two renders of the same
//! data are byte-for-byte identical.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use opentelemetry::{Array, InstrumentationScope, KeyValue, Value};
use opentelemetry_sdk::metrics::data::{
    AggregatedMetrics, ExponentialHistogramDataPoint, HistogramDataPoint, Metric, MetricData, ResourceMetrics,
};
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{ManualReader, Temporality};
use opentelemetry_sdk::Resource;

use crate::{Error, ErrorKind, Result};

/// The `Content-Type` of the Prometheus text exposition format 0.0.4.
///
/// ```
/// use otel_core::export::prometheus::CONTENT_TYPE;
/// assert!(CONTENT_TYPE.starts_with("text/plain; version=0.0.4"));
/// ```
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The largest request head the standalone listener reads; scrapers send a few hundred bytes.
const MAX_REQUEST_HEAD: usize = 8 * 1024;
/// A stalled client must not hold the (single) listener thread for long.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// Bounds on discarding the rest of an oversized request before closing.
const MAX_DRAIN: usize = 64 * 1024;
const DRAIN_TIMEOUT: Duration = Duration::from_millis(500);
/// How long `shutdown` waits to wake the listener before giving up on joining it.
const WAKE_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Options {
    scope_labels: bool,
    target_info: bool,
    counter_suffixes: bool,
    unit_suffixes: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            scope_labels: true,
            target_info: true,
            counter_suffixes: true,
            unit_suffixes: true,
        }
    }
}

/// A pull exporter that renders the metrics of one meter provider as Prometheus text.
///
/// Cloning is cheap: clones share the same reader, so any clone can serve scrapes.
///
/// ```
/// use otel_core::export::prometheus::PrometheusExporter;
/// use otel_core::opentelemetry_sdk::metrics::SdkMeterProvider;
///
/// let exporter = PrometheusExporter::new();
/// let _provider = SdkMeterProvider::builder().with_reader(exporter.reader()).build();
/// let for_the_http_handler = exporter.clone();
/// assert_eq!(for_the_http_handler.response().status(), 200);
/// ```
#[derive(Debug, Clone)]
pub struct PrometheusExporter {
    reader: Arc<ManualReader>,
    options: Options,
}

impl Default for PrometheusExporter {
    fn default() -> Self {
        Self::new()
    }
}

impl PrometheusExporter {
    /// Creates an exporter with the specification's defaults (scope labels, `target_info`,
    /// unit and `_total` suffixes all on).
    ///
    /// ```
    /// let exporter = otel_core::export::prometheus::PrometheusExporter::new();
    /// // Not registered with a provider yet, so there is nothing to collect from.
    /// assert!(exporter.render().is_err());
    /// ```
    pub fn new() -> Self {
        PrometheusExporterBuilder::default().build()
    }

    /// Starts a builder to turn individual conversions off.
    ///
    /// ```
    /// let exporter = otel_core::export::prometheus::PrometheusExporter::builder()
    ///     .scope_labels(false)
    ///     .build();
    /// # drop(exporter);
    /// ```
    pub fn builder() -> PrometheusExporterBuilder {
        PrometheusExporterBuilder::default()
    }

    /// The [`MetricReader`] to register with the meter provider.
    ///
    /// A reader can be registered with one provider only; a second registration is ignored by
    /// the SDK.
    ///
    /// ```
    /// use otel_core::export::prometheus::PrometheusExporter;
    /// use otel_core::opentelemetry_sdk::metrics::SdkMeterProvider;
    ///
    /// let exporter = PrometheusExporter::new();
    /// let provider = SdkMeterProvider::builder().with_reader(exporter.reader()).build();
    /// assert!(exporter.render().is_ok());
    /// # drop(provider);
    /// ```
    pub fn reader(&self) -> PrometheusReader {
        super::SharedReader::new(Arc::clone(&self.reader))
    }

    /// Collects the current metrics and encodes them in the text exposition format 0.0.4.
    ///
    /// Fails with [`ErrorKind::Exporter`] when the reader is not registered with a provider or
    /// the provider was shut down.
    ///
    /// ```
    /// use otel_core::export::prometheus::PrometheusExporter;
    /// use otel_core::opentelemetry::metrics::MeterProvider as _;
    /// use otel_core::opentelemetry_sdk::metrics::SdkMeterProvider;
    ///
    /// let exporter = PrometheusExporter::new();
    /// let provider = SdkMeterProvider::builder().with_reader(exporter.reader()).build();
    /// let latency = provider
    ///     .meter("api")
    ///     .f64_histogram("request.duration")
    ///     .with_unit("s")
    ///     .with_boundaries(vec![0.1, 1.0])
    ///     .build();
    /// latency.record(0.25, &[]);
    ///
    /// let text = exporter.render()?;
    /// assert!(text.contains("request_duration_seconds_bucket{otel_scope_name=\"api\",le=\"1\"} 1\n"));
    /// assert!(text.contains("request_duration_seconds_count{otel_scope_name=\"api\"} 1\n"));
    /// # Ok::<(), otel_core::Error>(())
    /// ```
    pub fn render(&self) -> Result<String> {
        let mut metrics = ResourceMetrics::default();
        self.reader.collect(&mut metrics).map_err(|err| {
            Error::new(
                ErrorKind::Exporter,
                format!(
                    "cannot collect metrics for Prometheus: {err}; register the exporter's \
                     reader with the meter provider (`SdkMeterProvider::builder()\
                     .with_reader(exporter.reader())`) and keep the provider alive"
                ),
            )
        })?;
        Ok(encode(&metrics, self.options))
    }

    /// An HTTP response for a scrape: `200` with the exposition and
    /// `content-type: text/plain; version=0.0.4; charset=utf-8`, or `500` with the error text.
    ///
    /// Mount it in any `http`-based server, for example in axum:
    /// `get(move || async move { exporter.response() })`.
    ///
    /// ```
    /// use otel_core::export::prometheus::{PrometheusExporter, CONTENT_TYPE};
    ///
    /// let unregistered = PrometheusExporter::new();
    /// assert_eq!(unregistered.response().status(), 500);
    ///
    /// let exporter = PrometheusExporter::new();
    /// let _provider = otel_core::opentelemetry_sdk::metrics::SdkMeterProvider::builder()
    ///     .with_reader(exporter.reader())
    ///     .build();
    /// let response = exporter.response();
    /// assert_eq!(response.status(), 200);
    /// assert_eq!(response.headers()["content-type"], CONTENT_TYPE);
    /// ```
    pub fn response(&self) -> http::Response<String> {
        let (status, content_type, body) = match self.render() {
            Ok(text) => (http::StatusCode::OK, CONTENT_TYPE, text),
            Err(err) => (
                http::StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain; charset=utf-8",
                format!("{err}\n"),
            ),
        };
        let mut response = http::Response::new(body);
        *response.status_mut() = status;
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(content_type),
        );
        response
    }

    /// Starts a standalone HTTP/1.1 listener on `addr` that answers `GET /metrics` (and
    /// `HEAD`) with the exposition and everything else with `404`. One background thread
    /// serves scrapes one at a time; it stops when the returned server is shut down or dropped.
    ///
    /// Port `0` picks a free port; read it back with [`PrometheusServer::local_addr`].
    ///
    /// ```
    /// use otel_core::export::prometheus::PrometheusExporter;
    ///
    /// let exporter = PrometheusExporter::new();
    /// let server = exporter.serve(([127, 0, 0, 1], 0).into())?;
    /// assert_ne!(server.local_addr().port(), 0);
    /// server.shutdown();
    /// # Ok::<(), otel_core::Error>(())
    /// ```
    pub fn serve(&self, addr: SocketAddr) -> Result<PrometheusServer> {
        let listener = TcpListener::bind(addr).map_err(|err| {
            Error::new(
                ErrorKind::Io,
                format!(
                    "cannot listen for Prometheus scrapes on {addr}: {err}; choose a free \
                     address, or port 0 for an ephemeral port"
                ),
            )
        })?;
        let local_addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let exporter = self.clone();
        let stop_flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("otel-prometheus".into())
            .spawn(move || accept_loop(&listener, &exporter, &stop_flag))
            .map_err(|err| {
                Error::new(
                    ErrorKind::Io,
                    format!("cannot start the Prometheus listener thread: {err}"),
                )
            })?;
        Ok(PrometheusServer {
            local_addr,
            stop,
            thread: Some(thread),
        })
    }
}

/// Builder for [`PrometheusExporter`]; every option defaults to what the specification asks.
///
/// ```
/// use otel_core::export::prometheus::PrometheusExporterBuilder;
///
/// let exporter = PrometheusExporterBuilder::default()
///     .target_info(false)
///     .unit_suffixes(false)
///     .build();
/// # drop(exporter);
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct PrometheusExporterBuilder {
    options: Options,
}

impl PrometheusExporterBuilder {
    /// Whether every series carries `otel_scope_name`/`otel_scope_version` labels and scopes
    /// with attributes get an `otel_scope_info` series (default `true`).
    ///
    /// ```
    /// let b = otel_core::export::prometheus::PrometheusExporter::builder().scope_labels(false);
    /// # drop(b);
    /// ```
    pub fn scope_labels(mut self, enabled: bool) -> Self {
        self.options.scope_labels = enabled;
        self
    }

    /// Whether the resource is exposed as a `target_info` series (default `true`).
    ///
    /// ```
    /// let b = otel_core::export::prometheus::PrometheusExporter::builder().target_info(false);
    /// # drop(b);
    /// ```
    pub fn target_info(mut self, enabled: bool) -> Self {
        self.options.target_info = enabled;
        self
    }

    /// Whether counters get the `_total` suffix (default `true`).
    ///
    /// ```
    /// let b = otel_core::export::prometheus::PrometheusExporter::builder().counter_suffixes(false);
    /// # drop(b);
    /// ```
    pub fn counter_suffixes(mut self, enabled: bool) -> Self {
        self.options.counter_suffixes = enabled;
        self
    }

    /// Whether the instrument's unit is appended to the name, e.g. `_seconds` (default `true`).
    ///
    /// ```
    /// let b = otel_core::export::prometheus::PrometheusExporter::builder().unit_suffixes(false);
    /// # drop(b);
    /// ```
    pub fn unit_suffixes(mut self, enabled: bool) -> Self {
        self.options.unit_suffixes = enabled;
        self
    }

    /// Creates the exporter.
    ///
    /// ```
    /// let exporter = otel_core::export::prometheus::PrometheusExporter::builder().build();
    /// # drop(exporter);
    /// ```
    pub fn build(self) -> PrometheusExporter {
        let reader = ManualReader::builder()
            .with_temporality(Temporality::Cumulative)
            .build();
        PrometheusExporter {
            reader: Arc::new(reader),
            options: self.options,
        }
    }
}

/// The [`MetricReader`] half of a [`PrometheusExporter`], handed to
/// `SdkMeterProvider::builder().with_reader(..)`, which takes ownership of its reader.
///
/// ```
/// use otel_core::export::prometheus::PrometheusExporter;
/// use otel_core::opentelemetry_sdk::metrics::SdkMeterProvider;
///
/// let exporter = PrometheusExporter::new();
/// let reader = exporter.reader();
/// let _provider = SdkMeterProvider::builder().with_reader(reader).build();
/// ```
pub type PrometheusReader = super::SharedReader;

/// The standalone scrape listener started by [`PrometheusExporter::serve`].
///
/// Dropping it stops the listener too.
///
/// ```
/// use otel_core::export::prometheus::PrometheusExporter;
///
/// let server = PrometheusExporter::new().serve(([127, 0, 0, 1], 0).into())?;
/// println!("scrape http://{}/metrics", server.local_addr());
/// drop(server); // stops the listener thread
/// # Ok::<(), otel_core::Error>(())
/// ```
pub struct PrometheusServer {
    local_addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for PrometheusServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrometheusServer")
            .field("local_addr", &self.local_addr)
            .field("running", &self.thread.is_some())
            .finish()
    }
}

impl PrometheusServer {
    /// The address the listener is bound to (with the real port when port `0` was asked for).
    ///
    /// ```
    /// let server = otel_core::export::prometheus::PrometheusExporter::new()
    ///     .serve(([127, 0, 0, 1], 0).into())?;
    /// assert!(server.local_addr().ip().is_loopback());
    /// # Ok::<(), otel_core::Error>(())
    /// ```
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops the listener and waits for its thread to finish the scrape in progress, if any.
    ///
    /// ```
    /// let server = otel_core::export::prometheus::PrometheusExporter::new()
    ///     .serve(([127, 0, 0, 1], 0).into())?;
    /// server.shutdown();
    /// # Ok::<(), otel_core::Error>(())
    /// ```
    pub fn shutdown(mut self) {
        self.stop_listener();
    }

    fn stop_listener(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        self.stop.store(true, Ordering::Release);
        // `accept` has no timeout, so the thread only sees the flag once a connection arrives.
        let wake = match self.local_addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => {
                SocketAddr::new(Ipv4Addr::LOCALHOST.into(), self.local_addr.port())
            }
            IpAddr::V6(ip) if ip.is_unspecified() => {
                SocketAddr::new(Ipv6Addr::LOCALHOST.into(), self.local_addr.port())
            }
            _ => self.local_addr,
        };
        if TcpStream::connect_timeout(&wake, WAKE_TIMEOUT).is_ok() {
            // A panic in the thread has already been reported on stderr; nothing to add.
            let _ = thread.join();
        }
        // Otherwise joining could block forever: the thread is detached and exits on its next
        // connection, which it no longer serves.
    }
}

impl Drop for PrometheusServer {
    fn drop(&mut self) {
        self.stop_listener();
    }
}

static CURRENT: RwLock<Option<PrometheusExporter>> = RwLock::new(None);

/// The exporter that [`init`](crate::init) installed for `OTEL_METRICS_EXPORTER=prometheus`, if
/// any, so the application can mount it on its own router.
///
/// ```
/// use otel_core::export::prometheus;
///
/// if let Some(exporter) = prometheus::current() {
///     let _response = exporter.response();
/// }
/// ```
pub fn current() -> Option<PrometheusExporter> {
    CURRENT.read().unwrap_or_else(PoisonError::into_inner).clone()
}

/// Publishes (or with `None`, withdraws) the exporter returned by [`current`].
pub(crate) fn set_current(exporter: Option<PrometheusExporter>) {
    *CURRENT.write().unwrap_or_else(PoisonError::into_inner) = exporter;
}

// ---------------------------------------------------------------------------------------------
// Standalone listener

fn accept_loop(listener: &TcpListener, exporter: &PrometheusExporter, stop: &AtomicBool) {
    for connection in listener.incoming() {
        if stop.load(Ordering::Acquire) {
            break;
        }
        match connection {
            // A failed exchange concerns one scraper only; the next scrape starts afresh.
            Ok(stream) => {
                let _ = serve_connection(stream, exporter);
            }
            // Typically EMFILE: back off instead of spinning on a listener that keeps failing.
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

enum Head {
    Complete(Vec<u8>),
    TooLarge,
    Truncated,
}

fn read_head(stream: &mut TcpStream) -> std::io::Result<Head> {
    let mut head = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    // Each pass reads at least one byte or returns, so the loop ends by the size cap at most.
    loop {
        if let Some(end) = find_head_end(&head) {
            head.truncate(end);
            return Ok(Head::Complete(head));
        }
        if head.len() >= MAX_REQUEST_HEAD {
            return Ok(Head::TooLarge);
        }
        let room = (MAX_REQUEST_HEAD - head.len()).min(chunk.len());
        let read = stream.read(&mut chunk[..room])?;
        if read == 0 {
            return Ok(Head::Truncated);
        }
        head.extend_from_slice(&chunk[..read]);
    }
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .or_else(|| buf.windows(2).position(|w| w == b"\n\n"))
}

struct Reply {
    status: &'static str,
    content_type: &'static str,
    allow: bool,
    body: String,
}

impl Reply {
    fn text(status: &'static str, body: impl Into<String>) -> Self {
        Self {
            status,
            content_type: "text/plain; charset=utf-8",
            allow: false,
            body: body.into(),
        }
    }
}

fn serve_connection(mut stream: TcpStream, exporter: &PrometheusExporter) -> std::io::Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut head_only = false;
    let mut unread_input = false;
    let reply = match read_head(&mut stream)? {
        Head::Truncated => return Ok(()),
        Head::TooLarge => {
            unread_input = true;
            Reply::text("431 Request Header Fields Too Large", "request head too large\n")
        }
        Head::Complete(head) => match parse_request_line(&head) {
            None => Reply::text("400 Bad Request", "malformed HTTP request line\n"),
            Some((method, path)) => {
                head_only = method == "HEAD";
                route(method, path, exporter)
            }
        },
    };
    write_reply(&mut stream, &reply, head_only)?;
    stream.flush()?;
    // Half-close so the client sees the end of the body even if it ignores Content-Length.
    let _ = stream.shutdown(Shutdown::Write);
    if unread_input {
        // Closing with unread input makes the kernel send RST, which can destroy the reply
        // before the client reads it; drain a bounded amount first.
        stream.set_read_timeout(Some(DRAIN_TIMEOUT))?;
        let mut sink = [0u8; 4096];
        let mut drained = 0;
        while drained < MAX_DRAIN {
            match stream.read(&mut sink) {
                Ok(0) | Err(_) => break,
                Ok(read) => drained += read,
            }
        }
    }
    Ok(())
}

fn parse_request_line(head: &[u8]) -> Option<(&str, &str)> {
    let line = head.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?.trim_end_matches('\r');
    let mut parts = line.split(' ');
    let method = parts.next().filter(|m| !m.is_empty())?;
    let target = parts.next().filter(|t| !t.is_empty())?;
    let version = parts.next()?;
    if !version.starts_with("HTTP/1.") || parts.next().is_some() {
        return None;
    }
    let path = target.split(['?', '#']).next().unwrap_or(target);
    Some((method, path))
}

fn route(method: &str, path: &str, exporter: &PrometheusExporter) -> Reply {
    if path != "/metrics" {
        return Reply::text("404 Not Found", "not found; metrics are served at /metrics\n");
    }
    if method != "GET" && method != "HEAD" {
        let mut reply = Reply::text("405 Method Not Allowed", "use GET /metrics\n");
        reply.allow = true;
        return reply;
    }
    match exporter.render() {
        Ok(body) => Reply {
            status: "200 OK",
            content_type: CONTENT_TYPE,
            allow: false,
            body,
        },
        Err(err) => Reply::text("500 Internal Server Error", format!("{err}\n")),
    }
}

fn write_reply(stream: &mut TcpStream, reply: &Reply, head_only: bool) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reply.content_type,
        reply.body.len()
    );
    if reply.allow {
        head.push_str("Allow: GET, HEAD\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    if !head_only {
        stream.write_all(reply.body.as_bytes())?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Encoding

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

#[derive(Clone, Copy)]
enum Help<'a> {
    Description(&'a str),
    Fallback(&'a str),
}

struct Family {
    kind: Kind,
    help: String,
    help_is_description: bool,
    /// Rendered sample lines per series, keyed by the series' labels (without `le`).
    series: BTreeMap<String, String>,
}

#[derive(Default)]
struct Encoder {
    families: BTreeMap<String, Family>,
    notes: BTreeSet<String>,
}

/// A numeric sample value as the SDK hands it out.
trait Sample: Copy {
    fn write_to(self, out: &mut String);
    fn is_negative(self) -> bool;
}

impl Sample for u64 {
    fn write_to(self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
    fn is_negative(self) -> bool {
        false
    }
}

impl Sample for i64 {
    fn write_to(self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
    fn is_negative(self) -> bool {
        self < 0
    }
}

impl Sample for f64 {
    fn write_to(self, out: &mut String) {
        write_float(out, self);
    }
    fn is_negative(self) -> bool {
        self < 0.0
    }
}

fn encode(metrics: &ResourceMetrics, options: Options) -> String {
    let mut encoder = Encoder::default();
    if options.target_info {
        encoder.add_target_info(metrics.resource());
    }

    let mut scopes: Vec<_> = metrics.scope_metrics().collect();
    scopes.sort_by(|a, b| scope_key(a.scope()).cmp(&scope_key(b.scope())));
    // Conflicts are resolved "first wins", so the order has to be stable across scrapes.
    let mut items: Vec<(&InstrumentationScope, &Metric)> = scopes
        .iter()
        .flat_map(|sm| sm.metrics().map(move |m| (sm.scope(), m)))
        .collect();
    items.sort_by(|a, b| {
        (scope_key(a.0), a.1.name(), a.1.unit(), a.1.description()).cmp(&(
            scope_key(b.0),
            b.1.name(),
            b.1.unit(),
            b.1.description(),
        ))
    });

    for scope in scopes.iter().map(|sm| sm.scope()) {
        if options.scope_labels && scope.attributes().next().is_some() {
            encoder.add_scope_info(scope);
        }
    }
    for (scope, metric) in items {
        let scope_labels = if options.scope_labels {
            render_scope_labels(scope)
        } else {
            String::new()
        };
        match metric.data() {
            AggregatedMetrics::F64(data) => encoder.add_metric(metric, data, &scope_labels, options),
            AggregatedMetrics::U64(data) => encoder.add_metric(metric, data, &scope_labels, options),
            AggregatedMetrics::I64(data) => encoder.add_metric(metric, data, &scope_labels, options),
        }
    }
    encoder.finish()
}

fn scope_key(scope: &InstrumentationScope) -> (&str, Option<&str>) {
    (scope.name(), scope.version())
}

impl Encoder {
    fn add_target_info(&mut self, resource: &Resource) {
        if resource.is_empty() {
            return;
        }
        let labels = render_labels(&attribute_labels(
            resource.iter().map(|(k, v)| (k.as_str(), v)),
            &[],
        ));
        let mut line = String::new();
        write_sample(&mut line, "target_info", &labels, None, |out| out.push('1'));
        let help = Help::Description("Target metadata");
        self.insert("target_info", Kind::Gauge, help, labels, line);
    }

    fn add_scope_info(&mut self, scope: &InstrumentationScope) {
        let reserved = ["otel_scope_name", "otel_scope_version"];
        let attributes = render_labels(&attribute_labels(
            scope.attributes().map(|kv| (kv.key.as_str(), &kv.value)),
            &reserved,
        ));
        let labels = join_labels(&render_scope_labels(scope), &attributes);
        let mut line = String::new();
        write_sample(&mut line, "otel_scope_info", &labels, None, |out| out.push('1'));
        let help = Help::Description("Instrumentation Scope metadata");
        self.insert("otel_scope_info", Kind::Gauge, help, labels, line);
    }

    fn add_metric<T: Sample>(
        &mut self,
        metric: &Metric,
        data: &MetricData<T>,
        scope_labels: &str,
        options: Options,
    ) {
        let kind = match data {
            MetricData::Gauge(_) => Kind::Gauge,
            MetricData::Sum(sum) if sum.temporality() != Temporality::Cumulative => {
                return self.note_delta(metric);
            }
            MetricData::Sum(sum) if sum.is_monotonic() => Kind::Counter,
            MetricData::Sum(_) => Kind::Gauge,
            MetricData::Histogram(h) if h.temporality() != Temporality::Cumulative => {
                return self.note_delta(metric);
            }
            MetricData::ExponentialHistogram(h) if h.temporality() != Temporality::Cumulative => {
                return self.note_delta(metric);
            }
            MetricData::Histogram(_) | MetricData::ExponentialHistogram(_) => Kind::Histogram,
        };
        let name = metric_name(metric.name(), metric.unit(), kind, options);
        if let Some(existing) = self.families.get(&name) {
            if existing.kind != kind {
                self.notes.insert(format!(
                    "dropped instrument {:?}: its name {name} is already a {}, not a {}",
                    metric.name(),
                    existing.kind.as_str(),
                    kind.as_str()
                ));
                return;
            }
        }
        let reserved: &[&str] = match (kind, options.scope_labels) {
            (Kind::Histogram, true) => &["le", "otel_scope_name", "otel_scope_version"],
            (Kind::Histogram, false) => &["le"],
            (_, true) => &["otel_scope_name", "otel_scope_version"],
            (_, false) => &[],
        };
        // promtool flags families without help; the OTel name at least says where it came from.
        let help = match metric.description() {
            "" => Help::Fallback(metric.name()),
            description => Help::Description(description),
        };
        match data {
            MetricData::Gauge(gauge) => {
                for point in gauge.data_points() {
                    let labels = point_labels(point.attributes(), reserved, scope_labels);
                    let mut line = String::new();
                    write_sample(&mut line, &name, &labels, None, |out| point.value().write_to(out));
                    self.insert(&name, kind, help, labels, line);
                }
            }
            MetricData::Sum(sum) => {
                for point in sum.data_points() {
                    let labels = point_labels(point.attributes(), reserved, scope_labels);
                    let mut line = String::new();
                    write_sample(&mut line, &name, &labels, None, |out| point.value().write_to(out));
                    self.insert(&name, kind, help, labels, line);
                }
            }
            MetricData::Histogram(histogram) => {
                for point in histogram.data_points() {
                    let labels = point_labels(point.attributes(), reserved, scope_labels);
                    let lines = explicit_histogram_lines(&name, &labels, point);
                    self.insert(&name, kind, help, labels, lines);
                }
            }
            MetricData::ExponentialHistogram(histogram) => {
                for point in histogram.data_points() {
                    let labels = point_labels(point.attributes(), reserved, scope_labels);
                    let lines = exponential_histogram_lines(&name, &labels, point);
                    self.insert(&name, kind, help, labels, lines);
                }
            }
        }
    }

    fn note_delta(&mut self, metric: &Metric) {
        self.notes.insert(format!(
            "dropped instrument {:?}: delta temporality cannot be exposed to Prometheus",
            metric.name()
        ));
    }

    fn insert(&mut self, name: &str, kind: Kind, help: Help<'_>, labels: String, lines: String) {
        let family = self.families.entry(name.to_owned()).or_insert_with(|| Family {
            kind,
            help: String::new(),
            help_is_description: false,
            series: BTreeMap::new(),
        });
        // One HELP per family: the first description wins, a fallback only fills a gap.
        match help {
            Help::Description(text) if !family.help_is_description => {
                family.help = text.to_owned();
                family.help_is_description = true;
            }
            Help::Fallback(text) if family.help.is_empty() => family.help = text.to_owned(),
            _ => {}
        }
        family.series.entry(labels).or_insert(lines);
    }

    fn finish(self) -> String {
        let mut out = String::new();
        for (name, family) in &self.families {
            out.push_str("# HELP ");
            out.push_str(name);
            if !family.help.is_empty() {
                out.push(' ');
                escape_help(&mut out, &family.help);
            }
            out.push('\n');
            let _ = writeln!(out, "# TYPE {name} {}", family.kind.as_str());
            for lines in family.series.values() {
                out.push_str(lines);
            }
        }
        for note in &self.notes {
            out.push_str("# otel: ");
            escape_help(&mut out, note);
            out.push('\n');
        }
        out
    }
}

fn point_labels<'a>(
    attributes: impl Iterator<Item = &'a KeyValue>,
    reserved: &[&str],
    scope_labels: &str,
) -> String {
    let attributes = render_labels(&attribute_labels(
        attributes.map(|kv| (kv.key.as_str(), &kv.value)),
        reserved,
    ));
    join_labels(&attributes, scope_labels)
}

/// Writes `name{labels[,le="bound"]} value\n`.
fn write_sample(
    out: &mut String,
    name: &str,
    labels: &str,
    le: Option<f64>,
    value: impl FnOnce(&mut String),
) {
    out.push_str(name);
    if !labels.is_empty() || le.is_some() {
        out.push('{');
        out.push_str(labels);
        if let Some(bound) = le {
            if !labels.is_empty() {
                out.push(',');
            }
            out.push_str("le=\"");
            write_float(out, bound);
            out.push('"');
        }
        out.push('}');
    }
    out.push(' ');
    value(out);
    out.push('\n');
}

/// Accumulates `(upper bound, count)` pairs into cumulative `_bucket` lines. A bound that is
/// not finite or not above the previous one is folded into the next bucket, which keeps `le`
/// strictly increasing whatever the input looks like.
struct Buckets<'a> {
    out: String,
    name: String,
    labels: &'a str,
    cumulative: u64,
    last_bound: Option<f64>,
}

impl<'a> Buckets<'a> {
    fn new(name: &str, labels: &'a str) -> Self {
        Self {
            out: String::new(),
            name: format!("{name}_bucket"),
            labels,
            cumulative: 0,
            last_bound: None,
        }
    }

    fn push(&mut self, bound: f64, count: u64) {
        self.cumulative = self.cumulative.saturating_add(count);
        let rising = self.last_bound.is_none_or(|last| bound > last);
        if bound.is_finite() && rising {
            self.last_bound = Some(bound);
            let cumulative = self.cumulative;
            write_sample(&mut self.out, &self.name, self.labels, Some(bound), |out| {
                let _ = write!(out, "{cumulative}");
            });
        }
    }

    fn finish<T: Sample>(mut self, base: &str, count: u64, sum: Option<T>) -> String {
        write_sample(
            &mut self.out,
            &self.name,
            self.labels,
            Some(f64::INFINITY),
            |out| {
                let _ = write!(out, "{count}");
            },
        );
        if let Some(sum) = sum {
            write_sample(&mut self.out, &format!("{base}_sum"), self.labels, None, |out| {
                sum.write_to(out)
            });
        }
        write_sample(
            &mut self.out,
            &format!("{base}_count"),
            self.labels,
            None,
            |out| {
                let _ = write!(out, "{count}");
            },
        );
        self.out
    }
}

fn explicit_histogram_lines<T: Sample>(name: &str, labels: &str, point: &HistogramDataPoint<T>) -> String {
    let mut buckets = Buckets::new(name, labels);
    let mut saw_negative = point.min().is_some_and(Sample::is_negative) || point.sum().is_negative();
    // The bucket_counts list has one more entry than bounds: the overflow bucket, whose
    // count only shows up in `+Inf`.
    for (bound, count) in point.bounds().zip(point.bucket_counts()) {
        saw_negative |= bound < 0.0 && count > 0;
        buckets.push(bound, count);
    }
    // `_sum` is only meaningful to Prometheus when it cannot decrease (no negative values).
    let sum = (!saw_negative).then(|| point.sum());
    buckets.finish(name, point.count(), sum)
}

fn exponential_histogram_lines<T: Sample>(
    name: &str,
    labels: &str,
    point: &ExponentialHistogramDataPoint<T>,
) -> String {
    let scale = point.scale();
    let mut buckets = Buckets::new(name, labels);
    // Negative bucket `i` holds values in [-base^(i+1), -base^i): ascending value order is
    // descending index, and its upper bound is -base^i.
    let negative = point.negative_bucket();
    let negative_counts: Vec<u64> = negative.counts().collect();
    let mut saw_negative = point.min().is_some_and(Sample::is_negative);
    for (k, count) in negative_counts.iter().enumerate().rev() {
        saw_negative |= *count > 0;
        let index = i64::from(negative.offset()) + k as i64;
        buckets.push(-exponential_bound(index, scale), *count);
    }
    buckets.push(point.zero_threshold().max(0.0), point.zero_count());
    // Positive bucket `i` holds values in (base^i, base^(i+1)].
    let positive = point.positive_bucket();
    for (k, count) in positive.counts().enumerate() {
        let index = i64::from(positive.offset()) + k as i64;
        buckets.push(exponential_bound(index + 1, scale), count);
    }
    let sum = (!saw_negative).then(|| point.sum());
    buckets.finish(name, point.count() as u64, sum)
}

/// `base^index` with `base = 2^(2^-scale)`.
fn exponential_bound(index: i64, scale: i8) -> f64 {
    (index as f64 * (-f64::from(scale)).exp2()).exp2()
}

// ---------------------------------------------------------------------------------------------
// Names, units and labels

fn metric_name(name: &str, unit: &str, kind: Kind, options: Options) -> String {
    let mut base = sanitize(name, true);
    let counter_suffix = kind == Kind::Counter && options.counter_suffixes;
    if counter_suffix {
        // The unit goes before `_total`, so an existing `_total` is re-added at the end.
        if let Some(stripped) = base.strip_suffix("_total") {
            base.truncate(stripped.len());
        }
    }
    if options.unit_suffixes {
        if let Some(unit) = prometheus_unit(unit, kind == Kind::Gauge) {
            if !contains_word(&base, &unit) {
                base.push('_');
                base.push_str(&unit);
            }
        }
    }
    if counter_suffix {
        base.push_str("_total");
    }
    sanitize(&base, true)
}

/// Whether `word` (one or more `_`-separated tokens) appears as whole tokens in `name`.
fn contains_word(name: &str, word: &str) -> bool {
    name == word
        || name.ends_with(&format!("_{word}"))
        || name.starts_with(&format!("{word}_"))
        || name.contains(&format!("_{word}_"))
}

/// Replaces characters Prometheus does not allow with `_`, collapses runs of `_`, and guards a
/// leading digit. Metric names may contain `:`, label names may not.
fn sanitize(raw: &str, allow_colon: bool) -> String {
    let mut out = String::with_capacity(raw.len() + 1);
    for c in raw.chars() {
        let keep = c.is_ascii_alphanumeric() || c == '_' || (allow_colon && c == ':');
        let c = if keep { c } else { '_' };
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// The Prometheus word for a UCUM unit, or `None` when the name gets no unit suffix.
fn prometheus_unit(unit: &str, gauge: bool) -> Option<String> {
    // `{packet}` style annotations are only descriptive; a "count of foo" has no unit.
    let mut stripped = String::with_capacity(unit.len());
    let mut depth = 0usize;
    for c in unit.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            _ if depth == 0 => stripped.push(c),
            _ => {}
        }
    }
    let stripped = stripped.trim();
    let (main, per) = match stripped.split_once('/') {
        Some((main, per)) => (main.trim(), Some(per.trim())),
        None => (stripped, None),
    };
    let main_word = match main {
        "" => String::new(),
        "1" if per.is_none() && gauge => "ratio".to_owned(),
        "1" => String::new(),
        other => main_unit_word(other).map_or_else(|| other.to_owned(), str::to_owned),
    };
    let per_word = per
        .filter(|p| !p.is_empty())
        .map(|p| per_unit_word(p).map_or_else(|| p.to_owned(), str::to_owned));
    let word = match (main_word.is_empty(), per_word) {
        (true, None) => return None,
        (false, None) => main_word,
        (true, Some(per)) => format!("per_{per}"),
        (false, Some(per)) => format!("{main_word}_per_{per}"),
    };
    let word = sanitize(&word, false);
    let word = word.trim_matches('_');
    (!word.is_empty()).then(|| word.to_owned())
}

fn main_unit_word(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tebibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "TBy" => "terabytes",
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        "Cel" => "celsius",
        "Hz" => "hertz",
        "%" => "percent",
        _ => return None,
    })
}

fn per_unit_word(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        _ => return None,
    })
}

/// Sanitized `(label, value)` pairs sorted by label; keys that collide after sanitizing are
/// merged as the specification asks, and `reserved` labels (set by the exporter) are dropped.
fn attribute_labels<'a>(
    attributes: impl Iterator<Item = (&'a str, &'a Value)>,
    reserved: &[&str],
) -> Vec<(String, String)> {
    let mut by_label: BTreeMap<String, Vec<(&'a str, String)>> = BTreeMap::new();
    for (key, value) in attributes {
        let label = sanitize(key, false);
        if reserved.contains(&label.as_str()) {
            continue;
        }
        by_label
            .entry(label)
            .or_default()
            .push((key, value_to_string(value)));
    }
    by_label
        .into_iter()
        .map(|(label, mut values)| {
            values.sort_by(|a, b| a.0.cmp(b.0));
            let joined = values.into_iter().map(|(_, v)| v).collect::<Vec<_>>().join(";");
            (label, joined)
        })
        .collect()
}

fn render_labels(labels: &[(String, String)]) -> String {
    let mut out = String::new();
    for (name, value) in labels {
        push_label(&mut out, name, value);
    }
    out
}

fn render_scope_labels(scope: &InstrumentationScope) -> String {
    let mut out = String::new();
    push_label(&mut out, "otel_scope_name", scope.name());
    if let Some(version) = scope.version() {
        push_label(&mut out, "otel_scope_version", version);
    }
    out
}

fn push_label(out: &mut String, name: &str, value: &str) {
    if !out.is_empty() {
        out.push(',');
    }
    out.push_str(name);
    out.push_str("=\"");
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn join_labels(first: &str, second: &str) -> String {
    match (first.is_empty(), second.is_empty()) {
        (_, true) => first.to_owned(),
        (true, false) => second.to_owned(),
        (false, false) => format!("{first},{second}"),
    }
}

fn escape_help(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Attribute values as strings, per the attribute specification: arrays become JSON arrays.
fn value_to_string(value: &Value) -> String {
    fn float(v: f64) -> String {
        let mut out = String::new();
        write_float(&mut out, v);
        out
    }
    match value {
        Value::String(s) => s.as_str().to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::I64(i) => i.to_string(),
        Value::F64(f) => float(*f),
        Value::Array(Array::String(items)) => {
            let items: Vec<&str> = items.iter().map(|s| s.as_str()).collect();
            serde_json::to_string(&items).unwrap_or_else(|_| value.to_string())
        }
        Value::Array(Array::Bool(items)) => {
            serde_json::to_string(items).unwrap_or_else(|_| value.to_string())
        }
        Value::Array(Array::I64(items)) => serde_json::to_string(items).unwrap_or_else(|_| value.to_string()),
        // JSON has no NaN or infinities; Prometheus' spelling keeps them readable.
        Value::Array(Array::F64(items)) => {
            let items: Vec<String> = items.iter().map(|v| float(*v)).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

/// Formats a float the way Prometheus parses it: `+Inf`, `-Inf`, `NaN`, the shortest decimal
/// that round-trips, and exponent notation for very large or small magnitudes.
fn write_float(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value == f64::INFINITY {
        out.push_str("+Inf");
    } else if value == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else {
        let magnitude = value.abs();
        if magnitude != 0.0 && !(1e-6..1e21).contains(&magnitude) {
            let _ = write!(out, "{value:e}");
        } else {
            let _ = write!(out, "{value}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry_sdk::metrics::{Aggregation, Instrument, SdkMeterProvider, Stream};

    fn provider_with(exporter: &PrometheusExporter) -> SdkMeterProvider {
        SdkMeterProvider::builder()
            .with_reader(exporter.reader())
            .with_resource(
                Resource::builder_empty()
                    .with_attributes([
                        KeyValue::new("service.name", "checkout"),
                        KeyValue::new("service.instance.id", "pod-7"),
                    ])
                    .build(),
            )
            .build()
    }

    fn setup() -> (PrometheusExporter, SdkMeterProvider) {
        let exporter = PrometheusExporter::new();
        let provider = provider_with(&exporter);
        (exporter, provider)
    }

    fn family<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
        text.lines()
            .filter(|l| {
                let bare = l
                    .strip_prefix("# HELP ")
                    .or_else(|| l.strip_prefix("# TYPE "))
                    .unwrap_or(l);
                bare.strip_prefix(name).is_some_and(|rest| {
                    rest.starts_with(['{', ' '])
                        || rest.starts_with("_bucket")
                        || rest.starts_with("_sum")
                        || rest.starts_with("_count")
                })
            })
            .collect()
    }

    #[test]
    fn counter_gets_total_suffix_type_help_and_scope_labels() {
        let (exporter, provider) = setup();
        let meter = provider.meter_with_scope(
            InstrumentationScope::builder("prom.test.counter")
                .with_version("1.2.3")
                .build(),
        );
        let counter = meter
            .u64_counter("orders.placed")
            .with_description("Orders placed")
            .build();
        counter.add(2, &[KeyValue::new("payment.method", "card")]);
        counter.add(5, &[KeyValue::new("payment.method", "card")]);
        counter.add(1, &[KeyValue::new("payment.method", "cash")]);
        let f64_counter = meter.f64_counter("prom_test_spent").build();
        f64_counter.add(1.5, &[]);

        let text = exporter.render().unwrap();
        assert_eq!(
            family(&text, "orders_placed_total"),
            vec![
                "# HELP orders_placed_total Orders placed",
                "# TYPE orders_placed_total counter",
                "orders_placed_total{payment_method=\"card\",otel_scope_name=\"prom.test.counter\",otel_scope_version=\"1.2.3\"} 7",
                "orders_placed_total{payment_method=\"cash\",otel_scope_name=\"prom.test.counter\",otel_scope_version=\"1.2.3\"} 1",
            ]
        );
        assert!(text.contains("# TYPE prom_test_spent_total counter\n"));
        assert!(text.contains(
            "prom_test_spent_total{otel_scope_name=\"prom.test.counter\",otel_scope_version=\"1.2.3\"} 1.5\n"
        ));
        assert!(text.ends_with('\n'));
        // Rendering twice gives the same bytes: the output is sorted.
        assert_eq!(text, exporter.render().unwrap());
    }

    #[test]
    fn existing_total_suffix_is_not_doubled() {
        let (exporter, provider) = setup();
        let meter = provider.meter("prom.test.total");
        meter.u64_counter("jobs_total").build().add(1, &[]);
        meter
            .u64_counter("sent_total")
            .with_unit("By")
            .build()
            .add(9, &[]);
        let text = exporter.render().unwrap();
        assert!(text.contains("jobs_total{otel_scope_name=\"prom.test.total\"} 1\n"));
        assert!(!text.contains("jobs_total_total"));
        assert!(text.contains("sent_bytes_total{otel_scope_name=\"prom.test.total\"} 9\n"));
    }

    #[test]
    fn up_down_counter_and_gauges_are_gauges() {
        let (exporter, provider) = setup();
        let meter = provider.meter("prom.test.gauge");
        let queue = meter.i64_up_down_counter("queue.depth").build();
        queue.add(5, &[]);
        queue.add(-8, &[]);
        meter
            .f64_gauge("cpu.temperature")
            .with_unit("Cel")
            .build()
            .record(-4.25, &[]);
        meter
            .u64_gauge("pool.size")
            .with_unit("{connection}")
            .build()
            .record(12, &[]);
        let _observable = meter
            .u64_observable_gauge("prom.test.observed")
            .with_callback(|observer| observer.observe(42, &[]))
            .build();

        let text = exporter.render().unwrap();
        let scope = "{otel_scope_name=\"prom.test.gauge\"}";
        assert!(text.contains("# TYPE queue_depth gauge\n"));
        assert!(text.contains(&format!("queue_depth{scope} -3\n")));
        assert!(text.contains("# TYPE cpu_temperature_celsius gauge\n"));
        assert!(text.contains(&format!("cpu_temperature_celsius{scope} -4.25\n")));
        assert!(text.contains(&format!("pool_size{scope} 12\n")));
        assert!(text.contains(&format!("prom_test_observed{scope} 42\n")));
    }

    #[test]
    fn histogram_buckets_are_cumulative_with_sum_and_count() {
        let (exporter, provider) = setup();
        let histogram = provider
            .meter("prom.test.histogram")
            .f64_histogram("http.server.request.duration")
            .with_unit("s")
            .with_description("Duration of HTTP server requests.")
            .with_boundaries(vec![0.1, 0.5, 1.0])
            .build();
        let attrs = [KeyValue::new("http.request.method", "GET")];
        for value in [0.05, 0.1, 0.3, 0.7, 0.9, 2.5] {
            histogram.record(value, &attrs);
        }

        let text = exporter.render().unwrap();
        let labels = "http_request_method=\"GET\",otel_scope_name=\"prom.test.histogram\"";
        let name = "http_server_request_duration_seconds";
        assert_eq!(
            family(&text, name),
            vec![
                format!("# HELP {name} Duration of HTTP server requests."),
                format!("# TYPE {name} histogram"),
                format!("{name}_bucket{{{labels},le=\"0.1\"}} 2"),
                format!("{name}_bucket{{{labels},le=\"0.5\"}} 3"),
                format!("{name}_bucket{{{labels},le=\"1\"}} 5"),
                format!("{name}_bucket{{{labels},le=\"+Inf\"}} 6"),
                format!("{name}_sum{{{labels}}} 4.55"),
                format!("{name}_count{{{labels}}} 6"),
            ]
        );
    }

    #[test]
    fn histogram_with_negative_values_has_no_sum() {
        let (exporter, provider) = setup();
        let histogram = provider
            .meter("prom.test.negative")
            .f64_histogram("balance.change")
            .with_boundaries(vec![-10.0, 0.0, 10.0])
            .build();
        histogram.record(-20.0, &[]);
        histogram.record(5.0, &[]);
        let text = exporter.render().unwrap();
        assert!(text.contains("balance_change_bucket{otel_scope_name=\"prom.test.negative\",le=\"-10\"} 1\n"));
        assert!(text.contains("balance_change_count{otel_scope_name=\"prom.test.negative\"} 2\n"));
        assert!(!text.contains("balance_change_sum"));
    }

    #[test]
    fn exponential_histogram_becomes_classic_buckets() {
        let exporter = PrometheusExporter::new();
        let provider = SdkMeterProvider::builder()
            .with_reader(exporter.reader())
            .with_view(|instrument: &Instrument| {
                (instrument.name() == "prom.test.exponential").then(|| {
                    Stream::builder()
                        .with_aggregation(Aggregation::Base2ExponentialHistogram {
                            max_size: 160,
                            max_scale: 0,
                            record_min_max: true,
                        })
                        .build()
                        .unwrap()
                })
            })
            .build();
        let histogram = provider
            .meter("prom.test.exp")
            .f64_histogram("prom.test.exponential")
            .build();
        // Scale 0 means base 2: buckets (1,2], (2,4], (4,8].
        for value in [1.5, 3.0, 3.5, 8.0] {
            histogram.record(value, &[]);
        }
        let text = exporter.render().unwrap();
        let lines = family(&text, "prom_test_exponential");
        let buckets: Vec<_> = lines.iter().filter(|l| l.contains("_bucket")).collect();
        let labels = "otel_scope_name=\"prom.test.exp\"";
        assert_eq!(
            buckets,
            vec![
                &format!("prom_test_exponential_bucket{{{labels},le=\"0\"}} 0"),
                &format!("prom_test_exponential_bucket{{{labels},le=\"2\"}} 1"),
                &format!("prom_test_exponential_bucket{{{labels},le=\"4\"}} 3"),
                &format!("prom_test_exponential_bucket{{{labels},le=\"8\"}} 4"),
                &format!("prom_test_exponential_bucket{{{labels},le=\"+Inf\"}} 4"),
            ]
        );
        assert!(text.contains(&format!("prom_test_exponential_sum{{{labels}}} 16\n")));
        assert!(text.contains(&format!("prom_test_exponential_count{{{labels}}} 4\n")));
    }

    #[test]
    fn units_become_name_suffixes() {
        let (exporter, provider) = setup();
        let meter = provider.meter("prom.test.units");
        meter
            .f64_gauge("u.latency")
            .with_unit("ms")
            .build()
            .record(1.0, &[]);
        meter.f64_gauge("u.size").with_unit("By").build().record(1.0, &[]);
        meter
            .f64_gauge("u.utilization")
            .with_unit("1")
            .build()
            .record(0.5, &[]);
        meter.u64_counter("u.hits").with_unit("1").build().add(1, &[]);
        meter
            .u64_counter("u.requests")
            .with_unit("{request}")
            .build()
            .add(1, &[]);
        meter
            .f64_gauge("u.throughput")
            .with_unit("By/s")
            .build()
            .record(1.0, &[]);
        meter
            .f64_gauge("u.rate")
            .with_unit("{packet}/s")
            .build()
            .record(1.0, &[]);
        meter
            .f64_gauge("u.elapsed_seconds")
            .with_unit("s")
            .build()
            .record(1.0, &[]);
        meter
            .f64_gauge("u.custom")
            .with_unit("furlongs")
            .build()
            .record(1.0, &[]);

        let text = exporter.render().unwrap();
        for expected in [
            "u_latency_milliseconds{",
            "u_size_bytes{",
            "u_utilization_ratio{",
            "u_hits_total{",
            "u_requests_total{",
            "u_throughput_bytes_per_second{",
            "u_rate_per_second{",
            "u_elapsed_seconds{",
            "u_custom_furlongs{",
        ] {
            assert!(
                text.lines().any(|l| l.starts_with(expected)),
                "missing {expected} in\n{text}"
            );
        }
        assert!(!text.contains("u_elapsed_seconds_seconds"));
        assert!(!text.contains("u_hits_ratio"));
    }

    #[test]
    fn names_are_sanitized() {
        let options = Options::default();
        assert_eq!(metric_name("9-lives!", "", Kind::Gauge, options), "_9_lives_");
        assert_eq!(metric_name("a..b//c", "", Kind::Gauge, options), "a_b_c");
        assert_eq!(
            metric_name("ns:requests", "", Kind::Gauge, options),
            "ns:requests"
        );
        assert_eq!(metric_name("héllo", "", Kind::Gauge, options), "h_llo");
        assert_eq!(
            metric_name("net.io", "By", Kind::Counter, options),
            "net_io_bytes_total"
        );
        assert_eq!(metric_name("queue.", "{item}", Kind::Gauge, options), "queue_");
        assert_eq!(metric_name("queue.", "s", Kind::Gauge, options), "queue_seconds");
        assert_eq!(sanitize("label:with.colon", false), "label_with_colon");
        assert_eq!(sanitize("", false), "_");
        assert_eq!(sanitize("__reserved", false), "_reserved");
    }

    #[test]
    fn labels_are_sanitized_escaped_and_merged() {
        let (exporter, provider) = setup();
        let gauge = provider
            .meter("prom.test.labels")
            .u64_gauge("prom.test.escaping")
            .build();
        gauge.record(
            1,
            &[
                KeyValue::new("path", "C:\\tmp\\\"quoted\"\nnext"),
                KeyValue::new("http.route", "/users/{id}"),
                KeyValue::new("http_route", "dup"),
                KeyValue::new("2xx", true),
                KeyValue::new("ratio", 0.25),
                KeyValue::new(
                    "tags",
                    Value::Array(Array::String(vec!["a\"b".into(), "c".into()])),
                ),
            ],
        );
        let text = exporter.render().unwrap();
        let line = text
            .lines()
            .find(|l| l.starts_with("prom_test_escaping{"))
            .unwrap();
        assert_eq!(
            line,
            "prom_test_escaping{_2xx=\"true\",http_route=\"/users/{id};dup\",\
             path=\"C:\\\\tmp\\\\\\\"quoted\\\"\\nnext\",ratio=\"0.25\",\
             tags=\"[\\\"a\\\\\\\"b\\\",\\\"c\\\"]\",otel_scope_name=\"prom.test.labels\"} 1"
        );
    }

    #[test]
    fn resource_becomes_target_info() {
        let (exporter, provider) = setup();
        provider
            .meter("prom.test.target")
            .u64_counter("t")
            .build()
            .add(1, &[]);
        let text = exporter.render().unwrap();
        assert_eq!(
            family(&text, "target_info"),
            vec![
                "# HELP target_info Target metadata",
                "# TYPE target_info gauge",
                "target_info{service_instance_id=\"pod-7\",service_name=\"checkout\"} 1",
            ]
        );
        // Resource attributes stay off the other series.
        assert!(text.contains("t_total{otel_scope_name=\"prom.test.target\"} 1\n"));

        let bare = PrometheusExporter::builder()
            .target_info(false)
            .scope_labels(false)
            .counter_suffixes(false)
            .build();
        let bare_provider = provider_with(&bare);
        bare_provider
            .meter("prom.test.bare")
            .u64_counter("t")
            .build()
            .add(4, &[]);
        let text = bare.render().unwrap();
        assert!(!text.contains("target_info"));
        assert!(text.contains("\nt 4\n"));
    }

    #[test]
    fn scope_attributes_become_otel_scope_info() {
        let (exporter, provider) = setup();
        let meter = provider.meter_with_scope(
            InstrumentationScope::builder("prom.test.scope")
                .with_attributes([KeyValue::new("library.mascot", "bear")])
                .build(),
        );
        meter.u64_counter("s").build().add(1, &[]);
        let text = exporter.render().unwrap();
        assert!(text.contains("# TYPE otel_scope_info gauge\n"));
        assert!(
            text.contains("otel_scope_info{otel_scope_name=\"prom.test.scope\",library_mascot=\"bear\"} 1\n")
        );
    }

    #[test]
    fn conflicting_types_keep_the_first_family() {
        let (exporter, provider) = setup();
        provider
            .meter("prom.test.a")
            .u64_gauge("clash_total")
            .build()
            .record(3, &[]);
        provider
            .meter("prom.test.b")
            .u64_counter("clash")
            .build()
            .add(1, &[]);
        let text = exporter.render().unwrap();
        assert_eq!(text.matches("# TYPE clash_total ").count(), 1);
        assert!(text.contains("# TYPE clash_total gauge\n"));
        assert!(!text.contains("clash_total{otel_scope_name=\"prom.test.b\"}"));
        assert!(text.contains("# otel: dropped instrument \"clash\""));
    }

    #[test]
    fn floats_use_prometheus_spelling() {
        let cases = [
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
            (1.0, "1"),
            (0.005, "0.005"),
            (-2.5, "-2.5"),
            (1e22, "1e22"),
            (1.5e-9, "1.5e-9"),
            (0.0, "0"),
        ];
        for (value, expected) in cases {
            let mut out = String::new();
            write_float(&mut out, value);
            assert_eq!(out, expected, "formatting {value}");
        }
    }

    #[test]
    fn unregistered_or_shut_down_reader_is_an_error() {
        let exporter = PrometheusExporter::new();
        let err = exporter.render().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Exporter);
        assert!(err.message().contains("with_reader"), "{err}");
        let response = exporter.response();
        assert_eq!(response.status(), 500);
        assert!(response.body().contains("with_reader"));

        let provider = provider_with(&exporter);
        assert!(exporter.render().is_ok());
        provider.shutdown().unwrap();
        assert!(exporter.render().is_err());
    }

    #[test]
    fn response_has_content_type_and_body() {
        let (exporter, provider) = setup();
        provider
            .meter("prom.test.response")
            .u64_counter("r")
            .build()
            .add(1, &[]);
        let response = exporter.response();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()[http::header::CONTENT_TYPE], CONTENT_TYPE);
        assert!(response
            .body()
            .contains("r_total{otel_scope_name=\"prom.test.response\"} 1\n"));
    }

    fn http_get(addr: SocketAddr, request: &str) -> String {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }

    #[test]
    fn listener_serves_metrics_and_404s() {
        let (exporter, provider) = setup();
        provider
            .meter("prom.test.listener")
            .u64_counter("scrapes")
            .build()
            .add(11, &[]);
        let server = exporter.serve(([127, 0, 0, 1], 0).into()).unwrap();
        let addr = server.local_addr();
        assert_ne!(addr.port(), 0);

        let response = http_get(addr, "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n");
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        let head_lower = head.to_ascii_lowercase();
        assert!(head_lower.contains(&format!("\r\ncontent-type: {CONTENT_TYPE}\r\n")));
        assert!(head_lower.contains("\r\nconnection: close"));
        assert!(head_lower.contains(&format!("\r\ncontent-length: {}", body.len())));
        assert!(body.contains("scrapes_total{otel_scope_name=\"prom.test.listener\"} 11\n"));

        let query = http_get(addr, "GET /metrics?x=1 HTTP/1.0\r\n\r\n");
        assert!(query.starts_with("HTTP/1.1 200 OK\r\n"));

        let head_only = http_get(addr, "HEAD /metrics HTTP/1.1\r\n\r\n");
        assert!(head_only.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(head_only.ends_with("\r\n\r\n"));

        let missing = http_get(addr, "GET /other HTTP/1.1\r\nHost: localhost\r\n\r\n");
        assert!(missing.starts_with("HTTP/1.1 404 Not Found\r\n"), "{missing}");

        let post = http_get(addr, "POST /metrics HTTP/1.1\r\n\r\n");
        assert!(post.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"));

        let garbage = http_get(addr, "hello\r\n\r\n");
        assert!(garbage.starts_with("HTTP/1.1 400 Bad Request\r\n"));

        let huge = format!("GET /metrics HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(10_000));
        let too_large = http_get(addr, &huge);
        assert!(too_large.starts_with("HTTP/1.1 431 "), "{too_large}");

        server.shutdown();
    }

    #[test]
    fn shutdown_and_drop_stop_the_listener_thread() {
        let exporter = PrometheusExporter::new();
        let server = exporter.serve(([127, 0, 0, 1], 0).into()).unwrap();
        let unregistered = http_get(server.local_addr(), "GET /metrics HTTP/1.1\r\n\r\n");
        assert!(unregistered.starts_with("HTTP/1.1 500 "), "{unregistered}");
        // The listener thread owns a clone of the exporter until it has exited.
        assert_eq!(Arc::strong_count(&exporter.reader), 2);
        drop(server);
        assert_eq!(Arc::strong_count(&exporter.reader), 1);

        let server = exporter.serve(([127, 0, 0, 1], 0).into()).unwrap();
        assert_eq!(Arc::strong_count(&exporter.reader), 2);
        server.shutdown();
        assert_eq!(Arc::strong_count(&exporter.reader), 1);
    }

    #[test]
    fn bind_error_names_the_address() {
        let exporter = PrometheusExporter::new();
        let server = exporter.serve(([127, 0, 0, 1], 0).into()).unwrap();
        let err = exporter.serve(server.local_addr()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io);
        assert!(err.message().contains(&server.local_addr().to_string()));
    }
}
