//! A tracer provider the user installs in `opentelemetry::global` after
//! `otel_core::init()` has its own sampler, which the layers cannot know: their spans are
//! then decided by the SDK, with the attributes at hand, not by the sampler `init()`
//! installed (here `always_off`, which would drop every span). Its own process, since
//! both install process-wide providers.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Empty;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use otel_core::config::SamplerConfig;
use otel_core::opentelemetry::global;
use otel_core::opentelemetry::trace::SpanKind;
use otel_core::testing::SpanRecorder;
use otel_tower::HttpServerLayer;
use tower::{Layer, ServiceExt};

#[tokio::test]
async fn a_users_own_global_provider_decides_with_its_own_sampler() {
    let _telemetry = otel_core::Telemetry::builder()
        .env(|_| None)
        .sampler(SamplerConfig::AlwaysOff)
        .traces_exporters([])
        .metrics_exporters([])
        .logs_exporters([])
        .quiet(true)
        .init()
        .expect("a pipeline without exporters starts");
    let spans = SpanRecorder::default();
    let own = SdkTracerProvider::builder()
        .with_sampler(Sampler::AlwaysOn)
        .with_span_processor(spans.processor())
        .build();
    global::set_tracer_provider(own.clone());

    let server = HttpServerLayer::new()
        .route(|_| Some("/own".into()))
        .layer(tower::service_fn(|_req: http::Request<Empty<Bytes>>| async {
            Ok::<_, Infallible>(http::Response::new(Empty::<Bytes>::new()))
        }));
    let request = http::Request::get("http://api.test/own")
        .body(Empty::new())
        .expect("request");
    drop(server.oneshot(request).await.expect("response"));

    let recorded = spans.spans();
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0].name, "GET /own");
    assert_eq!(recorded[0].span_kind, SpanKind::Server);
    let _ = own.shutdown();
}
