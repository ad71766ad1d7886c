//! `#[instrumented]` and `in_span_with` side by side with their peers, as instructions
//! per call under callgrind (all threads, so the batch processor's export thread counts).
//!
//! Every case records 2 attributes from a call `f(x: u64, name: &str)`: the integer and
//! the borrowed string (not `'static`, so recording it copies it as hand-written code
//! must). Sampled cases use the SDK `BatchSpanProcessor` with a queue of 262,144 into a
//! discarding exporter, and the run fails unless every span started was exported.
//!
//! ```sh
//! cargo build --profile bench -p otel-benches --bin ir_macros
//! target/release/ir_macros          # runs every case under valgrind, prints the table
//! target/release/ir_macros CASE N   # one case, N calls, without valgrind
//! ```
//!
//! The driver runs each case in its own process (the providers are process globals) at
//! two call counts and reports ΔIr / ΔN, so start-up and first-call caching cancel out.
//! `VALGRIND` overrides the valgrind command, `IR_CASES` (comma-separated) picks cases.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use opentelemetry::global::{self, BoxedTracer};
use opentelemetry::trace::{Span as _, TraceContextExt as _, Tracer, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::metrics::{ManualReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracerProvider};
use otel_benches::{work, DiscardExporter};
use otel_core::config::SamplerConfig;
use tracing_subscriber::layer::SubscriberExt as _;

/// Heap allocations, to show which cases allocate per call.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator unchanged; the counter has no effect on it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Large enough that nothing is dropped even when valgrind slows the export thread.
const QUEUE: usize = 262_144;

// ---------------------------------------------------------------------------------------
// The measured functions.

#[otel_core::instrumented(metrics = false)]
#[inline(never)]
fn instrumented(x: u64, name: &str) -> u64 {
    work(x) + name.len() as u64
}

#[otel_core::instrumented]
#[inline(never)]
fn instrumented_metrics(x: u64, name: &str) -> u64 {
    work(x) + name.len() as u64
}

#[tracing::instrument]
#[inline(never)]
fn tracing_instrument(x: u64, name: &str) -> u64 {
    work(x) + name.len() as u64
}

#[inline(never)]
fn bare(x: u64, name: &str) -> u64 {
    work(x) + name.len() as u64
}

/// What the macro does, written by hand: a span with the 2 attributes, current while
/// the body runs, ended after.
#[inline(never)]
fn raw<T>(tracer: &T, x: u64, name: &str) -> u64
where
    T: Tracer,
    T::Span: Send + Sync + 'static,
{
    let span = tracer
        .span_builder("raw")
        .with_attributes([
            KeyValue::new("x", x as i64),
            KeyValue::new("name", name.to_owned()),
        ])
        .start(tracer);
    let cx = Context::current_with_span(span);
    let _current = cx.clone().attach();
    let out = work(x) + name.len() as u64;
    cx.span().end();
    out
}

/// The no-op tracer's cheapest use: a span that nothing can see is not made current.
#[inline(never)]
fn raw_detached(tracer: &BoxedTracer, x: u64, name: &str) -> u64 {
    let mut span = tracer
        .span_builder("raw")
        .with_attributes([
            KeyValue::new("x", x as i64),
            KeyValue::new("name", name.to_owned()),
        ])
        .start(tracer);
    let out = work(x) + name.len() as u64;
    span.end();
    out
}

#[inline(never)]
fn in_span_with(x: u64, name: &str) -> u64 {
    otel_core::in_span_with(
        "in_span_with",
        [
            KeyValue::new("x", x as i64),
            KeyValue::new("name", name.to_owned()),
        ],
        || work(x) + name.len() as u64,
    )
}

// ---------------------------------------------------------------------------------------
// Pipelines.

fn batch(exporter: &DiscardExporter) -> BatchSpanProcessor {
    BatchSpanProcessor::builder(exporter.clone())
        .with_batch_config(BatchConfigBuilder::default().with_max_queue_size(QUEUE).build())
        .build()
}

/// A tracer provider installed by the user in `opentelemetry::global`, no `init()`.
fn user_provider(exporter: &DiscardExporter, sampler: Sampler) -> SdkTracerProvider {
    let provider = SdkTracerProvider::builder()
        .with_span_processor(batch(exporter))
        .with_sampler(sampler)
        .build();
    global::set_tracer_provider(provider.clone());
    provider
}

fn user_meter_provider() -> SdkMeterProvider {
    let provider = SdkMeterProvider::builder()
        .with_reader(ManualReader::builder().build())
        .build();
    global::set_meter_provider(provider.clone());
    provider
}

fn init(exporter: &DiscardExporter, sampler: SamplerConfig) -> otel_core::TelemetryGuard {
    otel_core::Telemetry::builder()
        .env(|_| None)
        .traces_exporters([])
        .metrics_exporters([])
        .logs_exporters([])
        .quiet(true)
        .sampler(sampler)
        .with_metric_reader(ManualReader::builder().build())
        .with_span_processor(batch(exporter))
        .init()
        .expect("a pipeline without exporters starts")
}

/// One case of the table.
struct Case {
    name: &'static str,
    label: &'static str,
    /// The case this one is compared with, if any.
    reference: Option<&'static str>,
    /// Spans each call must export.
    exports: bool,
}

const CASES: &[Case] = &[
    Case {
        name: "bare",
        label: "bare call",
        reference: None,
        exports: false,
    },
    Case {
        name: "raw_global",
        label: "raw OTel, global tracer (kept), batch, made current",
        reference: None,
        exports: true,
    },
    Case {
        name: "raw_sdk",
        label: "raw OTel, SdkTracer, batch, made current",
        reference: None,
        exports: true,
    },
    Case {
        name: "instrumented_global",
        label: "#[instrumented], global provider, metrics off",
        reference: Some("raw_global"),
        exports: true,
    },
    Case {
        name: "instrumented_global_metrics",
        label: "#[instrumented], global providers, metrics on",
        reference: Some("raw_global"),
        exports: true,
    },
    Case {
        name: "instrumented_init",
        label: "#[instrumented], init(), metrics off",
        reference: Some("raw_global"),
        exports: true,
    },
    Case {
        name: "instrumented_init_metrics",
        label: "#[instrumented], init(), metrics on",
        reference: Some("raw_global"),
        exports: true,
    },
    Case {
        name: "in_span_with_init",
        label: "in_span_with, init()",
        reference: Some("raw_global"),
        exports: true,
    },
    Case {
        name: "in_span_with_global",
        label: "in_span_with, global provider",
        reference: Some("raw_global"),
        exports: true,
    },
    Case {
        name: "tracing_otel",
        label: "tracing::instrument + tracing-opentelemetry, batch",
        reference: Some("raw_global"),
        exports: true,
    },
    Case {
        name: "instrumented_no_provider",
        label: "#[instrumented], no provider installed",
        reference: Some("bare"),
        exports: false,
    },
    Case {
        name: "instrumented_metrics_no_provider",
        label: "#[instrumented] with metrics, no provider",
        reference: Some("bare"),
        exports: false,
    },
    Case {
        name: "raw_noop",
        label: "raw OTel, no-op global tracer (kept), not made current",
        reference: Some("bare"),
        exports: false,
    },
    Case {
        name: "tracing_no_subscriber",
        label: "tracing::instrument, no subscriber",
        reference: Some("bare"),
        exports: false,
    },
    Case {
        name: "instrumented_disabled",
        label: "#[instrumented], OTEL_SDK_DISABLED",
        reference: Some("bare"),
        exports: false,
    },
    Case {
        name: "instrumented_unsampled_init",
        label: "#[instrumented], unsampled root (always_off), init()",
        reference: Some("raw_unsampled"),
        exports: false,
    },
    Case {
        name: "instrumented_unsampled_global",
        label: "#[instrumented], unsampled root (AlwaysOff), global",
        reference: Some("raw_unsampled"),
        exports: false,
    },
    Case {
        name: "raw_unsampled",
        label: "raw OTel, unsampled root (AlwaysOff), made current",
        reference: None,
        exports: false,
    },
];

/// Runs `n` calls of `case` and returns (spans that must be exported, spans exported).
fn run(case: &str, n: u64) -> Option<(u64, u64)> {
    let name = String::from("user-42");
    let name = name.as_str();
    let exporter = DiscardExporter::default();
    let mut sum = 0u64;
    let mut allocations = 0;
    let mut measure = |f: &mut dyn FnMut(u64) -> u64| {
        // One call first, so that lazily built caches are not counted as per-call heap use.
        sum = sum.wrapping_add(f(0));
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        for x in 1..=n {
            sum = sum.wrapping_add(f(black_box(x)));
        }
        allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    };
    let exported = match case {
        "bare" => {
            measure(&mut |x| bare(x, name));
            None
        }
        "raw_global"
        | "raw_sdk"
        | "instrumented_global"
        | "instrumented_global_metrics"
        | "in_span_with_global"
        | "tracing_otel" => {
            let provider = user_provider(&exporter, Sampler::AlwaysOn);
            let _meters = (case == "instrumented_global_metrics").then(user_meter_provider);
            match case {
                "raw_global" => {
                    let tracer = global::tracer("bench");
                    measure(&mut |x| raw(&tracer, x, name));
                }
                "raw_sdk" => {
                    let tracer = provider.tracer("bench");
                    measure(&mut |x| raw(&tracer, x, name));
                }
                "instrumented_global" => measure(&mut |x| instrumented(x, name)),
                "instrumented_global_metrics" => measure(&mut |x| instrumented_metrics(x, name)),
                "in_span_with_global" => measure(&mut |x| in_span_with(x, name)),
                _ => {
                    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("bench"));
                    let subscriber = tracing_subscriber::registry().with(layer);
                    tracing::subscriber::with_default(subscriber, || {
                        measure(&mut |x| tracing_instrument(x, name));
                    });
                }
            }
            provider.shutdown().expect("the batch processor shuts down");
            Some(exporter.exported())
        }
        "instrumented_init" | "instrumented_init_metrics" | "in_span_with_init" => {
            let guard = init(&exporter, SamplerConfig::AlwaysOn);
            match case {
                "instrumented_init" => measure(&mut |x| instrumented(x, name)),
                "instrumented_init_metrics" => measure(&mut |x| instrumented_metrics(x, name)),
                _ => measure(&mut |x| in_span_with(x, name)),
            }
            guard.shutdown().expect("the pipeline shuts down");
            Some(exporter.exported())
        }
        "instrumented_no_provider" => {
            measure(&mut |x| instrumented(x, name));
            None
        }
        "instrumented_metrics_no_provider" => {
            measure(&mut |x| instrumented_metrics(x, name));
            None
        }
        "raw_noop" => {
            let tracer = global::tracer("bench");
            measure(&mut |x| raw_detached(&tracer, x, name));
            None
        }
        "tracing_no_subscriber" => {
            measure(&mut |x| tracing_instrument(x, name));
            None
        }
        "instrumented_disabled" => {
            let _guard = otel_core::Telemetry::builder()
                .env(|_| None)
                .disabled(true)
                .quiet(true)
                .init()
                .expect("a disabled pipeline starts");
            measure(&mut |x| instrumented(x, name));
            None
        }
        "instrumented_unsampled_init" => {
            let guard = init(&exporter, SamplerConfig::AlwaysOff);
            measure(&mut |x| instrumented(x, name));
            guard.shutdown().expect("the pipeline shuts down");
            Some(exporter.exported())
        }
        "instrumented_unsampled_global" | "raw_unsampled" => {
            let provider = user_provider(&exporter, Sampler::AlwaysOff);
            if case == "raw_unsampled" {
                let tracer = global::tracer("bench");
                measure(&mut |x| raw(&tracer, x, name));
            } else {
                measure(&mut |x| instrumented(x, name));
            }
            provider.shutdown().expect("the batch processor shuts down");
            Some(exporter.exported())
        }
        _ => return None,
    };
    println!("case={case} n={n} sum={sum} allocations={allocations}");
    let expected = if CASES.iter().any(|c| c.name == case && c.exports) {
        n + 1
    } else {
        0
    };
    Some((expected, exported.unwrap_or(0)))
}

