//! Context propagation: one strict W3C implementation, used by [`crate::init`], the
//! `otel-tower` layers and users alike.
//!
//! [`Propagator`] is the `TextMapPropagator` that `init()` installs from
//! `OTEL_PROPAGATORS` (`tracecontext,baggage` by default; `b3` and `b3multi` with the `b3`
//! feature); it is usable on its own with an SDK set up by hand. [`inject`] and
//! [`extract`] carry the global propagator's fields over an [`http::HeaderMap`].
//!
//! What is accepted and what is forwarded:
//!
//! | input | outcome |
//! |---|---|
//! | one valid `traceparent` | parent used; `sampled` and (version `00`) `random` kept, undefined flag bits dropped |
//! | two or more `traceparent` fields, uppercase hex, wrong widths, `+` signs, version `ff`, all-zero ids, a version `00` value with trailing data | ignored: a new trace starts |
//! | a higher version (`cc-…-01-extra`) | read as `00` (only the `sampled` flag), sent on as `00` |
//! | `tracestate` fields | joined in order; keys per the current grammar (`foo@`, 14-character system ids); a repeated key keeps its first entry; more than 32 members or an invalid member drops the whole list (the parent is kept) |
//! | outgoing `tracestate` | exactly the validated list received, while the span has not changed it |
//! | outgoing `random` flag | as received; set for traces started here (their ids are random) |
//! | `baggage` fields | joined in order; values percent-decoded; properties kept and forwarded; invalid members dropped one by one; at most 180 members and 8192 bytes, members past the limit dropped whole |
//!
//! Propagation keeps working when the SDK is disabled: an incoming context is extracted
//! and injected into outgoing requests unchanged, as the specification requires.
//!
//! ```
//! use otel_core::opentelemetry::trace::TraceContextExt;
//!
//! otel_core::opentelemetry::global::set_text_map_propagator(otel_core::propagation::Propagator::default());
//! let mut incoming = http::HeaderMap::new();
//! incoming.insert("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03".parse().unwrap());
//! let cx = otel_core::propagation::extract(&incoming);
//!
//! let mut outgoing = http::HeaderMap::new();
//! otel_core::propagation::inject_context(&cx, &mut outgoing);
//! assert_eq!(outgoing["traceparent"], "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03");
//! ```

mod baggage;
mod composite;
mod header;
mod trace_context;
mod traceparent;
mod tracestate;

pub use baggage::{BaggagePropagator, BAGGAGE, MAX_BAGGAGE_BYTES, MAX_BAGGAGE_MEMBERS};
pub use composite::Propagator;
pub use header::{extract, extract_with_context, inject, inject_context, HeaderExtractor, HeaderInjector};
pub use trace_context::{outgoing_traceparent, TraceContextPropagator, TRACEPARENT, TRACESTATE};
pub use traceparent::{InvalidTraceparent, Traceparent, FLAG_RANDOM};
pub use tracestate::{InvalidTracestate, Tracestate, MAX_TRACESTATE_MEMBERS};
