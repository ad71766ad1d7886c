//! Soak: a service emitting spans at a fixed rate through `otel_core::init()` with OTLP
//! to 127.0.0.1 while its collector is down, then hanging, then started mid-run.
//!
//! ```sh
//! pip install rotel==0.0.1a15      # the collector started in the last phase
//! cargo run --release -p otel-benches --bin soak -- [--seconds 30] [--rate 2000] [--protocol grpc|http] [--otlp-timeout-ms N]
//! ```
//!
//! Three phases of equal length on one endpoint: nothing listening (connections
//! refused), a listener that accepts and never answers (every export runs into the OTLP
//! timeout), and a real collector (rotel) started on that port. Per phase it prints the
//! cost of starting and of ending a span (every span is timed), the process RSS (from
//! `/proc/self/status`), spans dropped and exports failed (from
//! `otel_core::telemetry_status()`); and the time from the collector accepting
//! connections to the first successful export. Other settings come from the usual
//! `OTEL_*` variables (`OTEL_BSP_MAX_QUEUE_SIZE`, …), as in a service.

use std::io::Read as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use opentelemetry::global;
use opentelemetry::trace::{Span as _, Tracer as _};
use opentelemetry::KeyValue;
use otel_core::config::{ExporterKind, MetricsExporterKind, Protocol};
use otel_core::SignalStatus;

/// The counters and RSS now, where a phase starts.
fn snapshot() -> (SignalStatus, u64) {
    (otel_core::telemetry_status().traces, rss_kib())
}

struct Options {
    seconds: f64,
    rate: f64,
    protocol: Protocol,
    otlp_timeout: Option<Duration>,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        seconds: 30.0,
        rate: 2000.0,
        protocol: Protocol::Grpc,
        otlp_timeout: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--seconds" => options.seconds = value()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--rate" => options.rate = value()?.parse().map_err(|e| format!("--rate: {e}"))?,
            "--protocol" => {
                options.protocol = match value()?.as_str() {
                    "grpc" => Protocol::Grpc,
                    "http" | "http/protobuf" => Protocol::HttpProtobuf,
                    other => return Err(format!("--protocol: grpc or http, not {other:?}")),
                }
            }
            "--otlp-timeout-ms" => {
                let ms: u64 = value()?.parse().map_err(|e| format!("--otlp-timeout-ms: {e}"))?;
                options.otlp_timeout = Some(Duration::from_millis(ms));
            }
            _ => {
                return Err(String::from(
                    "usage: soak [--seconds 30] [--rate 2000] [--protocol grpc|http] [--otlp-timeout-ms N]",
                ))
            }
        }
    }
    if !(options.seconds > 0.0 && options.seconds <= 3600.0) {
        return Err(String::from("--seconds: between 0 and 3600"));
    }
    if !(options.rate > 0.0 && options.rate <= 1_000_000.0) {
        return Err(String::from("--rate: between 0 and 1,000,000 spans per second"));
    }
    Ok(options)
}

/// Resident set size of this process, in KiB.
fn rss_kib() -> u64 {
    let mut status = String::new();
    let read = std::fs::File::open("/proc/self/status").and_then(|mut f| f.read_to_string(&mut status));
    if read.is_err() {
        return 0;
    }
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn free_port() -> Result<SocketAddr, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("cannot find a free loopback port: {e}"))
}

