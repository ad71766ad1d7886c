//! OTLP/HTTP with JSON bodies (`OTEL_EXPORTER_OTLP_PROTOCOL=http/json`): spans, metrics
//! and logs arrive at a real collector.
//!
//! rotel decodes the JSON of spans and logs fully, and of metrics the names, types and
//! attributes, but not the values ProtoJSON writes as strings (64-bit integers such as
//! `"asInt": "5"` and histogram counts), which the OTLP specification requires receivers
//! to accept. So the metric values are checked in the request bodies themselves, taken
//! on their way to the collector, with the headers.

use otel_core::config::Protocol;
use otel_tests::roundtrip::{self, COUNTER, HISTOGRAM};
use otel_tests::tap::Tap;
use otel_tests::{Collector, RECEIVE_TIMEOUT};
use serde_json::Value;

#[test]
fn spans_metrics_and_logs_arrive_over_http_json() {
    let collector = Collector::start();
    let tap = Tap::start(collector.http_addr());
    // A header whose decoded value still holds `%50`: sent as is, not decoded twice.
    let sent = roundtrip::send(Protocol::HttpJson, &tap.endpoint(), |builder| {
        builder.env(|name| (name == "OTEL_EXPORTER_OTLP_HEADERS").then(|| "x-tenant=a%2Cb%2550".to_owned()))
    });
    roundtrip::check_spans(&collector, &sent);
    roundtrip::check_logs(&collector, &sent);

    // What rotel decodes of the metrics: the counter's two series with their attributes,
    // and the histogram's name (it prints the histogram as `DataType: Empty`).
    let service = sent.service.as_str();
    let points = collector.wait_for_data_points("the counter's series", RECEIVE_TIMEOUT, |points| {
        points
            .iter()
            .filter(|p| p.service_name() == Some(service) && p.metric == COUNTER)
            .count()
            == 2
    });
    let mut routes: Vec<&str> = points
        .iter()
        .filter(|p| p.service_name() == Some(service) && p.metric == COUNTER)
        .filter_map(|p| p.attr("http.route"))
        .collect();
    routes.sort();
    assert_eq!(routes, ["Str(/orders/{id})", "Str(/refunds)"]);
    // The counter's points can be parsed before rotel has printed the rest of the batch.
    collector.wait_for_text(&format!("-> Name: {HISTOGRAM}"), RECEIVE_TIMEOUT);

    for path in ["/v1/traces", "/v1/metrics", "/v1/logs"] {
        let requests = tap.requests(path);
        assert!(!requests.is_empty(), "a request to {path}");
        for request in &requests {
            assert_eq!(request.header("content-type"), Some("application/json"), "{path}");
            assert_eq!(
                request.header("x-tenant"),
                Some("a,b%50"),
                "{path}: percent-decoded once"
            );
        }
    }
    let metrics: Vec<Value> = tap
        .requests("/v1/metrics")
        .iter()
        .map(|r| serde_json::from_slice(&r.body).expect("the body is JSON"))
        .collect();
    let metric = |name: &str| -> Value {
        metrics
            .iter()
            .flat_map(|body| body["resourceMetrics"].as_array().cloned().unwrap_or_default())
            .flat_map(|rm| rm["scopeMetrics"].as_array().cloned().unwrap_or_default())
            .flat_map(|sm| sm["metrics"].as_array().cloned().unwrap_or_default())
            .find(|m| m["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {metrics:#?}"))
    };

    let counter = metric(COUNTER);
    assert_eq!(counter["sum"]["isMonotonic"], true, "{counter:#}");
    assert_eq!(
        counter["sum"]["aggregationTemporality"], 2,
        "cumulative: {counter:#}"
    );
    let mut values: Vec<(String, String)> = counter["sum"]["dataPoints"]
        .as_array()
        .expect("data points")
        .iter()
        .map(|p| {
            (
                p["attributes"][0]["value"]["stringValue"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                p["asInt"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    values.sort();
    assert_eq!(
        values,
        [
            ("/orders/{id}".to_owned(), "5".to_owned()),
            ("/refunds".to_owned(), "7".to_owned())
        ]
    );

    let histogram = metric(HISTOGRAM);
    let point = &histogram["histogram"]["dataPoints"][0];
    assert_eq!(point["count"], "3", "{histogram:#}");
    assert_eq!(point["sum"], 2.0);
    assert_eq!(point["min"], 0.25);
    assert_eq!(point["max"], 1.25);
    assert_eq!(point["explicitBounds"], serde_json::json!([0.1, 0.5, 1.0, 2.5]));
    assert_eq!(
        point["bucketCounts"],
        serde_json::json!(["0", "2", "0", "1", "0"])
    );
}
