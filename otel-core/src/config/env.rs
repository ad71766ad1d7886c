//! Parsing of the `OTEL_*` environment variables.

use std::time::Duration;

use super::exporter::ExporterName;
use super::merge::Defaults;
use super::values::parse_key_values;
use super::{
    profile_ratio, BatchConfig, Config, ConfigWarning, ExporterKind, HistogramAggregation,
    MetricsExporterKind, PropagatorKind, SamplerConfig, SamplerSource, TailSamplingConfig,
    TemporalityPreference,
};

mod limits;
mod otlp;

pub(crate) const DEPLOYMENT_ENVIRONMENT: &str = "deployment.environment.name";

/// Every variable [`Config::from_env`] reads, for documentation and diagnostics.
pub const VARIABLES: &[&str] = &[
    "OTEL_SDK_DISABLED",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
    "OTEL_PROPAGATORS",
    "OTEL_TRACES_EXPORTER",
    "OTEL_METRICS_EXPORTER",
    "OTEL_LOGS_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_COMPRESSION",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_EXPORTER_OTLP_INSECURE",
    "OTEL_EXPORTER_OTLP_CERTIFICATE",
    "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
    "OTEL_EXPORTER_OTLP_CLIENT_KEY",
    "OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_{ENDPOINT,PROTOCOL,HEADERS,COMPRESSION,TIMEOUT,INSECURE,CERTIFICATE,CLIENT_CERTIFICATE,CLIENT_KEY}",
    "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
    "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION",
    "OTEL_BSP_SCHEDULE_DELAY",
    "OTEL_BSP_EXPORT_TIMEOUT",
    "OTEL_BSP_MAX_QUEUE_SIZE",
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
    "OTEL_BLRP_SCHEDULE_DELAY",
    "OTEL_BLRP_EXPORT_TIMEOUT",
    "OTEL_BLRP_MAX_QUEUE_SIZE",
    "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE",
    "OTEL_METRIC_EXPORT_INTERVAL",
    "OTEL_METRIC_EXPORT_TIMEOUT",
    "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
    "OTEL_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
    "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_SPAN_EVENT_COUNT_LIMIT",
    "OTEL_SPAN_LINK_COUNT_LIMIT",
    "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_EXPORTER_PROMETHEUS_HOST",
    "OTEL_EXPORTER_PROMETHEUS_PORT",
    super::tail::ENABLED,
    super::tail::LATENCY_THRESHOLD,
    super::tail::MAX_SPANS,
    super::tail::MAX_TRACES,
    super::tail::DECISION_TIMEOUT,
];

#[derive(Clone, Copy)]
enum Signal {
    Traces,
    Metrics,
    Logs,
}

impl Signal {
    fn upper(self) -> &'static str {
        match self {
            Self::Traces => "TRACES",
            Self::Metrics => "METRICS",
            Self::Logs => "LOGS",
        }
    }
    fn path(self) -> &'static str {
        match self {
            Self::Traces => "/v1/traces",
            Self::Metrics => "/v1/metrics",
            Self::Logs => "/v1/logs",
        }
    }
}

struct Env<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    warnings: Vec<ConfigWarning>,
}

impl Env<'_> {
    /// The spec treats an empty value like an unset one.
    fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn warn(&mut self, variable: &str, value: &str, fallback: impl Into<String>, reason: impl Into<String>) {
        let warning = ConfigWarning {
            variable: variable.to_owned(),
            value: value.to_owned(),
            fallback: fallback.into(),
            reason: reason.into(),
        };
        // A generic OTLP variable is read once per signal: say what is wrong with it once.
        if !self.warnings.contains(&warning) {
            self.warnings.push(warning);
        }
    }

    fn bool(&mut self, name: &str, default: bool) -> bool {
        let Some(raw) = self.get(name) else {
            return default;
        };
        match raw.to_ascii_lowercase().as_str() {
            "true" => true,
            "false" => false,
            _ => {
                self.warn(name, &raw, default.to_string(), "expected true or false");
                default
            }
        }
    }

    fn millis(&mut self, name: &str, default: Duration) -> Duration {
        let Some(raw) = self.get(name) else {
            return default;
        };
        match raw.parse::<u64>() {
            Ok(ms) => Duration::from_millis(ms),
            Err(_) => {
                self.warn(
                    name,
                    &raw,
                    format!("{} ms", default.as_millis()),
                    "expected a whole number of milliseconds",
                );
                default
            }
        }
    }

    fn positive(&mut self, name: &str, default: usize) -> usize {
        let Some(raw) = self.get(name) else {
            return default;
        };
        match raw.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                self.warn(
                    name,
                    &raw,
                    default.to_string(),
                    "expected a positive whole number",
                );
                default
            }
        }
    }

    /// The first of `names` that is set (per-signal variables before generic ones).
    fn first(&self, names: &[&str]) -> Option<(String, String)> {
        names
            .iter()
            .find_map(|name| self.get(name).map(|v| ((*name).to_owned(), v)))
    }
}

