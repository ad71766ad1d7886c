//! Span limits (`OTEL_SPAN_*_LIMIT`, `OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT`,
//! `OTEL_LINK_ATTRIBUTE_COUNT_LIMIT`, and the generic `OTEL_ATTRIBUTE_*_LIMIT` they fall
//! back to): what keeps one runaway span from flooding a backend that bills per byte.

/// Limits applied to every span. The counts are enforced by the SDK as a span records
/// (what is over the limit is dropped and counted in the span's dropped counts); the
/// value length is enforced when the span ends, before any exporter sees it.
///
/// ```
/// use otel_core::config::{Config, SpanLimits};
///
/// let env = [("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "256"), ("OTEL_SPAN_EVENT_COUNT_LIMIT", "16")];
/// let (config, _) = Config::from_lookup(|k| {
///     env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
/// });
/// assert_eq!(config.span_limits.attribute_value_length, Some(256));
/// assert_eq!(config.span_limits.event_count, 16);
/// assert_eq!(config.span_limits.attribute_count, SpanLimits::default().attribute_count);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanLimits {
    /// Longest string attribute value, in characters (each string of an array too), on
    /// spans, their events and links; `None`: no limit (the spec's default).
    pub attribute_value_length: Option<usize>,
    /// Attributes per span.
    pub attribute_count: u32,
    /// Events per span.
    pub event_count: u32,
    /// Links per span.
    pub link_count: u32,
    /// Attributes per span event.
    pub event_attribute_count: u32,
    /// Attributes per span link.
    pub link_attribute_count: u32,
}

impl Default for SpanLimits {
    /// The spec's defaults: 128 of everything, no value length limit.
    fn default() -> Self {
        SpanLimits {
            attribute_value_length: None,
            attribute_count: 128,
            event_count: 128,
            link_count: 128,
            event_attribute_count: 128,
            link_attribute_count: 128,
        }
    }
}
