use std::time::Duration;

use super::super::*;

fn resolve(vars: &[(&str, &str)]) -> (Config, Vec<ConfigWarning>) {
    let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Config::from_lookup(move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
}

#[track_caller]
fn warned(warnings: &[ConfigWarning], variable: &str, value: &str, fallback: &str) {
    assert!(
        warnings
            .iter()
            .any(|w| w.variable == variable && w.value == value && w.fallback == fallback),
        "expected a warning for {variable}={value:?} falling back to {fallback:?}, got {warnings:#?}"
    );
}

#[test]
fn defaults_follow_the_spec_with_console_when_no_endpoint() {
    let (c, w) = resolve(&[]);
    assert!(w.is_empty(), "{w:?}");
    assert!(!c.disabled);
    assert!(c.service_name.starts_with("unknown_service"));
    assert_eq!(c.sampler, SamplerConfig::ParentBasedAlwaysOn);
    assert_eq!(c.sampler_source, SamplerSource::Default);
    assert_eq!(
        c.propagators,
        vec![PropagatorKind::TraceContext, PropagatorKind::Baggage]
    );
    assert_eq!(c.traces_exporters, vec![ExporterKind::Console]);
    assert_eq!(c.metrics_exporters, vec![MetricsExporterKind::Console]);
    assert!(c.logs_exporters.is_empty());
    assert_eq!(c.otlp_traces.endpoint, "http://localhost:4318/v1/traces");
    assert_eq!(c.otlp_traces.protocol, Protocol::HttpProtobuf);
    assert_eq!(c.otlp_traces.timeout, Duration::from_secs(10));
    assert_eq!(c.span_batch, BatchConfig::SPANS);
    assert_eq!(c.log_batch, BatchConfig::LOGS);
    assert_eq!(c.metric_export_interval, Duration::from_secs(60));
    assert_eq!(c.prometheus_address, ("localhost".to_string(), 9464));
}

#[test]
fn sdk_disabled() {
    let cases: &[(&str, bool, bool)] = &[
        ("true", true, false),
        ("TRUE", true, false),
        ("false", false, false),
        ("yes", false, true),
        ("1", false, true),
        ("", false, false),
    ];
    for &(value, disabled, warns) in cases {
        let (c, w) = resolve(&[("OTEL_SDK_DISABLED", value)]);
        assert_eq!(c.disabled, disabled, "OTEL_SDK_DISABLED={value:?}");
        if warns {
            warned(&w, "OTEL_SDK_DISABLED", value, "false");
        } else {
            assert!(w.is_empty(), "{value:?}: {w:?}");
        }
    }
}

#[test]
fn service_name_and_resource_attributes() {
    let (c, w) = resolve(&[(
        "OTEL_RESOURCE_ATTRIBUTES",
        "service.name=from-attrs,team=core%20infra,k=a%3Db",
    )]);
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(c.service_name, "from-attrs");
    assert_eq!(
        c.resource_attributes,
        vec![("team".into(), "core infra".into()), ("k".into(), "a=b".into())]
    );

    let (c, _) = resolve(&[
        ("OTEL_RESOURCE_ATTRIBUTES", "service.name=a"),
        ("OTEL_SERVICE_NAME", "b"),
    ]);
    assert_eq!(
        c.service_name, "b",
        "OTEL_SERVICE_NAME wins over the resource attribute"
    );

    // Any malformed entry discards the whole value, as the spec asks.
    for bad in ["team", "=x", "a=b,broken", "k=%FF"] {
        let (c, w) = resolve(&[("OTEL_RESOURCE_ATTRIBUTES", bad)]);
        assert!(c.resource_attributes.is_empty(), "{bad:?}");
        warned(
            &w,
            "OTEL_RESOURCE_ATTRIBUTES",
            bad,
            "no resource attributes from the environment",
        );
    }
}

#[test]
fn samplers_and_their_argument() {
    let cases: &[(&str, Option<&str>, SamplerConfig)] = &[
        ("always_on", None, SamplerConfig::AlwaysOn),
        ("always_off", None, SamplerConfig::AlwaysOff),
        ("traceidratio", Some("0.25"), SamplerConfig::TraceIdRatio(0.25)),
        ("traceidratio", None, SamplerConfig::TraceIdRatio(1.0)),
        ("parentbased_always_on", None, SamplerConfig::ParentBasedAlwaysOn),
        (
            "parentbased_always_off",
            None,
            SamplerConfig::ParentBasedAlwaysOff,
        ),
        (
            "parentbased_traceidratio",
            Some("0"),
            SamplerConfig::ParentBasedTraceIdRatio(0.0),
        ),
        (
            "PARENTBASED_TRACEIDRATIO",
            Some("1"),
            SamplerConfig::ParentBasedTraceIdRatio(1.0),
        ),
    ];
    for (name, arg, expected) in cases {
        let mut vars = vec![("OTEL_TRACES_SAMPLER", *name)];
        if let Some(arg) = arg {
            vars.push(("OTEL_TRACES_SAMPLER_ARG", arg));
        }
        let (c, w) = resolve(&vars);
        assert!(w.is_empty(), "{name}: {w:?}");
        assert_eq!(c.sampler, *expected, "{name} {arg:?}");
        assert_eq!(c.sampler_source, SamplerSource::Environment);
    }
    for bad_arg in ["1.5", "-0.1", "half", "NaN"] {
        let (c, w) = resolve(&[
            ("OTEL_TRACES_SAMPLER", "traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", bad_arg),
        ]);
        assert_eq!(c.sampler, SamplerConfig::TraceIdRatio(1.0), "{bad_arg}");
        warned(&w, "OTEL_TRACES_SAMPLER_ARG", bad_arg, "1.0");
    }
    for bad in ["sometimes", "jaeger_remote", "xray"] {
        let (c, w) = resolve(&[("OTEL_TRACES_SAMPLER", bad)]);
        assert_eq!(c.sampler, SamplerConfig::ParentBasedAlwaysOn, "{bad}");
        warned(&w, "OTEL_TRACES_SAMPLER", bad, "parentbased_always_on");
    }
}

#[test]
fn deployment_profiles_pick_the_sampler_unless_one_is_set() {
    let cases = [
        ("development", 1.0),
        ("staging", 0.5),
        ("production", 0.1),
        ("Production", 0.1),
    ];
    for (env, ratio) in cases {
        let attrs = format!("deployment.environment.name={env}");
        let (c, _) = resolve(&[("OTEL_RESOURCE_ATTRIBUTES", &attrs)]);
        assert_eq!(c.sampler, SamplerConfig::ParentBasedTraceIdRatio(ratio), "{env}");
        assert_eq!(c.sampler_source, SamplerSource::Profile);
    }
    let (c, _) = resolve(&[
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment.name=production",
        ),
        ("OTEL_TRACES_SAMPLER", "always_on"),
    ]);
    assert_eq!(
        c.sampler,
        SamplerConfig::AlwaysOn,
        "an explicit sampler wins over the profile"
    );
    let (c, _) = resolve(&[("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=qa")]);
    assert_eq!(
        c.sampler,
        SamplerConfig::ParentBasedAlwaysOn,
        "unknown profiles keep the default"
    );
}

