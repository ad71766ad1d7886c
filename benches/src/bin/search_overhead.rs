//! Overhead on real work: the `search_backend` example's request path (bearer-token
//! lookup and query log in SQLite, the answer cache, and on a cache miss the embeddings
//! and chat APIs over loopback HTTP, a vector search and the media lookup), with
//! telemetry off and on.
//!
//! ```sh
//! pip install rotel==0.0.1a15      # the local collector of the exporting modes
//! cargo build --release -p otel-benches --bin search_overhead
//! # Instructions per request (callgrind counts every thread of the process):
//! for mode in off recording full production; do
//!   for n in 200 600; do
//!     valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.$mode.$n \
//!       target/release/search_overhead $mode $n
//!   done
//! done
//! # Ir/request = (Ir(600) - Ir(200)) / 400, Ir from each file's "summary:" line
//! # Requests per second, processes alternating off/on, medians of 5 rounds:
//! target/release/search_overhead wall 5 2000
//! ```
//!
//! MODE sets the variables a deployment would (read through `Telemetry::builder().env`,
//! so the machine's own `OTEL_*` do not leak in):
//!
//! - `off`: `OTEL_SDK_DISABLED=true`;
//! - `recording`: every trace sampled (the default sampler), spans and metrics
//!   recorded, no exporter (`OTEL_TRACES_EXPORTER=none`, `OTEL_METRICS_EXPORTER=none`):
//!   the cost of instrumenting, without the cost of shipping;
//! - `full`: every trace sampled, batch export over OTLP/HTTP to a local rotel collector
//!   started by the program; at the end the spans exported (`telemetry_status()`),
//!   dropped, and counted by the collector are printed, so a run that dropped spans
//!   shows it;
//! - `production`: `deployment.environment.name=production` (parent-based 10 %
//!   sampling) and the same OTLP export.
//!
//! Requests go through the router in-process (`tower::Service::call`), so the figures
//! hold the backend's work and not a load generator's; the backend's calls to its two
//! APIs are real loopback HTTP through the instrumented reqwest client. Question `i` is
//! `belt ranks {i / 2}`: every other request misses the cache and runs the whole
//! pipeline (16 spans), the next one hits it (6 spans).

use std::collections::HashMap;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::Router;
use http::Request;
use otel_examples::search_backend::Backend;
use otel_tests::Collector;

/// Spans of a request that misses the cache, and of one that hits it.
const MISS_SPANS: u64 = 16;
const HIT_SPANS: u64 = 6;
/// Requests before the timed ones in `wall`: connections, caches, allocator warm.
const WARM_UP: usize = 200;
const MODES: [&str; 4] = ["off", "recording", "full", "production"];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: usize| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default);
    match args.first().map(String::as_str) {
        Some("wall") => wall(number(1, 5), number(2, 2000)),
        Some(mode) if MODES.contains(&mode) => {
            let timed = args.iter().any(|a| a == "--timed");
            run(mode, number(1, 200), timed)
        }
        _ => {
            eprintln!("usage: search_overhead (off|recording|full|production) [REQUESTS] [--timed] | wall [ROUNDS] [REQUESTS]");
            ExitCode::from(2)
        }
    }
}

/// The variables a deployment would set for `mode`.
fn environment(mode: &str, collector: Option<&Collector>) -> HashMap<&'static str, String> {
    let mut env = HashMap::new();
    match mode {
        "off" => {
            env.insert("OTEL_SDK_DISABLED", "true".to_owned());
        }
        "recording" => {
            env.insert("OTEL_TRACES_EXPORTER", "none".to_owned());
            env.insert("OTEL_METRICS_EXPORTER", "none".to_owned());
        }
        _ => {
            if let Some(collector) = collector {
                env.insert("OTEL_EXPORTER_OTLP_ENDPOINT", collector.http_endpoint());
            }
            if mode == "production" {
                env.insert(
                    "OTEL_RESOURCE_ATTRIBUTES",
                    "deployment.environment.name=production".to_owned(),
                );
            }
        }
    }
    env.insert("OTEL_SERVICE_NAME", format!("search-overhead-{mode}"));
    env
}

