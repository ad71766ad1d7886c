//! Metric names: sanitizing, unit suffixes from UCUM units, and `_total` for counters.

use super::builder::Options;
use super::encode::Kind;

/// The Prometheus name of an instrument: sanitized, then the unit and `_total` suffixes the
/// options ask for.
pub(super) fn metric_name(name: &str, unit: &str, kind: Kind, options: Options) -> String {
    let mut base = sanitize(name, true);
    let counter_suffix = kind == Kind::Counter && options.counter_suffixes;
    if counter_suffix {
        // The unit goes before `_total`, so an existing `_total` is re-added at the end.
        if let Some(stripped) = base.strip_suffix("_total") {
            base.truncate(stripped.len());
        }
    }
    if options.unit_suffixes {
        if let Some(unit) = prometheus_unit(unit, kind == Kind::Gauge) {
            if !contains_word(&base, &unit) {
                base.push('_');
                base.push_str(&unit);
            }
        }
    }
    if counter_suffix {
        base.push_str("_total");
    }
    sanitize(&base, true)
}

/// Whether `word` (one or more `_`-separated tokens) appears as whole tokens in `name`.
fn contains_word(name: &str, word: &str) -> bool {
    name == word
        || name.ends_with(&format!("_{word}"))
        || name.starts_with(&format!("{word}_"))
        || name.contains(&format!("_{word}_"))
}

/// Replaces characters Prometheus does not allow with `_`, collapses runs of `_`, and guards a
/// leading digit. Metric names may contain `:`, label names may not.
pub(super) fn sanitize(raw: &str, allow_colon: bool) -> String {
    let mut out = String::with_capacity(raw.len() + 1);
    for c in raw.chars() {
        let keep = c.is_ascii_alphanumeric() || c == '_' || (allow_colon && c == ':');
        let c = if keep { c } else { '_' };
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// The Prometheus word for a UCUM unit, or `None` when the name gets no unit suffix.
fn prometheus_unit(unit: &str, gauge: bool) -> Option<String> {
    // `{packet}` style annotations are only descriptive; a "count of foo" has no unit.
    let mut stripped = String::with_capacity(unit.len());
    let mut depth = 0usize;
    for c in unit.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            _ if depth == 0 => stripped.push(c),
            _ => {}
        }
    }
    let stripped = stripped.trim();
    let (main, per) = match stripped.split_once('/') {
        Some((main, per)) => (main.trim(), Some(per.trim())),
        None => (stripped, None),
    };
    let main_word = match main {
        "" => String::new(),
        "1" if per.is_none() && gauge => "ratio".to_owned(),
        "1" => String::new(),
        other => main_unit_word(other).map_or_else(|| other.to_owned(), str::to_owned),
    };
    let per_word = per
        .filter(|p| !p.is_empty())
        .map(|p| per_unit_word(p).map_or_else(|| p.to_owned(), str::to_owned));
    let word = match (main_word.is_empty(), per_word) {
        (true, None) => return None,
        (false, None) => main_word,
        (true, Some(per)) => format!("per_{per}"),
        (false, Some(per)) => format!("{main_word}_per_{per}"),
    };
    let word = sanitize(&word, false);
    let word = word.trim_matches('_');
    (!word.is_empty()).then(|| word.to_owned())
}

fn main_unit_word(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tebibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "TBy" => "terabytes",
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        "Cel" => "celsius",
        "Hz" => "hertz",
        "%" => "percent",
        _ => return None,
    })
}

fn per_unit_word(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use opentelemetry::metrics::MeterProvider as _;

    use super::super::builder::Options;
    use super::super::encode::Kind;
    use super::super::test_support::setup;
    use super::{metric_name, sanitize};

    #[test]
    fn existing_total_suffix_is_not_doubled() {
        let (exporter, provider) = setup();
        let meter = provider.meter("prom.test.total");
        meter.u64_counter("jobs_total").build().add(1, &[]);
        meter
            .u64_counter("sent_total")
            .with_unit("By")
            .build()
            .add(9, &[]);
        let text = exporter.render().unwrap();
        assert!(text.contains("jobs_total{otel_scope_name=\"prom.test.total\"} 1\n"));
        assert!(!text.contains("jobs_total_total"));
        assert!(text.contains("sent_bytes_total{otel_scope_name=\"prom.test.total\"} 9\n"));
    }

    #[test]
    fn units_become_name_suffixes() {
        let (exporter, provider) = setup();
        let meter = provider.meter("prom.test.units");
        meter
            .f64_gauge("u.latency")
            .with_unit("ms")
            .build()
            .record(1.0, &[]);
        meter.f64_gauge("u.size").with_unit("By").build().record(1.0, &[]);
        meter
            .f64_gauge("u.utilization")
            .with_unit("1")
            .build()
            .record(0.5, &[]);
        meter.u64_counter("u.hits").with_unit("1").build().add(1, &[]);
        meter
            .u64_counter("u.requests")
            .with_unit("{request}")
            .build()
            .add(1, &[]);
        meter
            .f64_gauge("u.throughput")
            .with_unit("By/s")
            .build()
            .record(1.0, &[]);
        meter
            .f64_gauge("u.rate")
            .with_unit("{packet}/s")
            .build()
            .record(1.0, &[]);
        meter
            .f64_gauge("u.elapsed_seconds")
            .with_unit("s")
            .build()
            .record(1.0, &[]);
        meter
            .f64_gauge("u.custom")
            .with_unit("furlongs")
            .build()
            .record(1.0, &[]);

        let text = exporter.render().unwrap();
        for expected in [
            "u_latency_milliseconds{",
            "u_size_bytes{",
            "u_utilization_ratio{",
            "u_hits_total{",
            "u_requests_total{",
            "u_throughput_bytes_per_second{",
            "u_rate_per_second{",
            "u_elapsed_seconds{",
            "u_custom_furlongs{",
        ] {
            assert!(
                text.lines().any(|l| l.starts_with(expected)),
                "missing {expected} in\n{text}"
            );
        }
        assert!(!text.contains("u_elapsed_seconds_seconds"));
        assert!(!text.contains("u_hits_ratio"));
    }

    #[test]
    fn names_are_sanitized() {
        let options = Options::default();
        assert_eq!(metric_name("9-lives!", "", Kind::Gauge, options), "_9_lives_");
        assert_eq!(metric_name("a..b//c", "", Kind::Gauge, options), "a_b_c");
        assert_eq!(
            metric_name("ns:requests", "", Kind::Gauge, options),
            "ns:requests"
        );
        assert_eq!(metric_name("héllo", "", Kind::Gauge, options), "h_llo");
        assert_eq!(
            metric_name("net.io", "By", Kind::Counter, options),
            "net_io_bytes_total"
        );
        assert_eq!(metric_name("queue.", "{item}", Kind::Gauge, options), "queue_");
        assert_eq!(metric_name("queue.", "s", Kind::Gauge, options), "queue_seconds");
        assert_eq!(sanitize("label:with.colon", false), "label_with_colon");
        assert_eq!(sanitize("", false), "_");
        assert_eq!(sanitize("__reserved", false), "_reserved");
    }
}