#[test]
fn propagators() {
    let (c, w) = resolve(&[("OTEL_PROPAGATORS", "baggage, tracecontext")]);
    assert!(w.is_empty());
    assert_eq!(
        c.propagators,
        vec![PropagatorKind::Baggage, PropagatorKind::TraceContext]
    );
    let (c, _) = resolve(&[("OTEL_PROPAGATORS", "none")]);
    assert!(c.propagators.is_empty());
    #[cfg(not(feature = "b3"))]
    {
        let (c, w) = resolve(&[("OTEL_PROPAGATORS", "tracecontext,b3")]);
        assert_eq!(c.propagators, vec![PropagatorKind::TraceContext]);
        warned(
            &w,
            "OTEL_PROPAGATORS",
            "tracecontext,b3",
            "the other listed propagators",
        );
        assert!(w[0].reason.contains("`b3` feature"), "{}", w[0].reason);
    }
    #[cfg(feature = "b3")]
    {
        let (c, w) = resolve(&[("OTEL_PROPAGATORS", "tracecontext,b3,b3multi")]);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(
            c.propagators,
            vec![
                PropagatorKind::TraceContext,
                PropagatorKind::B3,
                PropagatorKind::B3Multi
            ]
        );
    }
    let (c, w) = resolve(&[("OTEL_PROPAGATORS", "tracecontext,jaeger")]);
    assert_eq!(c.propagators, vec![PropagatorKind::TraceContext]);
    warned(
        &w,
        "OTEL_PROPAGATORS",
        "tracecontext,jaeger",
        "the other listed propagators",
    );
    assert!(w[0].reason.contains("not supported"), "{}", w[0].reason);
    let (_, w) = resolve(&[("OTEL_PROPAGATORS", "w3c")]);
    assert!(w[0].reason.contains("unknown propagator"), "{}", w[0].reason);
}

