//! The W3C Trace Context propagator: `traceparent` and `tracestate`, Level 2.

use std::sync::{Arc, OnceLock};

use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::Context;

use super::traceparent::{Traceparent, FLAG_RANDOM};
use super::tracestate::Tracestate;

/// The `traceparent` header name.
pub const TRACEPARENT: &str = "traceparent";
/// The `tracestate` header name.
pub const TRACESTATE: &str = "tracestate";

/// What extraction learned about a remote trace that the SDK's `SpanContext` cannot
/// carry. It stays in every context derived from the extracted one, so a child span's
/// outgoing request forwards it.
#[derive(Debug, Clone)]
pub(crate) struct RemoteTrace {
    trace_id: TraceId,
    /// The Level 2 `random` flag as received: a trace id that came without it must never
    /// gain it here, and one that came with it keeps it on unsampled spans too (the SDK
    /// resets the flags of a span it drops).
    random: bool,
    /// The validated `tracestate` list when `opentelemetry`'s `TraceState` could not
    /// hold all of it, with the `TraceState` handed to the SDK: forwarded while the
    /// span's state is still that one.
    exact_tracestate: Option<(TraceState, Arc<str>)>,
}

impl RemoteTrace {
    /// Marks `cx`'s remote span context, if any, as received from elsewhere.
    pub(crate) fn mark_received(cx: Context) -> Context {
        let (trace_id, random) = {
            let span = cx.span();
            let sc = span.span_context();
            if !sc.is_valid() || !sc.is_remote() {
                return cx;
            }
            if cx.get::<Self>().is_some_and(|r| r.trace_id == sc.trace_id()) {
                return cx;
            }
            (sc.trace_id(), sc.trace_flags().to_u8() & FLAG_RANDOM != 0)
        };
        cx.with_value(Self {
            trace_id,
            random,
            exact_tracestate: None,
        })
    }
}

/// The `traceparent` this process sends for `cx`'s span: version `00`, the `sampled`
/// flag, and the `random` flag when the trace id is known to be random (received with
/// the flag, or a trace started here: the SDK's id generator is random).
///
/// ```
/// use otel_core::opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
/// use otel_core::opentelemetry::Context;
/// use otel_core::propagation::outgoing_traceparent;
///
/// // A remote parent received without the random flag: it is not claimed.
/// let received = SpanContext::new(TraceId::from(1), SpanId::from(2), TraceFlags::SAMPLED, true, TraceState::NONE);
/// let tp = outgoing_traceparent(&Context::new().with_remote_span_context(received)).unwrap();
/// assert_eq!(tp.to_string(), "00-00000000000000000000000000000001-0000000000000002-01");
///
/// // A span of a trace started here: sampled and random.
/// let local = SpanContext::new(TraceId::from(1), SpanId::from(3), TraceFlags::SAMPLED, false, TraceState::NONE);
/// let tp = outgoing_traceparent(&Context::new().with_remote_span_context(local)).unwrap();
/// assert_eq!(tp.to_string(), "00-00000000000000000000000000000001-0000000000000003-03");
/// ```
pub fn outgoing_traceparent(cx: &Context) -> Option<Traceparent> {
    let span = cx.span();
    let sc = span.span_context();
    if !sc.is_valid() {
        return None;
    }
    Some(traceparent_for(cx, sc))
}

fn traceparent_for(cx: &Context, sc: &SpanContext) -> Traceparent {
    let received = cx.get::<RemoteTrace>().filter(|r| r.trace_id == sc.trace_id());
    let random = match received {
        Some(remote) => remote.random,
        None if sc.is_remote() => sc.trace_flags().to_u8() & FLAG_RANDOM != 0,
        None => true,
    };
    let sampled = sc.trace_flags().to_u8() & TraceFlags::SAMPLED.to_u8();
    Traceparent {
        version: 0,
        trace_id: sc.trace_id(),
        parent_id: sc.span_id(),
        trace_flags: TraceFlags::new(sampled | if random { FLAG_RANDOM } else { 0 }),
    }
}

