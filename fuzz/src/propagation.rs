//! Targets for the W3C parsers and the header round trip of the default propagator.

use std::sync::Once;

use http::HeaderMap;
use opentelemetry::baggage::BaggageExt;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanId, TraceContextExt, TraceId};
use opentelemetry::{global, Context};
use otel_core::propagation::{
    extract, inject_context, BaggagePropagator, HeaderExtractor, HeaderInjector, Propagator, Traceparent,
    Tracestate, FLAG_RANDOM, MAX_BAGGAGE_BYTES, MAX_BAGGAGE_MEMBERS, MAX_TRACESTATE_MEMBERS,
};

use crate::input::{fields_named, header_map, lines};

pub(crate) const TRACEPARENT_TOKENS: &[&[u8]] = &[
    b"00-",
    b"-01",
    b"-03",
    b"ff-",
    b"cc-",
    b"0af7651916cd43dd8448eb211c80319c",
    b"00000000000000000000000000000000",
    b"b7ad6b7169203331",
    b"0000000000000000",
    b"-extra",
    b" ",
];

pub(crate) const TRACESTATE_TOKENS: &[&[u8]] = &[
    b"rojo=00f067aa0ba902b7",
    b"congo=t61rcWkgMzE",
    b"t@vvvvvvvvvvvvvv=1",
    b"a=1,",
    b",,",
    b" \t",
    b"=",
    b"@",
    b"*",
    b"/",
];

pub(crate) const BAGGAGE_TOKENS: &[&[u8]] = &[
    b"user.id=42",
    b";pii",
    b";ttl=5",
    b"%C3%A3",
    b"%20",
    b"%",
    b"%zz",
    b",",
    b"=",
    b" \t",
    b"k",
];

pub(crate) const HEADER_TOKENS: &[&[u8]] = &[
    b"\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    b"\ntracestate: rojo=00f067aa0ba902b7",
    b"\nbaggage: user.id=42;pii",
    b"\nTraceparent: ",
    b"\nbaggage: ",
    b"\ntracestate: ",
    b"-03",
    b"%20",
    b",",
];

/// The propagator `init()` installs by default (W3C trace context and baggage), made
/// global once so `extract` and `inject_context` use it.
pub(crate) fn install_propagator() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| global::set_text_map_propagator(Propagator::default()));
}

/// `Traceparent::parse`: what parses formats back (as version `00`) to a value that
/// parses to the same trace, parent and flags; ids are never zero; only defined flag
/// bits survive.
pub(crate) fn traceparent(data: &[u8]) {
    let Ok(tp) = Traceparent::parse(data) else {
        return;
    };
    assert_ne!(tp.trace_id, TraceId::INVALID, "zero trace id accepted");
    assert_ne!(tp.parent_id, SpanId::INVALID, "zero parent id accepted");
    assert_eq!(
        tp.trace_flags.to_u8() & !(0x01 | FLAG_RANDOM),
        0,
        "undefined flag bits kept"
    );
    let text = tp.to_string();
    assert_eq!(text.len(), 55, "formatted {text:?}");
    let again =
        Traceparent::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{text:?} does not parse: {e}"));
    assert_eq!(
        again,
        Traceparent { version: 0, ..tp },
        "round trip through {text:?}"
    );
}

/// `Tracestate::parse` over one field a line: at most 32 members, keys unique, the
/// joined header parses to the same list, and the SDK's `TraceState` holds a subset.
pub(crate) fn tracestate(data: &[u8]) {
    let Ok(ts) = Tracestate::parse(lines(data)) else {
        return;
    };
    let members: Vec<(&str, &str)> = ts.members().collect();
    assert!(
        members.len() <= MAX_TRACESTATE_MEMBERS,
        "{} members",
        members.len()
    );
    for (i, (key, _)) in members.iter().enumerate() {
        assert!(
            !members[..i].iter().any(|(k, _)| k == key),
            "key {key:?} repeated in {:?}",
            ts.header()
        );
    }
    let again = Tracestate::parse([ts.header().as_bytes()])
        .unwrap_or_else(|e| panic!("{:?} does not parse again: {e}", ts.header()));
    assert_eq!(again, ts, "round trip");
    let sdk = ts.to_trace_state();
    for member in sdk.header().split(',').filter(|m| !m.is_empty()) {
        let (key, value) = member.split_once('=').unwrap_or((member, ""));
        assert!(
            members.contains(&(key, value)),
            "TraceState member {member:?} not in {:?}",
            ts.header()
        );
    }
}