/// Reads every variable; where one is unset, `defaults` (the builder's) come before the
/// spec's defaults.
pub(crate) fn resolve(
    lookup: &dyn Fn(&str) -> Option<String>,
    defaults: &Defaults,
) -> (Config, Vec<ConfigWarning>) {
    let mut env = Env {
        lookup,
        warnings: Vec::new(),
    };

    let disabled = env.bool("OTEL_SDK_DISABLED", false);
    let mut resource_attributes = resource_attributes(&mut env);
    let service_name = match env.get("OTEL_SERVICE_NAME") {
        Some(name) => name,
        None => resource_attributes
            .iter()
            .find(|(k, _)| k == "service.name")
            .map(|(_, v)| v.clone())
            .or_else(|| defaults.service_name.clone())
            .unwrap_or_else(default_service_name),
    };
    resource_attributes.retain(|(k, _)| k != "service.name");

    let endpoint_set = |signal: Signal| {
        env.get(&format!("OTEL_EXPORTER_OTLP_{}_ENDPOINT", signal.upper()))
            .or_else(|| env.get("OTEL_EXPORTER_OTLP_ENDPOINT"))
            .is_some()
    };
    let traces_default = if endpoint_set(Signal::Traces) {
        ExporterKind::Otlp
    } else {
        ExporterKind::Console
    };
    let metrics_default = if endpoint_set(Signal::Metrics) {
        MetricsExporterKind::Otlp
    } else {
        MetricsExporterKind::Console
    };
    // Without a collector, application logs already reach the terminal through the
    // application's own logger; echoing them again would print every line twice.
    let logs_default = if endpoint_set(Signal::Logs) {
        Some(ExporterKind::Otlp)
    } else {
        None
    };

    let traces_exporters = exporters(&mut env, "OTEL_TRACES_EXPORTER", Some(traces_default));
    let metrics_exporters = exporters(&mut env, "OTEL_METRICS_EXPORTER", Some(metrics_default));
    let logs_exporters = exporters(&mut env, "OTEL_LOGS_EXPORTER", logs_default);

    let propagators = propagators(&mut env);

    let otlp_traces = otlp::otlp(&mut env, Signal::Traces);
    let otlp_metrics = otlp::otlp(&mut env, Signal::Metrics);
    let otlp_logs = otlp::otlp(&mut env, Signal::Logs);
    let metrics_temporality = named(
        &mut env,
        "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
        TemporalityPreference::from_name,
        TemporalityPreference::default(),
        "expected cumulative, delta or lowmemory",
    );
    let metrics_histogram_aggregation = named(
        &mut env,
        "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION",
        HistogramAggregation::from_name,
        HistogramAggregation::default(),
        "expected explicit_bucket_histogram or base2_exponential_bucket_histogram",
    );
    let span_limits = limits::span_limits(&mut env);

    let span_batch = batch(&mut env, "BSP", BatchConfig::SPANS);
    let log_batch = batch(&mut env, "BLRP", BatchConfig::LOGS);

    let metric_export_interval = env.millis("OTEL_METRIC_EXPORT_INTERVAL", Duration::from_millis(60_000));
    let metric_export_interval = if metric_export_interval.is_zero() {
        env.warn(
            "OTEL_METRIC_EXPORT_INTERVAL",
            "0",
            "60000 ms",
            "the interval must be positive",
        );
        Duration::from_millis(60_000)
    } else {
        metric_export_interval
    };
    let metric_export_timeout = env.millis("OTEL_METRIC_EXPORT_TIMEOUT", Duration::from_millis(30_000));

    let prometheus_host = env
        .get("OTEL_EXPORTER_PROMETHEUS_HOST")
        .unwrap_or_else(|| "localhost".to_owned());
    let prometheus_port = match env.get("OTEL_EXPORTER_PROMETHEUS_PORT") {
        None => 9464,
        Some(raw) => match raw.parse::<u16>() {
            Ok(port) => port,
            Err(_) => {
                env.warn(
                    "OTEL_EXPORTER_PROMETHEUS_PORT",
                    &raw,
                    "9464",
                    "expected a port number (0-65535)",
                );
                9464
            }
        },
    };

    let (sampler, sampler_source) = match sampler(&mut env) {
        Some(sampler) => (sampler, SamplerSource::Environment),
        None => (SamplerConfig::ParentBasedAlwaysOn, SamplerSource::Default),
    };
    let tail_sampling = tail_sampling(&mut env);

    let mut config = Config {
        disabled,
        service_name,
        resource_attributes,
        sampler,
        sampler_source,
        propagators,
        traces_exporters,
        metrics_exporters,
        logs_exporters,
        otlp_traces,
        otlp_metrics,
        otlp_logs,
        span_batch,
        log_batch,
        metric_export_interval,
        metric_export_timeout,
        metrics_temporality,
        metrics_histogram_aggregation,
        span_limits,
        prometheus_address: (prometheus_host, prometheus_port),
        tail_sampling,
    };
    apply_profile(&mut config);
    (config, env.warnings)
}