/// W3C Trace Context (Level 2), strict on what it accepts and exact in what it forwards.
///
/// Accepted: exactly one `traceparent` (a carrier that sees several, like
/// [`HeaderExtractor`](super::HeaderExtractor), reports none), lowercase hex of the exact
/// widths, version `ff` refused, higher versions read as `00`, all-zero ids refused,
/// optional white space trimmed. `tracestate` follows the current key grammar; repeated
/// keys keep their first entry; more than 32 members or an invalid member drops the
/// list, never the `traceparent`.
///
/// Forwarded: `sampled` and `random` (kept from the sender; set for traces started in
/// this process), and the validated `tracestate` exactly as received while the span has
/// not changed it, even members `opentelemetry`'s `TraceState` cannot hold.
///
/// ```
/// use otel_core::opentelemetry::propagation::TextMapPropagator;
/// use otel_core::opentelemetry::trace::TraceContextExt;
/// use otel_core::propagation::TraceContextPropagator;
/// use std::collections::HashMap;
///
/// let propagator = TraceContextPropagator::new();
/// let incoming = HashMap::from([
///     ("traceparent".to_string(), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03".to_string()),
///     ("tracestate".to_string(), "foo@=1,t@vvvvvvvvvvvvvv=2".to_string()),
/// ]);
/// let cx = propagator.extract(&incoming);
/// assert_eq!(cx.span().span_context().trace_flags().to_u8(), 0x03);
///
/// let mut outgoing = HashMap::new();
/// propagator.inject_context(&cx, &mut outgoing);
/// assert_eq!(outgoing["traceparent"], "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03");
/// assert_eq!(outgoing["tracestate"], "foo@=1,t@vvvvvvvvvvvvvv=2");
/// ```
#[derive(Debug, Clone, Default)]
pub struct TraceContextPropagator {
    _private: (),
}

impl TraceContextPropagator {
    /// A Trace Context propagator.
    pub fn new() -> Self {
        Self::default()
    }
}

fn fields() -> &'static [String; 2] {
    static NAMES: OnceLock<[String; 2]> = OnceLock::new();
    NAMES.get_or_init(|| [TRACEPARENT.to_owned(), TRACESTATE.to_owned()])
}

