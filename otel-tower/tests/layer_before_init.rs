//! A layer built before any provider is installed (for example a router assembled
//! before `otel_core::init()` runs) still records into the providers installed later:
//! the layer takes them from `opentelemetry::global` at its first request. Its own
//! process, so nothing is installed before the layer is built.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use otel_core::opentelemetry::trace::SpanKind;
use otel_core::testing::{self, PointValue, SpanDataExt};
use otel_tower::HttpServerLayer;
use tower::{Layer, ServiceExt};

#[tokio::test]
async fn a_layer_built_before_the_providers_uses_them_at_its_first_request() {
    let layer = HttpServerLayer::new().route(|_| Some("/early".into()));

    let cap = testing::capture();
    let service = layer.layer(tower::service_fn(|_req: http::Request<Full<Bytes>>| async {
        Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from_static(b"late"))))
    }));
    let request = http::Request::get("http://example.test/early?x=1")
        .body(Full::new(Bytes::new()))
        .expect("request");
    let response = service.oneshot(request).await.expect("response");
    let body = response.into_body().collect().await.expect("body").to_bytes();
    assert_eq!(&body[..], b"late");

    let span = cap.span("GET /early");
    assert_eq!(span.span_kind, SpanKind::Server);
    assert_eq!(span.attr_str("http.route").as_deref(), Some("/early"));
    assert_eq!(span.parent_span_id, cap.root_span_id());

    let points = testing::metric_points("http.server.request.duration");
    let point = points
        .iter()
        .find(|p| p.attr("http.route").map(|v| v.to_string()).as_deref() == Some("/early"))
        .expect("a duration point for the route");
    assert!(
        matches!(point.value, PointValue::Histogram { count: 1, .. }),
        "{point:?}"
    );
}
