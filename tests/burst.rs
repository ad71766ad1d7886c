//! A burst of 100,000 spans ended right before the guard drops, with the default
//! settings of `otel_core::init()`: every span reaches a real collector, none is
//! dropped, and the span queue takes memory only while spans wait in it (`init` does
//! not preallocate it).

use std::time::{Duration, Instant};

use otel_tests::{Collector, RECEIVE_TIMEOUT};

const SPANS: u64 = 100_000;

/// What `init()` may add to the resident set: the export runtime, the export thread and
/// the exporters. A queue preallocated for the default cap would add tens of MiB.
const IDLE_GROWTH_BOUND_KIB: u64 = 16 * 1024;

#[test]
fn a_burst_ended_before_shutdown_arrives_whole() {
    let collector = Collector::start_counting();
    // Default settings: only the destination and a name come from the environment.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("OTEL_") {
            std::env::remove_var(name);
        }
    }
    std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", collector.http_endpoint());
    std::env::set_var("OTEL_SERVICE_NAME", "burst");

    let before_init = rss_kib();
    let guard = otel_core::init().expect("init");
    let after_init = rss_kib();
    let idle_growth = after_init.saturating_sub(before_init);

    let started = Instant::now();
    for _ in 0..SPANS {
        otel_core::in_span("burst", || {});
    }
    let ending = started.elapsed();
    let after_burst = rss_kib();
    let traces = otel_core::telemetry_status().traces;

    let started = Instant::now();
    let shutdown = guard.shutdown();
    let shutting_down = started.elapsed();
    let after_shutdown = rss_kib();
    let received = collector.wait_for_span_count(SPANS, RECEIVE_TIMEOUT);
    // Anything still in flight would show up now, and must not.
    std::thread::sleep(Duration::from_millis(200));
    let received = received.max(collector.span_count());

    eprintln!(
        "burst of {SPANS} spans: ended in {ending:?}, shutdown took {shutting_down:?}, \
         collector received {received}; status: {traces:?}; RSS KiB: before init \
         {before_init}, after init {after_init} (+{idle_growth}), after the burst \
         {after_burst}, after shutdown {after_shutdown}"
    );
    shutdown.expect("shutdown delivers the queue within the export timeout");
    assert_eq!(traces.dropped, 0, "nothing dropped: {traces:?}");
    assert_eq!(received, SPANS, "every span exactly once");
    if cfg!(target_os = "linux") {
        assert!(
            idle_growth < IDLE_GROWTH_BOUND_KIB,
            "init grew the resident set by {idle_growth} KiB: is the queue preallocated?"
        );
    }
}

/// The resident set of this process in KiB (`VmRSS`), 0 where `/proc` is missing.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