#[test]
fn exporters() {
    let (c, w) = resolve(&[
        ("OTEL_TRACES_EXPORTER", "otlp,console"),
        ("OTEL_METRICS_EXPORTER", "prometheus"),
        ("OTEL_LOGS_EXPORTER", "console"),
    ]);
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(
        c.traces_exporters,
        vec![ExporterKind::Otlp, ExporterKind::Console]
    );
    assert_eq!(c.metrics_exporters, vec![MetricsExporterKind::Prometheus]);
    assert_eq!(c.logs_exporters, vec![ExporterKind::Console]);

    let (c, _) = resolve(&[
        ("OTEL_TRACES_EXPORTER", "none"),
        ("OTEL_METRICS_EXPORTER", "none"),
    ]);
    assert!(c.traces_exporters.is_empty() && c.metrics_exporters.is_empty());

    let (c, w) = resolve(&[("OTEL_TRACES_EXPORTER", "zipkin")]);
    assert_eq!(
        c.traces_exporters,
        vec![ExporterKind::Console],
        "falls back to the default"
    );
    warned(
        &w,
        "OTEL_TRACES_EXPORTER",
        "zipkin",
        "the other listed exporters (or the default)",
    );
    let (c, w) = resolve(&[("OTEL_TRACES_EXPORTER", "prometheus")]);
    assert_eq!(
        c.traces_exporters,
        vec![ExporterKind::Console],
        "prometheus is for metrics only"
    );
    assert_eq!(w.len(), 1);
    assert!(w[0].reason.contains("metrics only"), "{}", w[0].reason);
    let (c, w) = resolve(&[("OTEL_LOGS_EXPORTER", "prometheus,console")]);
    assert_eq!(c.logs_exporters, vec![ExporterKind::Console]);
    warned(
        &w,
        "OTEL_LOGS_EXPORTER",
        "prometheus,console",
        "the other listed exporters (or the default)",
    );

    // A configured endpoint makes OTLP the default for every signal.
    let (c, _) = resolve(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")]);
    assert_eq!(c.traces_exporters, vec![ExporterKind::Otlp]);
    assert_eq!(c.metrics_exporters, vec![MetricsExporterKind::Otlp]);
    assert_eq!(c.logs_exporters, vec![ExporterKind::Otlp]);
    let (c, _) = resolve(&[(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "http://collector:4318/v1/traces",
    )]);
    assert_eq!(c.traces_exporters, vec![ExporterKind::Otlp]);
    assert_eq!(c.metrics_exporters, vec![MetricsExporterKind::Console]);
}

#[test]
fn otlp_endpoints_protocols_and_per_signal_overrides() {
    let (c, w) = resolve(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")]);
    assert!(w.is_empty());
    assert_eq!(c.otlp_traces.endpoint, "http://collector:4318/v1/traces");
    assert_eq!(c.otlp_metrics.endpoint, "http://collector:4318/v1/metrics");
    assert_eq!(c.otlp_logs.endpoint, "http://collector:4318/v1/logs");
    assert!(c.otlp_traces.endpoint_configured);

    let (c, _) = resolve(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
    ]);
    assert_eq!(c.otlp_traces.protocol, Protocol::Grpc);
    assert_eq!(
        c.otlp_traces.endpoint, "http://collector:4317",
        "gRPC endpoints are used as given"
    );

    let (c, _) = resolve(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]);
    assert_eq!(c.otlp_logs.endpoint, "http://localhost:4317");

    let (c, _) = resolve(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://generic:4318"),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:9999/custom"),
        ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "1500"),
    ]);
    assert_eq!(
        c.otlp_traces.endpoint, "http://traces:9999/custom",
        "signal endpoints are used as is"
    );
    assert_eq!(c.otlp_metrics.protocol, Protocol::Grpc);
    assert_eq!(c.otlp_metrics.endpoint, "http://generic:4318");
    assert_eq!(c.otlp_logs.timeout, Duration::from_millis(1500));
    assert_eq!(c.otlp_traces.timeout, Duration::from_secs(10));

    let (c, w) = resolve(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")]);
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(c.otlp_traces.protocol, Protocol::HttpJson);
    assert_eq!(c.otlp_traces.endpoint, "http://localhost:4318/v1/traces");

    let (c, w) = resolve(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/thrift")]);
    assert_eq!(c.otlp_traces.protocol, Protocol::HttpProtobuf);
    warned(&w, "OTEL_EXPORTER_OTLP_PROTOCOL", "http/thrift", "http/protobuf");
    assert_eq!(
        w.iter()
            .filter(|w| w.variable == "OTEL_EXPORTER_OTLP_PROTOCOL")
            .count(),
        1,
        "a generic variable read for three signals warns once: {w:?}"
    );

    let (c, w) = resolve(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318")]);
    assert_eq!(c.otlp_traces.endpoint, "http://localhost:4318/v1/traces");
    warned(
        &w,
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "collector:4318",
        "http://localhost:4318/v1/traces",
    );
}

#[test]
fn otlp_headers_compression_and_timeout() {
    let (c, w) = resolve(&[
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            "x-honeycomb-team=abc%20123, x-dataset=prod",
        ),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
    ]);
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(
        c.otlp_metrics.headers,
        vec![
            ("x-honeycomb-team".into(), "abc 123".into()),
            ("x-dataset".into(), "prod".into())
        ]
    );
    assert_eq!(c.otlp_logs.compression, Compression::Gzip);
    assert_eq!(c.otlp_traces.timeout, Duration::from_millis(2500));

    let (c, w) = resolve(&[
        ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=secret"),
        ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "k=v"),
    ]);
    assert!(w.is_empty());
    assert_eq!(
        c.otlp_traces.headers,
        vec![("k".into(), "v".into())],
        "the signal variable replaces the generic one"
    );
    assert_eq!(c.otlp_logs.headers, vec![("api-key".into(), "secret".into())]);

    for bad in ["novalue", "bad header=x", "k=line%0Abreak"] {
        let (c, w) = resolve(&[("OTEL_EXPORTER_OTLP_HEADERS", bad)]);
        assert!(c.otlp_traces.headers.is_empty(), "{bad}");
        warned(&w, "OTEL_EXPORTER_OTLP_HEADERS", "<redacted>", "no headers");
        assert!(
            !w.iter().any(|w| w.value.contains(bad)),
            "header values are never echoed"
        );
    }

    let (c, w) = resolve(&[("OTEL_EXPORTER_OTLP_COMPRESSION", "brotli")]);
    assert_eq!(c.otlp_traces.compression, Compression::None);
    warned(&w, "OTEL_EXPORTER_OTLP_COMPRESSION", "brotli", "none");

    let (c, w) = resolve(&[("OTEL_EXPORTER_OTLP_TIMEOUT", "10s")]);
    assert_eq!(c.otlp_traces.timeout, Duration::from_secs(10));
    warned(&w, "OTEL_EXPORTER_OTLP_TIMEOUT", "10s", "10000 ms");
}