// ---------------------------------------------------------------------------------------
// The driver.

const N_SMALL: u64 = 4_000;
const N_LARGE: u64 = 24_000;

/// Total Ir of one run of `case` under callgrind, and its allocations per call.
fn callgrind(case: &str, n: u64) -> Result<(u64, u64), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = std::env::temp_dir().join(format!("ir_macros.{case}.{n}.{}", std::process::id()));
    let valgrind = std::env::var("VALGRIND").unwrap_or_else(|_| "valgrind".to_owned());
    let output = Command::new(&valgrind)
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(&exe)
        .arg(case)
        .arg(n.to_string())
        .output()
        .map_err(|e| format!("cannot run {valgrind}: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "{case} {n} failed: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let allocations = stdout
        .split_whitespace()
        .find_map(|w| w.strip_prefix("allocations="))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let text = std::fs::read_to_string(&out).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&out);
    let total = text
        .lines()
        .find_map(|l| l.strip_prefix("summary: ").or_else(|| l.strip_prefix("totals: ")))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("no total in the callgrind output of {case}"))?;
    Ok((total, allocations))
}

fn driver() -> Result<(), String> {
    let only: Option<Vec<String>> = std::env::var("IR_CASES")
        .ok()
        .map(|s| s.split(',').map(str::to_owned).collect());
    let mut results: Vec<(&Case, f64, f64)> = Vec::new();
    for case in CASES {
        if only.as_ref().is_some_and(|o| !o.iter().any(|c| c == case.name)) {
            continue;
        }
        let (small, _) = callgrind(case.name, N_SMALL)?;
        let (large, allocations) = callgrind(case.name, N_LARGE)?;
        let per_call = large.saturating_sub(small) as f64 / (N_LARGE - N_SMALL) as f64;
        let allocs = allocations as f64 / N_LARGE as f64;
        eprintln!("{:<36} {per_call:>9.0} Ir/call", case.name);
        results.push((case, per_call, allocs));
    }
    println!("| case | Ir/call | vs | ratio | heap allocations/call |");
    println!("|---|---:|---|---:|---:|");
    for (case, per_call, allocs) in &results {
        let reference = case
            .reference
            .and_then(|r| results.iter().find(|(c, _, _)| c.name == r));
        let (vs, ratio) = match reference {
            Some((r, base, _)) if r.name == "bare" => (r.name.to_owned(), format!("+{:.0}", per_call - base)),
            Some((r, base, _)) => (r.name.to_owned(), format!("{:.2}×", per_call / base)),
            None => (String::new(), String::new()),
        };
        println!(
            "| {} (`{}`) | {per_call:.0} | {vs} | {ratio} | {allocs:.2} |",
            case.label, case.name
        );
    }
    Ok(())
}

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(case) = args.next() else {
        if let Err(e) = driver() {
            eprintln!("{e}");
            std::process::exit(1);
        }
        return;
    };
    let n: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(N_SMALL);
    match run(&case, n) {
        None => {
            eprintln!("unknown case {case:?}");
            std::process::exit(2);
        }
        Some((expected, exported)) if expected != exported => {
            eprintln!("{case}: {exported} spans exported, {expected} started: some were dropped");
            std::process::exit(1);
        }
        Some(_) => {}
    }
}