/// Baggage over one `baggage` field a line: what is injected stays within the W3C
/// limits, carries every member the context holds, and extracting and injecting it
/// again yields the same members (compared decoded, since the order of `Baggage` and
/// the spelling of percent escapes may change).
pub(crate) fn baggage(data: &[u8]) {
    let propagator = BaggagePropagator::new();
    let incoming = fields_named("baggage", lines(data));
    let cx = propagator.extract(&HeaderExtractor::new(&incoming));
    let first = inject_baggage(&propagator, &cx);
    let text = first.as_deref().unwrap_or_default();
    assert!(text.len() <= MAX_BAGGAGE_BYTES, "{} bytes injected", text.len());
    let members = decoded_members(&propagator, text);
    assert!(
        members.len() <= MAX_BAGGAGE_MEMBERS,
        "{} members injected",
        members.len()
    );
    for (key, (value, metadata)) in cx.baggage() {
        let entry = (
            key.as_str().to_owned(),
            value.as_str().to_owned(),
            metadata.as_str().to_owned(),
        );
        assert!(
            members.contains(&entry),
            "{entry:?} extracted but not injected in {text:?}"
        );
    }
    let mut outgoing = HeaderMap::new();
    if let Some(first) = &first {
        outgoing.insert(
            "baggage",
            first
                .parse()
                .unwrap_or_else(|e| panic!("injected {first:?}: {e}")),
        );
    }
    let cx2 = propagator.extract(&HeaderExtractor::new(&outgoing));
    let second = inject_baggage(&propagator, &cx2);
    assert_eq!(
        members,
        decoded_members(&propagator, second.as_deref().unwrap_or_default()),
        "a second round trip changed the baggage: {first:?} then {second:?}"
    );
}

fn inject_baggage(propagator: &BaggagePropagator, cx: &Context) -> Option<String> {
    let mut headers = HeaderMap::new();
    propagator.inject_context(cx, &mut HeaderInjector(&mut headers));
    headers.get("baggage").map(|v| {
        v.to_str()
            .unwrap_or_else(|e| panic!("injected baggage is not visible ASCII: {v:?}: {e}"))
            .to_owned()
    })
}

/// Each member of a `baggage` value as its own one-member header, decoded by the
/// propagator itself: (key, value, metadata), sorted.
fn decoded_members(propagator: &BaggagePropagator, value: &str) -> Vec<(String, String, String)> {
    let mut members: Vec<_> = value
        .split(',')
        .filter(|m| !m.trim().is_empty())
        .flat_map(|member| {
            let mut one = HeaderMap::new();
            let Ok(v) = member.parse() else {
                panic!("member {member:?} is not a header value");
            };
            one.insert("baggage", v);
            let cx = propagator.extract(&HeaderExtractor::new(&one));
            let entries: Vec<_> = cx
                .baggage()
                .iter()
                .map(|(k, (v, m))| {
                    (
                        k.as_str().to_owned(),
                        v.as_str().to_owned(),
                        m.as_str().to_owned(),
                    )
                })
                .collect();
            assert_eq!(entries.len(), 1, "injected member {member:?} does not extract");
            entries
        })
        .collect();
    members.sort();
    members
}

/// The default propagator over arbitrary header fields (`name: value` a line):
/// `inject(extract(headers))` extracts to the same trace id, span id, flags and
/// trace state, the outgoing `tracestate` is one valid list, and a second round trip
/// sends the same trace-context headers.
pub(crate) fn propagator(data: &[u8]) {
    install_propagator();
    let incoming = header_map(lines(data));
    let cx = extract(&incoming);
    let mut first = HeaderMap::new();
    inject_context(&cx, &mut first);
    let cx2 = extract(&first);
    let (a, b) = (
        cx.span().span_context().clone(),
        cx2.span().span_context().clone(),
    );
    assert_eq!(a.is_valid(), b.is_valid(), "validity changed: {first:?}");
    if a.is_valid() {
        assert_eq!(a.trace_id(), b.trace_id(), "trace id changed: {first:?}");
        assert_eq!(a.span_id(), b.span_id(), "span id changed: {first:?}");
        assert_eq!(a.trace_flags(), b.trace_flags(), "flags changed: {first:?}");
        assert_eq!(
            a.trace_state().header(),
            b.trace_state().header(),
            "trace state changed: {first:?}"
        );
        assert!(a.is_remote() && b.is_remote());
    } else {
        assert!(
            first.get("traceparent").is_none(),
            "traceparent sent without a parent: {first:?}"
        );
    }
    assert!(first.get_all("traceparent").iter().count() <= 1);
    assert!(first.get_all("tracestate").iter().count() <= 1);
    if let Some(ts) = first.get("tracestate") {
        let parsed =
            Tracestate::parse([ts.as_bytes()]).unwrap_or_else(|e| panic!("sent tracestate {ts:?}: {e}"));
        assert_eq!(
            parsed.header().as_bytes(),
            ts.as_bytes(),
            "sent tracestate is not canonical"
        );
    }
    let mut second = HeaderMap::new();
    inject_context(&cx2, &mut second);
    for name in ["traceparent", "tracestate"] {
        assert_eq!(
            first.get(name),
            second.get(name),
            "{name} changed on the second round trip"
        );
    }
    let propagator = BaggagePropagator::new();
    let baggage = |h: &HeaderMap| {
        decoded_members(
            &propagator,
            h.get("baggage").and_then(|v| v.to_str().ok()).unwrap_or_default(),
        )
    };
    assert_eq!(
        baggage(&first),
        baggage(&second),
        "baggage changed on the second round trip"
    );
}
