//! The minimal hand-written raw-OpenTelemetry HTTP server layer every peer is compared
//! with (shared/research/perf-baseline.md, case B5): extract the parent, one SERVER span
//! with 5 attributes, one histogram measurement with 3 attributes, ended when the
//! response future resolves (not at the body's end, which is what makes it minimal).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context as TaskContext, Poll};
use std::time::Instant;

use axum::extract::MatchedPath;
use opentelemetry::global::{self, BoxedTracer};
use opentelemetry::metrics::Histogram;
use opentelemetry::propagation::Extractor;
use opentelemetry::trace::{SpanKind, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};

/// Reads propagation headers.
struct Headers<'a>(&'a http::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// The layer: global tracer and meter, fetched once.
#[derive(Clone)]
pub struct RawLayer {
    tracer: Arc<BoxedTracer>,
    duration: Histogram<f64>,
}

impl RawLayer {
    /// Uses the global tracer and meter providers as they are now.
    pub fn new() -> Self {
        Self {
            tracer: Arc::new(global::tracer("raw")),
            duration: global::meter("raw")
                .f64_histogram("http.server.request.duration")
                .with_unit("s")
                .build(),
        }
    }
}

impl<S> tower::Layer<S> for RawLayer {
    type Service = RawService<S>;
    fn layer(&self, inner: S) -> RawService<S> {
        RawService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service of [`RawLayer`].
#[derive(Clone)]
pub struct RawService<S> {
    inner: S,
    layer: RawLayer,
}

impl<S, B> tower::Service<http::Request<B>> for RawService<S>
where
    S: tower::Service<http::Request<B>, Response = axum::response::Response>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = RawFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let parent = global::get_text_map_propagator(|p| p.extract(&Headers(req.headers())));
        let route = req
            .extensions()
            .get::<MatchedPath>()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default();
        let method = req.method().as_str().to_owned();
        let span = self
            .layer
            .tracer
            .span_builder(format!("{method} {route}"))
            .with_kind(SpanKind::Server)
            .with_attributes([
                KeyValue::new("http.request.method", method.clone()),
                KeyValue::new("url.path", req.uri().path().to_owned()),
                KeyValue::new("url.scheme", "http"),
                KeyValue::new("http.route", route.clone()),
                KeyValue::new("network.protocol.version", "1.1"),
            ])
            .start_with_context(&*self.layer.tracer, &parent);
        let cx = parent.with_span(span);
        let inner = {
            let _guard = cx.clone().attach();
            self.inner.call(req)
        };
        RawFuture {
            inner,
            cx,
            start: Instant::now(),
            duration: self.layer.duration.clone(),
            method,
            route,
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`RawService`].
    pub struct RawFuture<F> {
        #[pin]
        inner: F,
        cx: Context,
        start: Instant,
        duration: Histogram<f64>,
        method: String,
        route: String,
    }
}

impl<F, E> Future for RawFuture<F>
where
    F: Future<Output = Result<axum::response::Response, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let out = {
            let _guard = this.cx.clone().attach();
            ready!(this.inner.poll(task))
        };
        let status = out.as_ref().map_or(500, |r| r.status().as_u16());
        let span = this.cx.span();
        span.set_attribute(KeyValue::new("http.response.status_code", i64::from(status)));
        span.end();
        this.duration.record(
            this.start.elapsed().as_secs_f64(),
            &[
                KeyValue::new("http.request.method", this.method.clone()),
                KeyValue::new("http.route", this.route.clone()),
                KeyValue::new("http.response.status_code", i64::from(status)),
            ],
        );
        Poll::Ready(out)
    }
}

impl Default for RawLayer {
    fn default() -> Self {
        Self::new()
    }
}