/// A collector that hangs: accepts connections on `addr` and never answers, holding them
/// until dropped (which closes them, as a restarted collector's host would).
struct Hanging {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Hanging {
    fn start(addr: SocketAddr) -> Result<Self, String> {
        let listener = TcpListener::bind(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("non-blocking listener: {e}"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut held: Vec<TcpStream> = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => held.push(stream),
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Hanging {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// rotel receiving OTLP on the two ports and discarding it; killed when dropped.
struct Rotel {
    child: Child,
    dir: PathBuf,
}

impl Rotel {
    fn start(grpc: SocketAddr, http: SocketAddr) -> Result<Self, String> {
        let dir = std::env::temp_dir().join(format!("otel-soak-rotel-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let binary = otel_tests::collector::agent_binary();
        let child = Command::new(&binary)
            .arg("start")
            .args(["--otlp-grpc-endpoint", &grpc.to_string()])
            .args(["--otlp-http-endpoint", &http.to_string()])
            .args(["--exporter", "blackhole"])
            .arg("--log-file")
            .arg(dir.join("rotel.log"))
            .arg("--pid-file")
            .arg(dir.join("rotel.pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        Ok(Self { child, dir })
    }

    /// Whether both ports accept connections (and rotel is still running).
    fn ready(&mut self, ports: [SocketAddr; 2]) -> Result<bool, String> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Err(format!("rotel exited with {status} before listening"));
        }
        let accepts = |a: &SocketAddr| TcpStream::connect_timeout(a, Duration::from_millis(50)).is_ok();
        Ok(ports.iter().all(accepts))
    }
}

impl Drop for Rotel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What one phase measured.
struct Phase {
    name: &'static str,
    spans: u64,
    start_ns: Vec<u32>,
    end_ns: Vec<u32>,
    rss_before: u64,
    rss_after: u64,
    dropped: u64,
    failed_exports: u64,
    failed_items: u64,
    exported: u64,
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

/// Emits spans at `rate` for `length`, timing each start and end; calls `poll` about
/// every 2 ms. Counts are taken from `before`, the status when the phase's change (a
/// listener stopped, say) was made.
fn emit(
    name: &'static str,
    rate: f64,
    length: Duration,
    before: (SignalStatus, u64),
    mut poll: impl FnMut(),
) -> Phase {
    let tracer = global::tracer("otel-soak");
    let (before, rss_before) = before;
    let started = Instant::now();
    let mut start_ns = Vec::with_capacity((rate * length.as_secs_f64()) as usize + 1);
    let mut end_ns = Vec::with_capacity(start_ns.capacity());
    let mut next_poll = started;
    let mut i: u64 = 0;
    loop {
        let due = started + Duration::from_secs_f64(i as f64 / rate);
        if due >= started + length {
            break;
        }
        let now = Instant::now();
        if now < due {
            std::thread::sleep(due - now);
        }
        let t0 = Instant::now();
        let mut span = tracer.start("soak.work");
        let t1 = Instant::now();
        span.set_attribute(KeyValue::new("i", i as i64));
        let t2 = Instant::now();
        span.end();
        let t3 = Instant::now();
        start_ns.push(u32::try_from((t1 - t0).as_nanos()).unwrap_or(u32::MAX));
        end_ns.push(u32::try_from((t3 - t2).as_nanos()).unwrap_or(u32::MAX));
        i += 1;
        if t3 >= next_poll {
            poll();
            next_poll = t3 + Duration::from_millis(2);
        }
    }
    let after = otel_core::telemetry_status().traces;
    start_ns.sort_unstable();
    end_ns.sort_unstable();
    Phase {
        name,
        spans: i,
        start_ns,
        end_ns,
        rss_before,
        rss_after: rss_kib(),
        dropped: after.dropped - before.dropped,
        failed_exports: after.failed_exports - before.failed_exports,
        failed_items: after.failed_items - before.failed_items,
        exported: after.exported - before.exported,
    }
}

fn run(options: &Options) -> Result<(), String> {
    let (grpc, http) = (free_port()?, free_port()?);
    let target = match options.protocol {
        Protocol::Grpc => grpc,
        _ => http,
    };
    let rss_start = rss_kib();
    let mut builder = otel_core::Telemetry::builder()
        .service_name("otel-soak")
        .otlp_endpoint(format!("http://{target}"))
        .otlp_protocol(options.protocol)
        .traces_exporters([ExporterKind::Otlp])
        .metrics_exporters(std::iter::empty::<MetricsExporterKind>())
        .logs_exporters(std::iter::empty::<ExporterKind>())
        .quiet(true);
    if let Some(timeout) = options.otlp_timeout {
        builder = builder.otlp_timeout(timeout);
    }
    let (config, _) = builder.resolve().map_err(|e| e.to_string())?;
    let guard = builder.init().map_err(|e| e.to_string())?;
    let rss_init = rss_kib();
    println!(
        "soak: {} spans/s for {:.0} s over OTLP {} to {target}; span queue {}, batch {}, delay {:?}, OTLP timeout {:?}",
        options.rate,
        options.seconds,
        options.protocol.as_str(),
        config.span_batch.max_queue_size,
        config.span_batch.max_export_batch_size,
        config.span_batch.scheduled_delay,
        config.otlp_traces.timeout,
    );
    println!("RSS: {rss_start} KiB before init, {rss_init} KiB after");

    let length = Duration::from_secs_f64(options.seconds / 3.0);
    let closed = emit("closed port", options.rate, length, snapshot(), || {});

    let hanging = Hanging::start(target)?;
    let hung = emit("hanging listener", options.rate, length, snapshot(), || {});

    // The hanging listener goes away (closing its connections) and the collector is
    // started on the same port while spans keep coming.
    let before = snapshot();
    let exported_before = before.0.exported;
    drop(hanging);
    let launched = Instant::now();
    let mut rotel = Rotel::start(grpc, http)?;
    let mut listening: Option<Instant> = None;
    let mut recovered: Option<Instant> = None;
    let mut failure: Option<String> = None;
    let back = emit("collector started", options.rate, length, before, || {
        if listening.is_none() && failure.is_none() {
            match rotel.ready([grpc, http]) {
                Ok(true) => listening = Some(Instant::now()),
                Ok(false) => {}
                Err(e) => failure = Some(e),
            }
        }
        if recovered.is_none() && otel_core::telemetry_status().traces.exported > exported_before {
            recovered = Some(Instant::now());
        }
    });
    if let Some(failure) = failure {
        return Err(failure);
    }

    let flushed = guard.force_flush();
    let total = otel_core::telemetry_status().traces;
    let rss_end = rss_kib();
    drop(rotel);

    println!();
    println!(
        "{:<17} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9} {:>17} {:>8} {:>14} {:>9}",
        "phase",
        "spans",
        "start p50",
        "start p99",
        "end p50",
        "end p99",
        "end max",
        "RSS KiB (Δ)",
        "dropped",
        "failed exports",
        "exported"
    );
    for p in [&closed, &hung, &back] {
        println!(
            "{:<17} {:>7} {:>7.2}µs {:>7.2}µs {:>7.2}µs {:>7.2}µs {:>7.1}µs {:>9} ({:>+5}) {:>8} {:>5} ({:>6}) {:>9}",
            p.name,
            p.spans,
            percentile(&p.start_ns, 0.5),
            percentile(&p.start_ns, 0.99),
            percentile(&p.end_ns, 0.5),
            percentile(&p.end_ns, 0.99),
            percentile(&p.end_ns, 1.0),
            p.rss_after,
            p.rss_after as i64 - p.rss_before as i64,
            p.dropped,
            p.failed_exports,
            p.failed_items,
            p.exported,
        );
    }
    let emitted = closed.spans + hung.spans + back.spans;
    println!();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    match (listening, recovered) {
        (Some(up), Some(ok)) => println!(
            "recovery: collector listening {:.0} ms after launch; first successful export {:.1} ms after that",
            ms(up - launched),
            ms(ok.saturating_duration_since(up))
        ),
        (None, _) => println!("recovery: the collector never listened"),
        (Some(_), None) => println!("recovery: no successful export while the collector was up"),
    }
    println!(
        "after flush ({}): {emitted} spans emitted, {} exported, {} dropped, {} in failed exports; \
         RSS {rss_end} KiB ({:+} KiB since init)",
        // A flush reports the first export failure since the previous flush: here, the
        // outage's, so an error is expected.
        if flushed.is_ok() {
            "ok"
        } else {
            "returned the outage's first export failure"
        },
        total.exported,
        total.dropped,
        total.failed_items,
        rss_end as i64 - rss_init as i64,
    );
    guard.shutdown().map_err(|e| e.to_string())?;
    if recovered.is_none() {
        return Err(String::from(
            "the exporter did not recover after the collector came up",
        ));
    }
    Ok(())
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("soak: {message}");
            ExitCode::FAILURE
        }
    }
}
