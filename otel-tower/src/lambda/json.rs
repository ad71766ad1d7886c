//! `serde_json::Value` payloads: the AWS event shapes recognised by their fields.
//!
//! Only the fields that tell the shapes apart are read, and nothing fails: a payload
//! that matches no shape is trigger `other` with no parent.

use http::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value};

use super::event::{EventInfo, InvocationEvent, Trigger};

/// The AWS event shapes, by the fields that identify them:
///
/// | payload | trigger | read |
/// |---|---|---|
/// | API Gateway REST API (`httpMethod`, `resource`, `requestContext`) | `http` | `multiValueHeaders` (else `headers`), method, `resource` as `http.route`, `path` |
/// | API Gateway HTTP API, function URL (`requestContext.http`) | `http` | `headers`, method, `routeKey` as `http.route` (not `$default`), `rawPath` |
/// | Application Load Balancer (`requestContext.elb`) | `http` | `multiValueHeaders` (else `headers`), method, `path` |
/// | `Records[0].eventSource` `aws:sqs`, `aws:kinesis`; `EventSource` `aws:sns`; `eventSource` `aws:kafka`, `SelfManagedKafka` | `pubsub` | |
/// | `Records[0].eventSource` `aws:s3`, `aws:dynamodb` | `datasource` | |
/// | `source` `aws.events` or `aws.scheduler` with `detail-type` `Scheduled Event` | `timer` | |
/// | anything else | `other` | |
///
/// ```
/// use otel_tower::lambda::{InvocationEvent, Trigger};
///
/// let event = serde_json::json!({
///     "resource": "/pets/{petId}",
///     "path": "/pets/10",
///     "httpMethod": "GET",
///     "headers": {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
///     "requestContext": {"stage": "prod"}
/// });
/// assert_eq!(event.event_info().trigger(), Trigger::Http);
/// ```
impl InvocationEvent for Value {
    fn event_info(&self) -> EventInfo {
        let Some(event) = self.as_object() else {
            return EventInfo::default();
        };
        http_event(event).unwrap_or_else(|| EventInfo::new(trigger(event)))
    }
}

/// API Gateway (both APIs), ALB and function URL events.
fn http_event(event: &Map<String, Value>) -> Option<EventInfo> {
    let context = event.get("requestContext")?.as_object()?;
    let text = |map: &Map<String, Value>, key: &str| map.get(key).and_then(Value::as_str).map(str::to_owned);
    let info = if let Some(http) = context.get("http").and_then(Value::as_object) {
        // HTTP API (payload format 2.0) and function URLs.
        let mut info = EventInfo::new(Trigger::Http).with_headers(&headers(event));
        info.http.method = text(http, "method");
        info.http.path = text(event, "rawPath").or_else(|| text(http, "path"));
        info.http.route = event
            .get("routeKey")
            .and_then(Value::as_str)
            .and_then(route_of_route_key)
            .map(str::to_owned);
        info
    } else if context.contains_key("elb") || event.contains_key("httpMethod") {
        // REST API (payload format 1.0) and ALB. The ALB has no route template.
        let mut info = EventInfo::new(Trigger::Http).with_headers(&headers(event));
        info.http.method = text(event, "httpMethod");
        info.http.path = text(event, "path");
        if !context.contains_key("elb") {
            info.http.route = text(event, "resource");
        }
        info
    } else {
        return None;
    };
    Some(info)
}

/// `GET /pets/{petId}` → `/pets/{petId}`; `$default` (the catch-all) has no template.
fn route_of_route_key(route_key: &str) -> Option<&str> {
    let route = route_key.split_once(' ').map_or(route_key, |(_, route)| route);
    route.starts_with('/').then_some(route)
}

/// The event's HTTP headers as a `HeaderMap`, so extraction goes through the one
/// propagator with its rules for repeated fields. `multiValueHeaders` keeps repeated
/// fields apart and wins when present; names and values that are not valid HTTP are
/// skipped.
fn headers(event: &Map<String, Value>) -> HeaderMap {
    let mut map = HeaderMap::new();
    if let Some(multi) = event.get("multiValueHeaders").and_then(Value::as_object) {
        for (name, values) in multi {
            for value in values.as_array().into_iter().flatten() {
                append(&mut map, name, value);
            }
        }
    } else if let Some(single) = event.get("headers").and_then(Value::as_object) {
        for (name, value) in single {
            append(&mut map, name, value);
        }
    }
    map
}

fn append(map: &mut HeaderMap, name: &str, value: &Value) {
    let Some(value) = value.as_str() else {
        return;
    };
    if let (Ok(name), Ok(value)) = (
        HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_str(value),
    ) {
        map.append(name, value);
    }
}

