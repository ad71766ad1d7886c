//! Runs the quickstart's program in-process and checks what it recorded: one trace per
//! request across client, server, handler functions and repository, the failing order
//! marked as an error, and the metrics of every layer and attribute.

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry_sdk::trace::SpanData;
use otel_core::testing::{self, metric_points, SpanDataExt};

fn only<'a>(spans: &'a [SpanData], name: &str, kind: SpanKind, url_end: Option<&str>) -> Vec<&'a SpanData> {
    spans
        .iter()
        .filter(|s| s.name == name && s.span_kind == kind)
        .filter(|s| url_end.is_none_or(|end| s.attr_str("url.full").is_some_and(|u| u.ends_with(end))))
        .collect()
}

fn child<'a>(spans: &'a [SpanData], parent: &SpanData, name: &str) -> &'a SpanData {
    spans
        .iter()
        .find(|s| s.name == name && s.parent_span_id == parent.span_context.span_id())
        .unwrap_or_else(|| panic!("no {name} under {}", parent.name))
}

#[tokio::test]
async fn the_quickstart_traces_every_hop_and_measures_every_layer() {
    let cap = testing::capture();
    let statuses = otel_examples::quickstart::run()
        .await
        .expect("the quickstart runs");
    let codes: Vec<u16> = statuses.iter().map(|(_, status)| *status).collect();
    assert_eq!(codes, [200, 201, 409]);

    // Client spans end with their response; the server's may end a moment later.
    let spans = cap.wait_for_spans(14, std::time::Duration::from_secs(5));

    // The order that failed: client → server → place_order → repository.
    let client = only(&spans, "POST /orders/{id}", SpanKind::Client, Some("/orders/2"))[0];
    assert_eq!(
        client.parent_span_id,
        cap.root_span_id(),
        "the client span is the caller's child"
    );
    assert_eq!(
        client.attr_str("http.response.status_code").as_deref(),
        Some("409")
    );
    assert!(
        matches!(client.status, Status::Error { .. }),
        "a 4xx is a client error"
    );
    let server = child(&spans, client, "POST /orders/{id}");
    assert_eq!(server.span_kind, SpanKind::Server);
    assert_eq!(server.attr_str("http.route").as_deref(), Some("/orders/{id}"));
    assert_eq!(server.status, Status::Unset, "a 4xx is not a server error");
    let order = child(&spans, server, "place_order");
    assert_eq!(order.status, Status::error("out of stock"));
    assert_eq!(order.attr_str("error.type").as_deref(), Some("ShopError"));
    assert_eq!(order.attr_str("book_id").as_deref(), Some("2"));
    let find = child(&spans, order, "BookRepo::find");
    assert_eq!(find.attr_str("db.system.name").as_deref(), Some("sqlite"));
    assert!(find
        .attr_str("db.query.text")
        .is_some_and(|q| q.starts_with("SELECT")));
    child(&spans, order, "BookRepo::take_one");

    // The order that went through also charged the card.
    let client = only(&spans, "POST /orders/{id}", SpanKind::Client, Some("/orders/1"))[0];
    let order = child(&spans, child(&spans, client, "POST /orders/{id}"), "place_order");
    assert_eq!(order.status, Status::Unset);
    assert_eq!(
        child(&spans, order, "charge").attr_str("cents").as_deref(),
        Some("3999")
    );

    // The lookup: client → server → repository, no handler function in between.
    let client = only(&spans, "GET /books/{id}", SpanKind::Client, None)[0];
    child(&spans, child(&spans, client, "GET /books/{id}"), "BookRepo::find");

    // Metrics from the layers and the attributes.
    let failed_orders = metric_points("function.calls").into_iter().find(|p| {
        p.attr("code.function.name")
            .is_some_and(|f| f.as_str().ends_with("quickstart::place_order"))
            && p.attr("result").is_some_and(|r| r.as_str() == "error")
    });
    assert!(failed_orders.is_some(), "place_order's failure is counted");
    let conflicts = metric_points("http.server.request.duration")
        .into_iter()
        .any(|p| {
            p.attr("http.route").is_some_and(|r| r.as_str() == "/orders/{id}")
                && p.attr("http.response.status_code")
                    .is_some_and(|s| s.to_string() == "409")
        });
    assert!(conflicts, "the server measured the 409");
    assert!(!metric_points("http.client.request.duration").is_empty());
}