#[test]
fn batch_processor_variables() {
    let (c, w) = resolve(&[
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ("OTEL_BSP_EXPORT_TIMEOUT", "2000"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "10"),
        ("OTEL_BLRP_SCHEDULE_DELAY", "50"),
    ]);
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(
        c.span_batch,
        BatchConfig {
            max_queue_size: 100,
            scheduled_delay: Duration::from_millis(100),
            max_export_batch_size: 10,
            export_timeout: Duration::from_millis(2000),
        }
    );
    assert_eq!(c.log_batch.scheduled_delay, Duration::from_millis(50));

    let (c, w) = resolve(&[("OTEL_BSP_MAX_QUEUE_SIZE", "0")]);
    assert_eq!(
        c.span_batch.max_queue_size, 131_072,
        "our default, not the spec's 2048"
    );
    warned(&w, "OTEL_BSP_MAX_QUEUE_SIZE", "0", "131072");

    let (c, w) = resolve(&[("OTEL_BSP_MAX_QUEUE_SIZE", "2048")]);
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(c.span_batch.max_queue_size, 2048, "an explicit value wins");
    assert_eq!(c.log_batch.max_queue_size, 2048, "logs keep the spec's default");

    let (c, w) = resolve(&[
        ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "512"),
    ]);
    assert_eq!(c.span_batch.max_export_batch_size, 100, "clamped to the queue");
    warned(&w, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "512", "100");

    let (c, w) = resolve(&[("OTEL_BSP_SCHEDULE_DELAY", "-5")]);
    assert_eq!(c.span_batch.scheduled_delay, Duration::from_secs(5));
    warned(&w, "OTEL_BSP_SCHEDULE_DELAY", "-5", "5000 ms");
}