/// The trigger of a non-HTTP event.
fn trigger(event: &Map<String, Value>) -> Trigger {
    let record = event
        .get("Records")
        .and_then(Value::as_array)
        .and_then(|records| records.first())
        .and_then(Value::as_object);
    let source = record
        .and_then(|r| r.get("eventSource").or_else(|| r.get("EventSource")))
        .or_else(|| event.get("eventSource"))
        .and_then(Value::as_str);
    match source {
        Some("aws:sqs" | "aws:sns" | "aws:kinesis" | "aws:kafka" | "SelfManagedKafka") => {
            return Trigger::PubSub
        }
        Some("aws:s3" | "aws:dynamodb") => return Trigger::Datasource,
        _ => {}
    }
    let scheduled = matches!(
        event.get("source").and_then(Value::as_str),
        Some("aws.events" | "aws.scheduler")
    ) && event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event");
    if scheduled {
        Trigger::Timer
    } else {
        Trigger::Other
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn rest_api_events_are_http_with_the_resource_as_route() {
        let info = json!({
            "resource": "/pets/{petId}",
            "path": "/pets/10",
            "httpMethod": "GET",
            "headers": {"User-Agent": "curl/8", "X-Forwarded-Proto": "https"},
            "multiValueHeaders": {"User-Agent": ["curl/8"], "X-Forwarded-Proto": ["https"]},
            "requestContext": {"stage": "prod", "requestId": "r"}
        })
        .event_info();
        assert_eq!(info.trigger, Trigger::Http);
        assert_eq!(info.http.method.as_deref(), Some("GET"));
        assert_eq!(info.http.route.as_deref(), Some("/pets/{petId}"));
        assert_eq!(info.http.path.as_deref(), Some("/pets/10"));
        assert_eq!(info.http.scheme.as_deref(), Some("https"));
        assert_eq!(info.http.user_agent.as_deref(), Some("curl/8"));
    }

    #[test]
    fn http_api_events_take_the_route_key_without_its_method() {
        let info = json!({
            "version": "2.0",
            "routeKey": "POST /orders/{id}",
            "rawPath": "/orders/42",
            "headers": {"user-agent": "k6"},
            "requestContext": {"http": {"method": "POST", "path": "/orders/42"}}
        })
        .event_info();
        assert_eq!(info.trigger, Trigger::Http);
        assert_eq!(info.http.method.as_deref(), Some("POST"));
        assert_eq!(info.http.route.as_deref(), Some("/orders/{id}"));
        assert_eq!(info.http.path.as_deref(), Some("/orders/42"));

        let catch_all = json!({
            "routeKey": "$default",
            "requestContext": {"http": {"method": "GET"}}
        })
        .event_info();
        assert_eq!(catch_all.http.route, None);
    }

    #[test]
    fn alb_events_have_no_route() {
        let info = json!({
            "httpMethod": "GET",
            "path": "/health",
            "headers": {},
            "requestContext": {"elb": {"targetGroupArn": "arn"}}
        })
        .event_info();
        assert_eq!(info.trigger, Trigger::Http);
        assert_eq!(info.http.route, None);
        assert_eq!(info.http.path.as_deref(), Some("/health"));
    }

    #[test]
    fn repeated_header_fields_reach_the_propagator_separately() {
        let map = headers(
            json!({"multiValueHeaders": {"tracestate": ["a=1", "b=2"], "bad name": ["x"], "n": [3]}})
                .as_object()
                .expect("object"),
        );
        let values: Vec<_> = map.get_all("tracestate").iter().collect();
        assert_eq!(values, ["a=1", "b=2"]);
        assert_eq!(map.len(), 2, "invalid names and non-string values are skipped");
    }

    #[test]
    fn other_event_sources_set_the_trigger() {
        let cases = [
            (json!({"Records": [{"eventSource": "aws:sqs"}]}), Trigger::PubSub),
            (json!({"Records": [{"EventSource": "aws:sns"}]}), Trigger::PubSub),
            (
                json!({"Records": [{"eventSource": "aws:kinesis"}]}),
                Trigger::PubSub,
            ),
            (
                json!({"eventSource": "aws:kafka", "records": {}}),
                Trigger::PubSub,
            ),
            (
                json!({"Records": [{"eventSource": "aws:s3"}]}),
                Trigger::Datasource,
            ),
            (
                json!({"Records": [{"eventSource": "aws:dynamodb"}]}),
                Trigger::Datasource,
            ),
            (
                json!({"source": "aws.events", "detail-type": "Scheduled Event"}),
                Trigger::Timer,
            ),
            (
                json!({"source": "aws.events", "detail-type": "Object Created"}),
                Trigger::Other,
            ),
            (json!({"order": 1}), Trigger::Other),
            (json!([1, 2]), Trigger::Other),
            (json!("text"), Trigger::Other),
        ];
        for (event, trigger) in cases {
            let info = event.event_info();
            assert_eq!(info.trigger, trigger, "{event}");
            assert!(info.parent.is_none(), "{event}");
        }
    }
}