impl TextMapPropagator for TraceContextPropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let span = cx.span();
        let sc = span.span_context();
        if !sc.is_valid() {
            return;
        }
        injector.set(TRACEPARENT, traceparent_for(cx, sc).to_string());
        let exact = cx
            .get::<RemoteTrace>()
            .filter(|r| r.trace_id == sc.trace_id())
            .and_then(|r| r.exact_tracestate.as_ref())
            .filter(|(state, _)| state == sc.trace_state());
        match exact {
            Some((_, header)) => injector.set(TRACESTATE, header.to_string()),
            None => {
                // An empty `tracestate` is not sent: the spec asks senders to avoid it.
                let header = sc.trace_state().header();
                if !header.is_empty() {
                    injector.set(TRACESTATE, header);
                }
            }
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let Some(tp) = extractor
            .get(TRACEPARENT)
            .and_then(|v| Traceparent::parse(v.as_bytes()).ok())
        else {
            return cx.clone();
        };
        let tracestate = extractor
            .get(TRACESTATE)
            .and_then(|v| Tracestate::parse([v.as_bytes()]).ok())
            .unwrap_or_default();
        let trace_state = tracestate.to_trace_state();
        let exact_tracestate = (!tracestate.is_empty() && trace_state.header() != tracestate.header())
            .then(|| (trace_state.clone(), Arc::from(tracestate.header())));
        let sc = SpanContext::new(tp.trace_id, tp.parent_id, tp.trace_flags, true, trace_state);
        cx.with_remote_span_context(sc).with_value(RemoteTrace {
            trace_id: tp.trace_id,
            random: tp.trace_flags.to_u8() & FLAG_RANDOM != 0,
            exact_tracestate,
        })
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(fields())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use opentelemetry::trace::{Tracer as _, TracerProvider as _};
    use opentelemetry_sdk::trace::SdkTracerProvider;

    use super::*;
    use crate::propagation::Propagator;

    const TID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const SID: &str = "00f067aa0ba902b7";

    fn carrier(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn inject(cx: &Context) -> HashMap<String, String> {
        let mut out = HashMap::new();
        Propagator::default().inject_context(cx, &mut out);
        out
    }

    /// Extracts `incoming`, starts a server span and a child under it with a real SDK
    /// tracer, and returns what the child would send downstream.
    fn through_two_spans(incoming: &[(&str, &str)]) -> HashMap<String, String> {
        let provider = SdkTracerProvider::builder().build();
        let tracer = provider.tracer("test");
        let cx = Propagator::default().extract(&carrier(incoming));
        let server = tracer.start_with_context("server", &cx);
        let cx = cx.with_span(server);
        let child = tracer.start_with_context("client", &cx);
        let cx = cx.with_span(child);
        let out = inject(&cx);
        cx.span().end();
        out
    }

    #[test]
    fn outgoing_traceparent_table() {
        let tp = |flags: &str| format!("00-{TID}-{SID}-{flags}");
        // (incoming flags, outgoing flags after a server and a child span)
        for (incoming, outgoing) in [
            ("00", "00"),
            ("01", "01"),
            ("02", "02"),
            ("03", "03"),
            ("ff", "03"),
            ("09", "01"),
        ] {
            let out = through_two_spans(&[("traceparent", &tp(incoming))]);
            let sent = &out["traceparent"];
            assert!(sent.starts_with(&format!("00-{TID}-")), "{sent}");
            assert!(
                !sent.contains(SID),
                "the child's span id is sent, not the remote one"
            );
            assert!(
                sent.ends_with(&format!("-{outgoing}")),
                "incoming {incoming}: sent {sent}"
            );
        }
    }

    #[test]
    fn traces_started_here_carry_the_random_flag() {
        let out = through_two_spans(&[]);
        assert!(out["traceparent"].ends_with("-03"), "{}", out["traceparent"]);
        for bad in [
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01".to_owned(),
            format!("00-{TID}-{SID}-01-extra"),
            format!("ff-{TID}-{SID}-01"),
            format!("00-{}-{SID}-01", "0".repeat(32)),
        ] {
            let out = through_two_spans(&[("traceparent", &bad)]);
            assert!(!out["traceparent"].contains(TID), "{bad} starts a new trace");
            assert!(out["traceparent"].ends_with("-03"), "a new trace is ours: random");
        }
    }

    #[test]
    fn tracestate_forwarded_exactly() {
        let key14 = format!("t@{}", "v".repeat(14));
        let cases: Vec<(String, Option<String>)> = vec![
            ("foo=1".into(), Some("foo=1".into())),
            ("foo@=1,bar=2".into(), Some("foo@=1,bar=2".into())),
            (format!("{key14}=1,b=2"), Some(format!("{key14}=1,b=2"))),
            ("foo=1,foo=1".into(), Some("foo=1".into())),
            ("foo=1,foo=2".into(), Some("foo=1".into())),
            ("foo=1,Bar=2".into(), None),
            (
                (0..33).map(|i| format!("k{i}=1")).collect::<Vec<_>>().join(","),
                None,
            ),
            ("".into(), None),
        ];
        for (incoming, expected) in cases {
            let out = through_two_spans(&[
                ("traceparent", &format!("00-{TID}-{SID}-01")),
                ("tracestate", &incoming),
            ]);
            assert!(
                out["traceparent"].contains(TID),
                "an invalid tracestate keeps the parent"
            );
            assert_eq!(
                out.get("tracestate"),
                expected.as_ref(),
                "tracestate {incoming:?}"
            );
        }
    }

    #[test]
    fn a_changed_trace_state_is_sent_as_changed() {
        let key14 = format!("t@{}", "v".repeat(14));
        let cx = Propagator::default().extract(&carrier(&[
            ("traceparent", &format!("00-{TID}-{SID}-01")),
            ("tracestate", &format!("{key14}=1,b=2")),
        ]));
        let sc = cx.span().span_context().clone();
        let changed = sc.trace_state().insert("ours", "x").expect("valid");
        let sc = SpanContext::new(sc.trace_id(), sc.span_id(), sc.trace_flags(), true, changed);
        let out = inject(&cx.with_remote_span_context(sc));
        assert_eq!(out["tracestate"], "ours=x,b=2");
    }

    #[test]
    fn a_trace_from_another_propagator_never_gains_random() {
        // A carrier-agnostic stand-in for B3: any propagator that extracts a remote span
        // context without our W3C marker.
        #[derive(Debug)]
        struct Foreign;
        impl TextMapPropagator for Foreign {
            fn inject_context(&self, _: &Context, _: &mut dyn Injector) {}
            fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
                match extractor.get("foreign") {
                    Some(_) => cx.with_remote_span_context(SpanContext::new(
                        TraceId::from(7),
                        opentelemetry::trace::SpanId::from(9),
                        TraceFlags::SAMPLED,
                        true,
                        TraceState::NONE,
                    )),
                    None => cx.clone(),
                }
            }
            fn fields(&self) -> FieldIter<'_> {
                FieldIter::new(&[])
            }
        }
        let propagator = Propagator::default().with_propagator(Foreign);
        let provider = SdkTracerProvider::builder().build();
        let cx = propagator.extract(&carrier(&[("foreign", "1")]));
        let cx = cx.with_span(provider.tracer("t").start_with_context("child", &cx));
        let mut out = HashMap::new();
        propagator.inject_context(&cx, &mut out);
        assert!(out["traceparent"].starts_with("00-00000000000000000000000000000007-"));
        assert!(out["traceparent"].ends_with("-01"), "{}", out["traceparent"]);
    }
}
