//! [`PrometheusExporter`]: collects from its reader and renders or answers a scrape.

use std::net::SocketAddr;
use std::sync::Arc;

use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::ManualReader;

use super::builder::Options;
use super::encode::encode;
use super::{PrometheusExporterBuilder, PrometheusServer, CONTENT_TYPE};
use crate::{Error, ErrorKind, Result};

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
    pub(super) reader: Arc<ManualReader>,
    pub(super) options: Options,
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
        crate::export::SharedReader::new(Arc::clone(&self.reader))
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
        PrometheusServer::start(addr, self.clone())
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
pub type PrometheusReader = crate::export::SharedReader;

#[cfg(test)]
mod tests {
    use opentelemetry::metrics::MeterProvider as _;

    use super::super::test_support::{provider_with, setup};
    use super::super::CONTENT_TYPE;
    use super::PrometheusExporter;
    use crate::ErrorKind;

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
}