/// One mode in this process: `requests` requests (after a warm-up when `timed`), then
/// the counts; with `timed`, the requests per second on the last line.
fn run(mode: &str, requests: usize, timed: bool) -> ExitCode {
    let collector = matches!(mode, "full" | "production").then(Collector::start_counting);
    let env = environment(mode, collector.as_ref());
    let guard = match otel_core::Telemetry::builder()
        .env(move |name| env.get(name).cloned())
        .quiet(true)
        .init()
    {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("init: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        let backend = Backend::start().await?;
        let warm_up = if timed { WARM_UP } else { 0 };
        // Warm-up questions are their own, so the timed ones miss the cache as planned.
        for i in 0..warm_up {
            search(&backend.router, &format!("warm up {}", i / 2)).await?;
        }
        let started = Instant::now();
        for i in 0..requests {
            search(&backend.router, &format!("belt ranks {}", i / 2)).await?;
        }
        let elapsed = started.elapsed();
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>((elapsed, warm_up + requests))
    });
    drop(runtime);
    let (elapsed, sent) = match outcome {
        Ok(outcome) => outcome,
        Err(e) => {
            eprintln!("{mode}: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Counts are read after a flush and before the shutdown, which uninstalls them.
    if let Err(e) = otel_core::force_flush(Duration::from_secs(30)) {
        eprintln!("{mode}: flush: {e}");
        return ExitCode::FAILURE;
    }
    let status = otel_core::telemetry_status().traces;
    if let Err(e) = guard.shutdown() {
        eprintln!("{mode}: shutdown: {e}");
        return ExitCode::FAILURE;
    }
    let misses = sent.div_ceil(2) as u64;
    let expected = misses * MISS_SPANS + (sent as u64 - misses) * HIT_SPANS;
    print!("{mode} requests={sent}");
    if let Some(collector) = &collector {
        let received = collector.wait_for_span_count(status.exported, Duration::from_secs(30));
        print!(
            " spans_if_all_sampled={expected} exported={} dropped={} failed_exports={} collector_received={received}",
            status.exported, status.dropped, status.failed_exports
        );
        if mode == "full" && (status.exported != expected || received != expected) {
            println!();
            eprintln!("full: expected {expected} spans exported and received");
            return ExitCode::FAILURE;
        }
    }
    println!();
    if timed {
        println!("rps {:.1}", requests as f64 / elapsed.as_secs_f64());
    }
    ExitCode::SUCCESS
}

/// One search through the router, in-process.
async fn search(router: &Router, question: &str) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    use tower::Service as _;

    let request = Request::get(format!("/search?q={}", question.replace(' ', "+")))
        .header("authorization", "Bearer tok-alice")
        .body(Body::empty())?;
    let mut router = router.clone();
    std::future::poll_fn(|cx| tower::Service::<Request<Body>>::poll_ready(&mut router, cx)).await?;
    let response = router.call(request).await?;
    if !response.status().is_success() {
        return Err(format!("{question}: HTTP {}", response.status()).into());
    }
    // The body is read to the end, as a client would, so the SERVER span ends.
    axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    Ok(())
}

/// Alternates processes of every mode `rounds` times and prints each mode's median
/// requests per second and its ratio to `off`.
fn wall(rounds: usize, requests: usize) -> ExitCode {
    let Ok(me) = std::env::current_exe() else {
        eprintln!("cannot find this program's path");
        return ExitCode::FAILURE;
    };
    let mut rates: HashMap<&str, Vec<f64>> = HashMap::new();
    for round in 0..rounds {
        for mode in MODES {
            let output = Command::new(&me)
                .args([mode, &requests.to_string(), "--timed"])
                .output();
            let rate = output.ok().and_then(|o| {
                let text = String::from_utf8_lossy(&o.stdout).into_owned();
                text.lines()
                    .find_map(|l| l.strip_prefix("rps ").and_then(|r| r.parse::<f64>().ok()))
            });
            match rate {
                Some(rate) => {
                    println!("round {} {mode:<10} {rate:>8.1} requests/s", round + 1);
                    rates.entry(mode).or_default().push(rate);
                }
                None => {
                    eprintln!("{mode}: the run failed");
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    let median = |mode: &str| {
        let mut values = rates.get(mode).cloned().unwrap_or_default();
        values.sort_by(f64::total_cmp);
        values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let off = median("off");
    for mode in MODES {
        let rate = median(mode);
        println!(
            "median {mode:<10} {rate:>8.1} requests/s  {:>6.1} % of off",
            100.0 * rate / off
        );
    }
    ExitCode::SUCCESS
}
