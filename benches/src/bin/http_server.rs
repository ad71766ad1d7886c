//! The server side of the loopback throughput measurement (`benches/wrk.sh`): axum's
//! hello-world `GET /users/{id}` on a current-thread tokio runtime, bare or under
//! `otel_tower::HttpServerLayer`.
//!
//! ```text
//! http_server CASE PORT [SECS]
//! ```
//! - `CASE`: `bare`, or `otel` (`HttpServerLayer` with traces and metrics: an SDK
//!   `BatchSpanProcessor` with its defaults — queue 2048, batch 512, own thread — into a
//!   discarding, counting exporter, `AlwaysOn` via the parent-based default, and an
//!   `SdkMeterProvider` whose `ManualReader` is never collected; the propagator `init()`
//!   installs), or
//!   `traces` / `metrics`: the same layer with only that signal on, to split the cost,
//!   or `hand`: the minimal hand-written raw-OpenTelemetry layer
//!   (`otel_benches::raw_layer`, one span and one histogram, ended at the headers) on
//!   the same pipeline, the reference the issue compares with.
//! - `PORT`: on 127.0.0.1 (0 picks one; the address is printed on stderr).
//! - `SECS`: shut down gracefully after this many seconds, flush, and print
//!   `[check] CASE: requests=N spans_exported=M` on stderr, so a throughput figure can
//!   be checked against what was really exported. Without it, serve until killed.
//!
//! `PERF_BATCH_QUEUE` overrides the batch queue size.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use opentelemetry::global;
use opentelemetry_sdk::metrics::{ManualReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider};
use otel_benches::DiscardExporter;

const USAGE: &str = "usage: http_server bare|otel|traces|metrics|hand PORT [SECS]";

static REQUESTS: AtomicU64 = AtomicU64::new(0);

#[derive(Clone, Copy)]
enum Case {
    Bare,
    Otel,
    Traces,
    Metrics,
    Hand,
}

impl Case {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "bare" => Self::Bare,
            "otel" => Self::Otel,
            "traces" => Self::Traces,
            "metrics" => Self::Metrics,
            "hand" => Self::Hand,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::Bare => "bare",
            Self::Otel => "otel",
            Self::Traces => "traces",
            Self::Metrics => "metrics",
            Self::Hand => "hand",
        }
    }
}

struct Args {
    case: Case,
    port: u16,
    secs: Option<u64>,
}

fn parse_args() -> Result<Args, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let first = args.first().map(String::as_str);
    let Some(case) = first.and_then(Case::parse) else {
        return Err(format!("unknown CASE {first:?}; {USAGE}"));
    };
    let port = match args.get(1) {
        Some(p) => p.parse().map_err(|e| format!("PORT {p:?}: {e}; {USAGE}"))?,
        None => return Err(format!("missing PORT; {USAGE}")),
    };
    let secs = match args.get(2) {
        Some(s) => Some(s.parse().map_err(|e| format!("SECS {s:?}: {e}; {USAGE}"))?),
        None => None,
    };
    Ok(Args { case, port, secs })
}

/// The global providers of the `otel` case, and the exporter's count.
struct Pipeline {
    tracer: SdkTracerProvider,
    meter: SdkMeterProvider,
    exporter: DiscardExporter,
}

fn install_pipeline() -> Result<Pipeline, String> {
    let exporter = DiscardExporter::default();
    let mut config = BatchConfigBuilder::default();
    if let Ok(queue) = std::env::var("PERF_BATCH_QUEUE") {
        let queue = queue
            .parse()
            .map_err(|e| format!("PERF_BATCH_QUEUE {queue:?}: {e}"))?;
        config = config.with_max_queue_size(queue);
    }
    let processor = BatchSpanProcessor::builder(exporter.clone())
        .with_batch_config(config.build())
        .build();
    let tracer = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .build();
    let meter = SdkMeterProvider::builder()
        .with_reader(ManualReader::builder().build())
        .build();
    global::set_tracer_provider(tracer.clone());
    global::set_meter_provider(meter.clone());
    // The propagator `init()` installs, as users run it.
    global::set_text_map_propagator(otel_core::propagation::Propagator::default());
    Ok(Pipeline {
        tracer,
        meter,
        exporter,
    })
}

fn app(case: Case) -> Router {
    let router = Router::new().route(
        "/users/{id}",
        get(|Path(id): Path<u64>| async move {
            REQUESTS.fetch_add(1, Ordering::Relaxed);
            format!("user {id}")
        }),
    );
    let layer = otel_tower::HttpServerLayer::new;
    match case {
        Case::Bare => router,
        Case::Otel => router.layer(layer()),
        Case::Traces => router.layer(layer().metrics(false)),
        Case::Metrics => router.layer(layer().traces(false)),
        Case::Hand => router.layer(otel_benches::raw_layer::RawLayer::new()),
    }
}

fn main() -> Result<(), String> {
    let args = parse_args()?;
    let pipeline = match args.case {
        Case::Bare => None,
        _ => Some(install_pipeline()?),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
            .await
            .map_err(|e| format!("bind 127.0.0.1:{}: {e}", args.port))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        eprintln!("http_server {}: listening on http://{addr}", args.case.name());
        let serve = axum::serve(listener, app(args.case));
        let result = match args.secs {
            Some(secs) => {
                serve
                    .with_graceful_shutdown(tokio::time::sleep(Duration::from_secs(secs)))
                    .await
            }
            None => serve.await,
        };
        result.map_err(|e| format!("serve: {e}"))
    })?;
    let exported = match &pipeline {
        Some(p) => {
            p.tracer.force_flush().map_err(|e| format!("flush: {e}"))?;
            let exported = p.exporter.exported();
            let _ = p.tracer.shutdown();
            let _ = p.meter.shutdown();
            exported.to_string()
        }
        None => "-".to_owned(),
    };
    eprintln!(
        "[check] {}: requests={} spans_exported={exported}",
        args.case.name(),
        REQUESTS.load(Ordering::Relaxed)
    );
    Ok(())
}