#[test]
fn metric_export_interval_and_prometheus_address() {
    let (c, w) = resolve(&[
        ("OTEL_METRIC_EXPORT_INTERVAL", "1000"),
        ("OTEL_EXPORTER_PROMETHEUS_PORT", "9100"),
    ]);
    assert!(w.is_empty());
    assert_eq!(c.metric_export_interval, Duration::from_secs(1));
    assert_eq!(c.prometheus_address.1, 9100);

    let (c, w) = resolve(&[("OTEL_METRIC_EXPORT_INTERVAL", "soon")]);
    assert_eq!(c.metric_export_interval, Duration::from_secs(60));
    warned(&w, "OTEL_METRIC_EXPORT_INTERVAL", "soon", "60000 ms");

    let (c, w) = resolve(&[("OTEL_METRIC_EXPORT_INTERVAL", "0")]);
    assert_eq!(c.metric_export_interval, Duration::from_secs(60));
    warned(&w, "OTEL_METRIC_EXPORT_INTERVAL", "0", "60000 ms");

    let (_, w) = resolve(&[("OTEL_EXPORTER_PROMETHEUS_PORT", "99999")]);
    warned(&w, "OTEL_EXPORTER_PROMETHEUS_PORT", "99999", "9464");
}

#[test]
fn warnings_say_variable_value_and_fallback() {
    let (_, w) = resolve(&[
        ("OTEL_TRACES_SAMPLER_ARG", "2"),
        ("OTEL_TRACES_SAMPLER", "traceidratio"),
    ]);
    assert_eq!(
        w[0].to_string(),
        "OTEL_TRACES_SAMPLER_ARG=\"2\" is invalid (expected a probability between 0.0 and 1.0); using 1.0"
    );
}

#[test]
fn tail_sampling_is_off_by_default_and_read_from_our_variables() {
    let (c, _) = resolve(&[]);
    assert_eq!(c.tail_sampling, TailSamplingConfig::DISABLED);
    let (c, w) = resolve(&[
        ("OTEL_TOOLKIT_TAIL_SAMPLING", "on"),
        ("OTEL_TOOLKIT_TAIL_SAMPLING_LATENCY_THRESHOLD_MS", "250"),
        ("OTEL_TOOLKIT_TAIL_SAMPLING_MAX_SPANS", "1000"),
        ("OTEL_TOOLKIT_TAIL_SAMPLING_MAX_TRACES", "100"),
        ("OTEL_TOOLKIT_TAIL_SAMPLING_DECISION_TIMEOUT_MS", "5000"),
    ]);
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(
        c.tail_sampling,
        TailSamplingConfig {
            enabled: true,
            latency_threshold: Duration::from_millis(250),
            max_spans: 1000,
            max_traces: 100,
            decision_timeout: Duration::from_secs(5),
        }
    );
}

#[test]
fn invalid_tail_sampling_values_warn_and_fall_back() {
    let (c, w) = resolve(&[
        ("OTEL_TOOLKIT_TAIL_SAMPLING", "yes please"),
        ("OTEL_TOOLKIT_TAIL_SAMPLING_LATENCY_THRESHOLD_MS", "1s"),
        ("OTEL_TOOLKIT_TAIL_SAMPLING_MAX_SPANS", "0"),
        ("OTEL_TOOLKIT_TAIL_SAMPLING_MAX_TRACES", "-3"),
        ("OTEL_TOOLKIT_TAIL_SAMPLING_DECISION_TIMEOUT_MS", "0"),
    ]);
    assert_eq!(c.tail_sampling, TailSamplingConfig::DISABLED);
    warned(&w, "OTEL_TOOLKIT_TAIL_SAMPLING", "yes please", "off");
    warned(
        &w,
        "OTEL_TOOLKIT_TAIL_SAMPLING_LATENCY_THRESHOLD_MS",
        "1s",
        "1000 ms",
    );
    warned(&w, "OTEL_TOOLKIT_TAIL_SAMPLING_MAX_SPANS", "0", "32768");
    warned(&w, "OTEL_TOOLKIT_TAIL_SAMPLING_MAX_TRACES", "-3", "4096");
    warned(
        &w,
        "OTEL_TOOLKIT_TAIL_SAMPLING_DECISION_TIMEOUT_MS",
        "0",
        "30000 ms",
    );
}