/// Picks the deployment profile's sampler unless one was chosen explicitly.
pub(crate) fn apply_profile(config: &mut Config) {
    if matches!(
        config.sampler_source,
        SamplerSource::Builder | SamplerSource::Environment
    ) {
        return;
    }
    match config.deployment_environment().and_then(profile_ratio) {
        Some(ratio) => {
            config.sampler = SamplerConfig::ParentBasedTraceIdRatio(ratio);
            config.sampler_source = SamplerSource::Profile;
        }
        None => {
            config.sampler = SamplerConfig::ParentBasedAlwaysOn;
            config.sampler_source = SamplerSource::Default;
        }
    }
}

fn default_service_name() -> String {
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()));
    match exe {
        Some(name) => format!("unknown_service:{name}"),
        None => "unknown_service".to_owned(),
    }
}

/// `key1=value1,key2=value2`, percent-decoded. The spec asks to discard the whole value
/// on any error, so a typo cannot silently produce half a resource.
fn resource_attributes(env: &mut Env<'_>) -> Vec<(String, String)> {
    const NAME: &str = "OTEL_RESOURCE_ATTRIBUTES";
    let Some(raw) = env.get(NAME) else {
        return Vec::new();
    };
    match parse_key_values(&raw) {
        Ok(pairs) => pairs,
        Err(reason) => {
            env.warn(NAME, &raw, "no resource attributes from the environment", reason);
            Vec::new()
        }
    }
}

/// A comma list of exporter names. A name this signal has no exporter for (`prometheus`
/// for spans or logs, `zipkin`, a typo) is dropped here with a warning, so the resolved
/// configuration only holds exporters that exist.
fn exporters<K: ExporterName>(env: &mut Env<'_>, name: &str, default: Option<K>) -> Vec<K> {
    let default_vec: Vec<K> = default.into_iter().collect();
    let Some(raw) = env.get(name) else {
        return default_vec;
    };
    let mut kinds = Vec::new();
    let mut none = false;
    for item in raw
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
    {
        if item == "none" {
            none = true;
            continue;
        }
        let Some(kind) = K::from_name(&item) else {
            let supported = K::SUPPORTED;
            let reason = match item.as_str() {
                "prometheus" => {
                    format!("the prometheus exporter is for metrics only; supported here: {supported}")
                }
                "zipkin" | "jaeger" | "logging" | "otlp/stdout" => {
                    format!("exporter {item:?} is not supported; supported: {supported}")
                }
                _ => format!("unknown exporter {item:?}; supported: {supported}"),
            };
            env.warn(name, &raw, "the other listed exporters (or the default)", reason);
            continue;
        };
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    if none {
        if !kinds.is_empty() {
            env.warn(
                name,
                &raw,
                "none",
                "\"none\" cannot be combined with other exporters",
            );
        }
        return Vec::new();
    }
    if kinds.is_empty() {
        return default_vec;
    }
    kinds
}

fn propagators(env: &mut Env<'_>) -> Vec<PropagatorKind> {
    const NAME: &str = "OTEL_PROPAGATORS";
    #[cfg(feature = "b3")]
    const SUPPORTED: &str = "tracecontext, baggage, b3, b3multi, none";
    #[cfg(not(feature = "b3"))]
    const SUPPORTED: &str = "tracecontext, baggage, none (b3 and b3multi with the `b3` feature)";
    let default = vec![PropagatorKind::TraceContext, PropagatorKind::Baggage];
    let Some(raw) = env.get(NAME) else {
        return default;
    };
    let mut kinds = Vec::new();
    for item in raw
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
    {
        match item.as_str() {
            "tracecontext" => kinds.push(PropagatorKind::TraceContext),
            "baggage" => kinds.push(PropagatorKind::Baggage),
            "none" => return Vec::new(),
            #[cfg(feature = "b3")]
            "b3" => kinds.push(PropagatorKind::B3),
            #[cfg(feature = "b3")]
            "b3multi" => kinds.push(PropagatorKind::B3Multi),
            #[cfg(not(feature = "b3"))]
            "b3" | "b3multi" => env.warn(
                NAME,
                &raw,
                "the other listed propagators",
                format!("propagator {item:?} needs otel-core's `b3` feature; supported: {SUPPORTED}"),
            ),
            "jaeger" | "xray" | "ottrace" => env.warn(
                NAME,
                &raw,
                "the other listed propagators",
                format!("propagator {item:?} is not supported by otel-core; supported: {SUPPORTED}"),
            ),
            _ => env.warn(
                NAME,
                &raw,
                "the other listed propagators",
                format!("unknown propagator {item:?}; supported: {SUPPORTED}"),
            ),
        }
    }
    kinds.dedup();
    kinds
}

fn sampler(env: &mut Env<'_>) -> Option<SamplerConfig> {
    const NAME: &str = "OTEL_TRACES_SAMPLER";
    const ARG: &str = "OTEL_TRACES_SAMPLER_ARG";
    let raw = env.get(NAME)?;
    let ratio = |env: &mut Env<'_>| -> f64 {
        let Some(arg) = env.get(ARG) else {
            return 1.0;
        };
        match arg.parse::<f64>() {
            Ok(r) if (0.0..=1.0).contains(&r) => r,
            _ => {
                env.warn(ARG, &arg, "1.0", "expected a probability between 0.0 and 1.0");
                1.0
            }
        }
    };
    let sampler = match raw.to_ascii_lowercase().as_str() {
        "always_on" => SamplerConfig::AlwaysOn,
        "always_off" => SamplerConfig::AlwaysOff,
        "traceidratio" => SamplerConfig::TraceIdRatio(ratio(env)),
        "parentbased_always_on" => SamplerConfig::ParentBasedAlwaysOn,
        "parentbased_always_off" => SamplerConfig::ParentBasedAlwaysOff,
        "parentbased_traceidratio" => SamplerConfig::ParentBasedTraceIdRatio(ratio(env)),
        "jaeger_remote" | "parentbased_jaeger_remote" | "xray" => {
            env.warn(
                NAME,
                &raw,
                "parentbased_always_on",
                "this sampler is not supported by otel-core",
            );
            return None;
        }
        _ => {
            env.warn(
                NAME,
                &raw,
                "parentbased_always_on",
                "unknown sampler; expected always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio",
            );
            return None;
        }
    };
    Some(sampler)
}

