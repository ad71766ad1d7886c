//! A collector that answers `503 Service Unavailable` gets the same request again after
//! a backoff (the OTLP specification's retryable responses), and the spans count as
//! exported once it accepts them; a `400 Bad Request` is not repeated and the batch
//! counts as failed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::trace::{Tracer, TracerProvider as _};
use otel_core::config::{ExporterKind, Protocol};

/// Answers the `/v1/traces` requests in turn with the given status lines, then 200.
struct Flaky {
    addr: SocketAddr,
    bodies: Arc<Mutex<Vec<Vec<u8>>>>,
    stop: Arc<AtomicBool>,
}

impl Flaky {
    fn start(statuses: &'static [&'static str]) -> Flaky {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let addr = listener.local_addr().expect("local addr");
        let bodies: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (seen, flag) = (bodies.clone(), stop.clone());
        std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let seen = seen.clone();
                        std::thread::spawn(move || serve(stream, &seen, statuses));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Flaky { addr, bodies, stop }
    }

    fn bodies(&self) -> Vec<Vec<u8>> {
        self.bodies.lock().expect("bodies").clone()
    }
}

impl Drop for Flaky {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// One keep-alive connection, at most 100 requests.
fn serve(stream: TcpStream, seen: &Mutex<Vec<Vec<u8>>>, statuses: &[&str]) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    for _ in 0..100 {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let traces = line.starts_with("POST /v1/traces ");
        let mut length = 0;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let status = if traces {
            let mut seen = seen.lock().expect("bodies");
            seen.push(body);
            statuses.get(seen.len() - 1).copied().unwrap_or("200 OK")
        } else {
            "200 OK"
        };
        let response = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\n\r\n");
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

fn export_three_spans(endpoint: &str) -> otel_core::TelemetryStatus {
    let guard = otel_core::Telemetry::builder()
        .env(|_| None)
        .service_name("retry-test")
        .otlp_endpoint(endpoint)
        .otlp_protocol(Protocol::HttpProtobuf)
        .traces_exporters([ExporterKind::Otlp])
        .metrics_exporters([])
        .logs_exporters([])
        .quiet(true)
        .init()
        .expect("init");
    let tracer = opentelemetry::global::tracer_provider().tracer("retry-test");
    for name in ["a", "b", "c"] {
        tracer.in_span(name, |_| {});
    }
    let _ = guard.force_flush();
    let status = otel_core::telemetry_status();
    drop(guard);
    status
}

#[test]
fn a_busy_collector_gets_the_batch_again_and_a_refusing_one_does_not() {
    let busy = Flaky::start(&["503 Service Unavailable", "502 Bad Gateway"]);
    let status = export_three_spans(&format!("http://{}", busy.addr));
    let bodies = busy.bodies();
    assert_eq!(bodies.len(), 3, "one request and two retries");
    assert!(
        bodies.iter().all(|b| b == &bodies[0]),
        "the same request each time"
    );
    assert_eq!(
        (status.traces.exported, status.traces.failed_exports),
        (3, 0),
        "{status:?}"
    );

    // A second pipeline in this process, counting from zero: the first was shut down.
    let refusing = Flaky::start(&["400 Bad Request"]);
    let status = export_three_spans(&format!("http://{}", refusing.addr));
    assert_eq!(refusing.bodies().len(), 1, "a refused request is not repeated");
    let traces = &status.traces;
    assert_eq!((traces.exported, traces.failed_items), (0, 3), "{status:?}");
    let error = status.traces.last_error.unwrap_or_default();
    assert!(error.contains("400"), "{error}");
}
