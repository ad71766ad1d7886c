//! The propagator `init()` installs: the configured propagators run in order.

use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::Context;

use super::baggage::BaggagePropagator;
use super::trace_context::{RemoteTrace, TraceContextPropagator};

/// Several propagators in order: each injects its fields; extraction runs them in
/// turn, a later one's span context winning (as in `TextMapCompositePropagator`).
///
/// Unlike the stock composite it also records that an extracted trace came from
/// elsewhere, whichever propagator read it (B3, say), so the W3C `random` flag is never
/// claimed for a trace id this process did not generate.
///
/// The default is `tracecontext,baggage`, what `OTEL_PROPAGATORS` defaults to. For an
/// SDK set up by hand:
///
/// ```
/// otel_core::opentelemetry::global::set_text_map_propagator(otel_core::propagation::Propagator::default());
/// ```
pub struct Propagator {
    propagators: Vec<Box<dyn TextMapPropagator + Send + Sync>>,
    fields: Vec<String>,
}

impl std::fmt::Debug for Propagator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Propagator")
            .field("fields", &self.fields)
            .finish()
    }
}

impl Default for Propagator {
    fn default() -> Self {
        Self::none()
            .with_propagator(TraceContextPropagator::new())
            .with_propagator(BaggagePropagator::new())
    }
}

impl Propagator {
    /// A propagator that propagates nothing (`OTEL_PROPAGATORS=none`).
    ///
    /// ```
    /// use otel_core::opentelemetry::propagation::TextMapPropagator;
    /// assert_eq!(otel_core::propagation::Propagator::none().fields().count(), 0);
    /// ```
    pub fn none() -> Self {
        Self {
            propagators: Vec::new(),
            fields: Vec::new(),
        }
    }

    /// Appends `propagator`: it injects after, and extracts after, the ones before it.
    ///
    /// ```
    /// use otel_core::opentelemetry::propagation::TextMapPropagator;
    /// use otel_core::propagation::{Propagator, TraceContextPropagator};
    ///
    /// let p = Propagator::none().with_propagator(TraceContextPropagator::new());
    /// assert_eq!(p.fields().collect::<Vec<_>>(), ["traceparent", "tracestate"]);
    /// ```
    #[must_use]
    pub fn with_propagator<P>(mut self, propagator: P) -> Self
    where
        P: TextMapPropagator + Send + Sync + 'static,
    {
        for field in propagator.fields() {
            if !self.fields.iter().any(|f| f == field) {
                self.fields.push(field.to_owned());
            }
        }
        self.propagators.push(Box::new(propagator));
        self
    }

    /// Appends B3 in its single-header form (`b3: {trace}-{span}-{sampled}`).
    ///
    /// ```
    /// use otel_core::opentelemetry::propagation::TextMapPropagator;
    /// let p = otel_core::propagation::Propagator::none().with_b3();
    /// assert_eq!(p.fields().collect::<Vec<_>>(), ["b3"]);
    /// ```
    #[cfg(feature = "b3")]
    #[cfg_attr(docsrs, doc(cfg(feature = "b3")))]
    #[must_use]
    // The zipkin crate is deprecated for its exporter; its B3 propagator is the
    // maintained one of the 0.33 line.
    #[allow(deprecated)]
    pub fn with_b3(self) -> Self {
        use opentelemetry_zipkin::{B3Encoding, Propagator as B3};
        self.with_propagator(B3::with_encoding(B3Encoding::SingleHeader))
    }

    /// Appends B3 in its multi-header form (`X-B3-TraceId`, `X-B3-SpanId`, …).
    ///
    /// ```
    /// use otel_core::opentelemetry::propagation::TextMapPropagator;
    /// let p = otel_core::propagation::Propagator::none().with_b3_multi();
    /// assert!(p.fields().any(|f| f == "x-b3-traceid"));
    /// ```
    #[cfg(feature = "b3")]
    #[cfg_attr(docsrs, doc(cfg(feature = "b3")))]
    #[must_use]
    #[allow(deprecated)]
    pub fn with_b3_multi(self) -> Self {
        use opentelemetry_zipkin::{B3Encoding, Propagator as B3};
        self.with_propagator(B3::with_encoding(B3Encoding::MultipleHeader))
    }
}

impl TextMapPropagator for Propagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        for propagator in &self.propagators {
            propagator.inject_context(cx, injector);
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let extracted = match &self.propagators[..] {
            [] => return cx.clone(),
            [only] => only.extract_with_context(cx, extractor),
            [first, rest @ ..] => rest
                .iter()
                .fold(first.extract_with_context(cx, extractor), |cx, p| {
                    p.extract_with_context(&cx, extractor)
                }),
        };
        RemoteTrace::mark_received(extracted)
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(&self.fields)
    }
}

#[cfg(all(test, feature = "b3"))]
mod tests {
    use std::collections::HashMap;

    use opentelemetry::trace::TraceContextExt;

    use super::*;

    const TID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const SID: &str = "00f067aa0ba902b7";

    #[test]
    fn b3_single_and_multi_extract_and_inject() {
        let single = Propagator::default().with_b3();
        let cx = single.extract(&HashMap::from([("b3".to_string(), format!("{TID}-{SID}-1"))]));
        assert_eq!(cx.span().span_context().trace_id().to_string(), TID);
        let mut out = HashMap::new();
        single.inject_context(&cx, &mut out);
        assert_eq!(out["b3"], format!("{TID}-{SID}-1"));
        // Received over B3 without a random flag: the W3C header must not claim one.
        assert_eq!(out["traceparent"], format!("00-{TID}-{SID}-01"));

        let multi = Propagator::none().with_b3_multi();
        let cx = multi.extract(&HashMap::from([
            ("x-b3-traceid".to_string(), TID.to_string()),
            ("x-b3-spanid".to_string(), SID.to_string()),
            ("x-b3-sampled".to_string(), "1".to_string()),
        ]));
        let mut out = HashMap::new();
        multi.inject_context(&cx, &mut out);
        assert_eq!(out.get("x-b3-traceid").map(String::as_str), Some(TID));
        assert_eq!(out.get("x-b3-spanid").map(String::as_str), Some(SID));
    }
}