/// A variable whose value is one of a few names.
fn named<T: std::fmt::Display>(
    env: &mut Env<'_>,
    name: &str,
    parse: fn(&str) -> Option<T>,
    default: T,
    expected: &str,
) -> T {
    let Some(raw) = env.get(name) else {
        return default;
    };
    match parse(&raw) {
        Some(value) => value,
        None => {
            env.warn(name, &raw, default.to_string(), expected);
            default
        }
    }
}

fn batch(env: &mut Env<'_>, prefix: &str, default: BatchConfig) -> BatchConfig {
    let name = |s: &str| format!("OTEL_{prefix}_{s}");
    let max_queue_size = env.positive(&name("MAX_QUEUE_SIZE"), default.max_queue_size);
    let scheduled_delay = env.millis(&name("SCHEDULE_DELAY"), default.scheduled_delay);
    let mut max_export_batch_size =
        env.positive(&name("MAX_EXPORT_BATCH_SIZE"), default.max_export_batch_size);
    if max_export_batch_size > max_queue_size {
        env.warn(
            &name("MAX_EXPORT_BATCH_SIZE"),
            &max_export_batch_size.to_string(),
            max_queue_size.to_string(),
            "must not exceed the queue size",
        );
        max_export_batch_size = max_queue_size;
    }
    let export_timeout = env.millis(&name("EXPORT_TIMEOUT"), default.export_timeout);
    BatchConfig {
        max_queue_size,
        scheduled_delay,
        max_export_batch_size,
        export_timeout,
    }
}

/// The `OTEL_TOOLKIT_TAIL_SAMPLING*` variables (ours, see `tail.rs`).
fn tail_sampling(env: &mut Env<'_>) -> TailSamplingConfig {
    use super::tail::{DECISION_TIMEOUT, ENABLED, LATENCY_THRESHOLD, MAX_SPANS, MAX_TRACES};
    let default = TailSamplingConfig::DISABLED;
    let enabled = match env.get(ENABLED) {
        None => default.enabled,
        Some(raw) => super::tail::parse_switch(&raw).unwrap_or_else(|reason| {
            env.warn(ENABLED, &raw, "off", reason);
            false
        }),
    };
    let mut decision_timeout = env.millis(DECISION_TIMEOUT, default.decision_timeout);
    if decision_timeout.is_zero() {
        let fallback = format!("{} ms", default.decision_timeout.as_millis());
        env.warn(DECISION_TIMEOUT, "0", fallback, "the timeout must be positive");
        decision_timeout = default.decision_timeout;
    }
    TailSamplingConfig {
        enabled,
        latency_threshold: env.millis(LATENCY_THRESHOLD, default.latency_threshold),
        max_spans: env.positive(MAX_SPANS, default.max_spans),
        max_traces: env.positive(MAX_TRACES, default.max_traces),
        decision_timeout,
    }
}

#[cfg(test)]
mod tests;
