//! Span limits: `OTEL_SPAN_*_LIMIT`, `OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT` and
//! `OTEL_LINK_ATTRIBUTE_COUNT_LIMIT`, each falling back to the generic
//! `OTEL_ATTRIBUTE_COUNT_LIMIT` / `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`, then to the spec's
//! default.

use super::super::SpanLimits;
use super::Env;

pub(super) fn span_limits(env: &mut Env<'_>) -> SpanLimits {
    let defaults = SpanLimits::default();
    let generic_count = count(env, &["OTEL_ATTRIBUTE_COUNT_LIMIT"], defaults.attribute_count);
    let value_length = match env.first(&[
        "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
        "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
    ]) {
        None => None,
        Some((name, raw)) => match raw.parse::<usize>() {
            Ok(n) => Some(n),
            Err(_) => {
                env.warn(&name, &raw, "no limit", "expected a whole number of characters");
                None
            }
        },
    };
    SpanLimits {
        attribute_value_length: value_length,
        attribute_count: count(env, &["OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT"], generic_count),
        event_count: count(env, &["OTEL_SPAN_EVENT_COUNT_LIMIT"], defaults.event_count),
        link_count: count(env, &["OTEL_SPAN_LINK_COUNT_LIMIT"], defaults.link_count),
        event_attribute_count: count(env, &["OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT"], generic_count),
        link_attribute_count: count(env, &["OTEL_LINK_ATTRIBUTE_COUNT_LIMIT"], generic_count),
    }
}

/// A count limit: zero is allowed (record none), as the spec allows it.
fn count(env: &mut Env<'_>, names: &[&str], default: u32) -> u32 {
    let Some((name, raw)) = env.first(names) else {
        return default;
    };
    match raw.parse::<u32>() {
        Ok(n) => n,
        Err(_) => {
            env.warn(&name, &raw, default.to_string(), "expected a whole number");
            default
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::{Config, SpanLimits};

    fn resolve(
        vars: &'static [(&'static str, &'static str)],
    ) -> (Config, Vec<super::super::super::ConfigWarning>) {
        Config::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn defaults_are_the_specs() {
        let (c, w) = resolve(&[]);
        assert!(w.is_empty());
        assert_eq!(c.span_limits, SpanLimits::default());
        assert_eq!(c.span_limits.attribute_value_length, None);
        assert_eq!(c.span_limits.attribute_count, 128);
    }

    #[test]
    fn span_variables_win_over_the_generic_ones() {
        let (c, w) = resolve(&[
            ("OTEL_ATTRIBUTE_COUNT_LIMIT", "64"),
            ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "1000"),
            ("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "200"),
            ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "32"),
            ("OTEL_SPAN_EVENT_COUNT_LIMIT", "10"),
            ("OTEL_SPAN_LINK_COUNT_LIMIT", "0"),
            ("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", "4"),
        ]);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(
            c.span_limits,
            SpanLimits {
                attribute_value_length: Some(200),
                attribute_count: 32,
                event_count: 10,
                link_count: 0,
                event_attribute_count: 64,
                link_attribute_count: 4,
            }
        );
    }

    #[test]
    fn invalid_limits_warn() {
        let (c, w) = resolve(&[
            ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "-1"),
            ("OTEL_SPAN_EVENT_COUNT_LIMIT", "many"),
        ]);
        assert_eq!(c.span_limits, SpanLimits::default());
        assert!(w
            .iter()
            .any(|w| w.variable == "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT" && w.fallback == "no limit"));
        assert!(w
            .iter()
            .any(|w| w.variable == "OTEL_SPAN_EVENT_COUNT_LIMIT" && w.fallback == "128"));
    }
}
